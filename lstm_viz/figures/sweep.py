"""Plotly figures of a sequence-length sweep: rows in, `go.Figure` out, no Streamlit.

The main panel is the final test metric of every finished point against the sequence length, one colour
per architecture (lstm_viz.figures.style.ARCH_COLOURS), with the no-memory baseline and the solved threshold.
Published results are qualitative (a paper says a cell beat the baseline at a length or did not), so they
get their own strip above the panel on the same length axis, never a made-up position on the metric axis.
"""
from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.figures.style import BASE_LAYOUT, BASELINE_COLOUR, GRID, SOLVED_COLOUR, arch_colour
from lstm_viz.runs.sweep_config import SweepConfig, SweepRow
from lstm_viz.runs.sweep_results import PublishedResult

# Cells the app does not train (IRNN) still appear in the published strip, in a colour no architecture uses: the
# Okabe-Ito black (its reddish purple, used here before, is now the Transformer's).
OTHER_CELL_COLOUR = "#000000"
BEATS_SYMBOL, NOT_BEATS_SYMBOL = "circle", "x-thin-open"
LEGEND_SYMBOL_COLOUR = "#555555"
MAIN_ROW_SHARE = 0.74


def _wrap(text: str, width: int = 70) -> str:
    return "<br>".join(textwrap.wrap(text, width)) if text else ""


def _format_metric(value: float) -> str:
    return f"{value:.4g}" if math.isfinite(value) else "not finite"


def _point_hover(row: SweepRow) -> str:
    lines = [
        f"<b>{row.label}, T={row.length}, seed {row.seed}</b>",
        f"final test {row.metric_name} {_format_metric(row.final_metric)} (best {_format_metric(row.best_metric)})",
        f"no-memory baseline {row.baseline:.4g}",
        (f"solved at step {row.solved_step}" if row.solved_step is not None
         else f"not solved in {row.steps_trained} steps ({row.status})"),
        f"{row.wall_seconds:.1f} s" + (" (from the cache)" if row.cached else ""),
    ]
    return "<br>".join(lines)


def _add_arch_traces(figure: go.Figure, arch: str, arch_rows: Sequence[SweepRow], label: str, metric_name: str,
                     multiple_seeds: bool, main_row: int) -> None:
    """One architecture's line: its mean final metric per length (hover: the point, or every seed's), and with
    several seeds a faint marker per seed."""
    colour = arch_colour(arch)
    by_length: dict[int, list[SweepRow]] = defaultdict(list)
    for row in arch_rows:
        by_length[row.length].append(row)
    xs = sorted(by_length)
    means, hovers = [], []
    for length in xs:
        values = np.array([row.final_metric for row in by_length[length]], dtype=np.float64)
        finite = values[np.isfinite(values)]
        means.append(float(finite.mean()) if finite.size else math.nan)
        if len(by_length[length]) == 1:
            hovers.append(_point_hover(by_length[length][0]))
        else:
            solved = sum(row.solved_step is not None for row in by_length[length])
            hovers.append(
                f"<b>{label}, T={length}</b><br>mean final test {metric_name} over "
                f"{len(values)} seeds {_format_metric(means[-1])}<br>"
                f"seeds: {', '.join(_format_metric(v) for v in values)}<br>solved by {solved} of {len(values)}"
            )
    figure.add_trace(go.Scatter(
        x=xs, y=means, mode="lines+markers", name=label + (" (mean over seeds)" if multiple_seeds else ""),
        legendgroup=arch, line=dict(color=colour, width=2.5), marker=dict(size=10, color=colour),
        hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>",
    ), row=main_row, col=1)
    if multiple_seeds and arch_rows:
        figure.add_trace(go.Scatter(
            x=[row.length for row in arch_rows], y=[row.final_metric for row in arch_rows], mode="markers",
            name=f"{label}, each seed", legendgroup=arch,
            marker=dict(size=7, color=colour, opacity=0.45, symbol="circle-open", line=dict(width=1.5)),
            hovertext=[_point_hover(row) for row in arch_rows], hovertemplate="%{hovertext}<extra></extra>",
        ), row=main_row, col=1)


def _add_guide_curves(figure: go.Figure, baseline_curve: Sequence[tuple[int, float]],
                      threshold_curve: Sequence[tuple[int, float]], metric_name: str, main_row: int) -> None:
    """The no-memory baseline and the solved threshold against length, each named at its right end."""
    for curve, name, colour, dash in (
        (baseline_curve, "no-memory baseline", BASELINE_COLOUR, "dash"),
        (threshold_curve, "solved threshold", SOLVED_COLOUR, "dot"),
    ):
        if not curve:
            continue
        xs = [length for length, _ in curve]
        ys = [value for _, value in curve]
        figure.add_trace(go.Scatter(
            x=xs, y=ys, mode="lines", name=name, line=dict(color=colour, width=1.5, dash=dash),
            hovertemplate=f"{name}<br>T=%{{x}}<br>{metric_name} %{{y:.4g}}<extra></extra>",
        ), row=main_row, col=1)
        # Labelled at the right end, above the line, on a backing that keeps it legible over a curve.
        figure.add_annotation(
            x=math.log10(xs[-1]), y=math.log10(ys[-1]), text=name, showarrow=False, xanchor="right",
            yanchor="bottom", font=dict(color=colour, size=12), bgcolor="rgba(255,255,255,0.85)",
            row=main_row, col=1,
        )


def length_sweep(
    rows: Sequence[SweepRow],
    *,
    archs: Sequence[str],
    arch_labels: dict[str, str],
    metric_name: str,
    baseline_curve: Sequence[tuple[int, float]],
    threshold_curve: Sequence[tuple[int, float]],
    published: Sequence[PublishedResult] = (),
    lengths: Sequence[int] = (),
    title: str = "Final test error against sequence length",
) -> go.Figure:
    """`rows`: finished points (any order, several seeds allowed); `archs`: the sweep's architectures in
    legend order; `baseline_curve` / `threshold_curve`: (length, value) pairs spanning the x range (the
    copy task's baseline falls with T); `published`: results for this task; `lengths`: the sweep's lengths,
    which get axis ticks even before their points arrive."""
    has_published = bool(published)
    figure = make_subplots(
        rows=2 if has_published else 1, cols=1, shared_xaxes=True, vertical_spacing=0.05,
        row_heights=[1 - MAIN_ROW_SHARE, MAIN_ROW_SHARE] if has_published else None,
    )
    main_row = 2 if has_published else 1

    by_arch: dict[str, list[SweepRow]] = defaultdict(list)
    for row in rows:
        by_arch[row.arch].append(row)
    multiple_seeds = len({row.seed for row in rows}) > 1
    for arch in archs:
        arch_rows = sorted(by_arch.get(arch, []), key=lambda row: (row.length, row.seed))
        _add_arch_traces(figure, arch, arch_rows, arch_labels.get(arch, arch), metric_name, multiple_seeds, main_row)
    _add_guide_curves(figure, baseline_curve, threshold_curve, metric_name, main_row)

    if has_published:
        _add_published_strip(figure, published)

    all_lengths = sorted({*lengths, *(row.length for row in rows), *(result.length for result in published)})
    x_axis = dict(type="log", tickvals=all_lengths, ticktext=[str(v) for v in all_lengths], **GRID)
    if all_lengths:
        low, high = min(all_lengths), max(all_lengths)
        x_axis["range"] = [math.log10(low) - 0.08, math.log10(high) + 0.08]
    figure.update_xaxes(**x_axis)
    figure.update_xaxes(title=dict(text="sequence length T (time steps, log scale)"), row=main_row, col=1)
    figure.update_yaxes(title=dict(text=f"final test {metric_name} (log scale)"), type="log", dtick=1,
                        range=_metric_range(rows, baseline_curve, threshold_curve), row=main_row, col=1, **GRID)
    layout = dict(BASE_LAYOUT)
    layout["margin"] = dict(l=70, r=20, t=60, b=110)
    layout["legend"] = dict(layout["legend"], y=-0.16)
    figure.update_layout(**layout, title=dict(text=title), height=600 if has_published else 470)
    return figure


def _metric_range(rows: Sequence[SweepRow], *curves: Sequence[tuple[int, float]]) -> list[float]:
    values = [row.final_metric for row in rows] + [value for curve in curves for _, value in curve]
    positive = [value for value in values if math.isfinite(value) and value > 0]
    if not positive:
        return [-3, 0]
    return [math.log10(min(positive)) - 0.3, math.log10(max(positive)) + 0.3]


def _add_published_strip(figure: go.Figure, published: Sequence[PublishedResult]) -> None:
    """One strip row per (source, cell); a filled circle where the paper's cell beat the baseline at that
    length, a cross where it did not. The hover carries the note, the paper's setup and the citation."""
    strips: dict[str, list[PublishedResult]] = {}
    for result in published:
        strips.setdefault(f"{result.short}: {result.cell}", []).append(result)
    for outcome, symbol, legend in ((True, BEATS_SYMBOL, "published: beat the baseline"),
                                    (False, NOT_BEATS_SYMBOL, "published: did not beat the baseline")):
        xs, ys, colours, hovers = [], [], [], []
        for strip, results in strips.items():
            for result in results:
                if result.beats_baseline != outcome:
                    continue
                xs.append(result.length)
                ys.append(strip)
                colours.append(arch_colour(result.arch) if result.arch in ("rnn", "gru", "lstm") else OTHER_CELL_COLOUR)
                hovers.append("<br>".join(part for part in (
                    f"<b>{result.short}</b>: {result.cell}, T={result.length}: "
                    + ("beat the no-memory baseline" if outcome else "did not beat the no-memory baseline"),
                    _wrap(result.note), "<i>Setup:</i> " + _wrap(result.setup), _wrap(result.citation),
                ) if part))
        if not xs:
            continue
        figure.add_trace(go.Scatter(
            x=xs, y=ys, mode="markers", name=legend, legendgroup="published", showlegend=False,
            marker=dict(symbol=symbol, size=12, color=colours, line=dict(width=2.5, color=colours)),
            hovertext=hovers, hovertemplate="%{hovertext}<extra></extra>",
        ), row=1, col=1)
        # The legend entry in a neutral colour: the symbol is what it explains, the colour is the cell's.
        figure.add_trace(go.Scatter(
            x=[None], y=[None], mode="markers", name=legend, legendgroup="published", hoverinfo="skip",
            marker=dict(symbol=symbol, size=11, color=LEGEND_SYMBOL_COLOUR,
                        line=dict(width=2.5, color=LEGEND_SYMBOL_COLOUR)),
        ), row=1, col=1)
    figure.update_yaxes(type="category", categoryorder="array", categoryarray=list(strips)[::-1],
                        title=dict(text="published", font=dict(size=11)), tickfont=dict(size=11),
                        showgrid=True, gridcolor="#F0F0F0", row=1, col=1)


def figure_for_sweep(
    config: SweepConfig,
    rows: Sequence[SweepRow],
    published: Sequence[PublishedResult] = (),
    *,
    title: str | None = None,
) -> go.Figure:
    """`length_sweep` for a sweep's settings: baseline and threshold from its task, published results of its
    task only, a title that states the budget."""
    task = config.make_task()
    published = [result for result in published if result.task == config.task]
    all_lengths = sorted({*config.lengths, *(row.length for row in rows), *(result.length for result in published)})
    grid = sorted({int(round(v)) for v in np.geomspace(all_lengths[0], all_lengths[-1], 48)} | set(all_lengths))
    grid = [length for length in grid if task.min_length <= length <= task.max_length] or all_lengths
    arch_labels = {arch: ARCHITECTURES[arch].label for arch in ARCHITECTURES}
    default_title = (
        f"{task.label}: final test {task.metric_name} against sequence length "
        f"(H={config.hidden_size}, ≤{config.steps_per_point:,} steps per point)"
    )
    return length_sweep(
        rows, archs=config.archs, arch_labels=arch_labels, metric_name=task.metric_name,
        baseline_curve=[(length, task.baseline(length)) for length in grid],
        threshold_curve=[(length, task.solved_threshold(length)) for length in grid],
        published=published, lengths=config.lengths, title=title or default_title,
    )
