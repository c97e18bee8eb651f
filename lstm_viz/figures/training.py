"""The Train page's figures: loss curves, gradient flow through time, gate heatmaps, cell-state trajectories and the
forget gate over training. Plain arrays in, `go.Figure` out, no Streamlit; colours, layout and payload caps come
from lstm_viz.figures.style, the example's input row from lstm_viz.figures.input_rows.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.analysis.memory import most_active_units
from lstm_viz.figures.input_rows import add_event_guides, add_input_row, event_steps
from lstm_viz.figures.style import (
    ARCH_COLOURS, BASE_LAYOUT, BASELINE_COLOUR, GATE_COLORSCALE, GRID, MARKER_COLOUR, MAX_CURVE_POINTS,
    MAX_HEATMAP_UNITS, OKABE_ITO, SOLVED_COLOUR, TRACE_LABELS, arch_colour, downsample, finite_or_nan,
    heatmap_colour_range, html_label, panel_colorbar, rgba, select_units, time_stride,
)


# ----------------------------------------------------------------------------------------------------
# (a) loss curves
@dataclass
class LossSeries:
    arch: str
    label: str
    steps: Sequence[int]
    train_loss: Sequence[float]
    eval_steps: Sequence[int]
    eval_metric: Sequence[float]


def loss_curves(
    series: Sequence[LossSeries],
    *,
    baseline: float,
    solved_threshold: float,
    metric_name: str,
    max_steps: int | None = None,
    title: str = "Test error during training",
    subtitle: str | None = None,
    baseline_name: str = "no-memory baseline",
) -> go.Figure:
    right = max_steps or max([max(item.steps, default=1) for item in series] + [1])
    # Named in the legend only: a label drawn on the line sat on the curves (the RNN stays on the baseline).
    guides = (
        (baseline, f"{baseline_name} ({baseline:.3g})", BASELINE_COLOUR, "dash"),
        (solved_threshold, f"solved (≤ {solved_threshold:.3g})", SOLVED_COLOUR, "dot"),
    )
    # The layout goes into the constructor: the same settings applied with update_layout after the traces cost
    # Plotly 5x more (~26 of 40 ms), and this chart is rebuilt whenever a live run's history grows.
    figure = go.Figure(layout=dict(
        **BASE_LAYOUT, height=440,
        # The task on a second line: one line of both ran past a half-width chart ("...error rate while trainin").
        title=dict(text=title, subtitle=dict(text=subtitle)) if subtitle else dict(text=title),
        xaxis=dict(title=dict(text="training step"), range=[0, right], **GRID),
        # One label per decade: Plotly's default labels minor ticks with bare digits ("5 2 1 5 2 0.1").
        yaxis=dict(title=dict(text=f"{metric_name} (log scale)"), type="log", dtick=1,
                   range=_loss_axis_range(series, baseline, solved_threshold), **GRID),
    ))
    for item in series:
        colour = arch_colour(item.arch)
        steps, train = downsample(np.asarray(item.steps), finite_or_nan(item.train_loss), MAX_CURVE_POINTS)
        figure.add_trace(go.Scatter(
            x=steps.astype(np.int32), y=train.astype(np.float32), mode="lines", name=f"{item.label} train loss",
            legendgroup=item.arch, showlegend=False, line=dict(color=rgba(colour, 0.3), width=1),
            hovertemplate=f"{item.label} train loss<br>step %{{x}}<br>{metric_name} %{{y:.4g}}<extra></extra>",
        ))
        figure.add_trace(go.Scatter(
            x=np.asarray(item.eval_steps, dtype=np.int32), y=finite_or_nan(item.eval_metric).astype(np.float32),
            mode="lines+markers", name=item.label, legendgroup=item.arch, line=dict(color=colour, width=2.5),
            marker=dict(size=5, color=colour),
            hovertemplate=f"{item.label} test {metric_name}<br>step %{{x}}<br>%{{y:.4g}}<extra></extra>",
        ))
    for y, name, colour, dash in guides:
        figure.add_trace(go.Scatter(
            x=[0, right], y=[y, y], mode="lines", name=name,
            line=dict(color=colour, width=1.5, dash=dash), hovertemplate=f"{name}<extra></extra>",
        ))
    return figure


def _loss_axis_range(series: Sequence[LossSeries], baseline: float, solved_threshold: float) -> list[float]:
    """log10 range: down to the lowest value shown, up to at most 100x the baseline. A diverging run reaches
    1e30 and more; scaling to it would squash every other curve into one band of unreadable ticks."""
    values = np.concatenate([
        finite_or_nan(values) for item in series for values in (item.train_loss, item.eval_metric)
    ] + [np.array([baseline, solved_threshold])])
    positive = values[np.isfinite(values) & (values > 0)]
    low = min(positive.min(), solved_threshold) / 2
    high = min(positive.max(), 100 * baseline) * 2
    return [float(np.log10(low)), float(np.log10(high))]


# ----------------------------------------------------------------------------------------------------
# (b) gradient flow through time
@dataclass
class GradientCurve:
    arch: str
    label: str
    grad_norm_per_step: np.ndarray  # (T,) mean ||dL/dh_t|| at the checkpoint shown
    initial_grad_norm_per_step: np.ndarray | None = None  # (T,) the same at initialisation
    step: int | None = None  # training step of the checkpoint


def _relative(norms: np.ndarray) -> np.ndarray:
    norms = np.asarray(norms, dtype=np.float64)
    last = norms[-1] if norms.size and norms[-1] > 0 else np.nan
    return norms / last


def gradient_flow(curves: Sequence[GradientCurve], *, relative: bool = True, title: str | None = None,
                  subtitle: str | None = None) -> go.Figure:
    """One line per architecture against time step t; relative=True divides by the last step's norm.

    Float64 on purpose: the norms reach 1e-60, below float32's range.
    """
    y_title = "‖∂L/∂h<sub>t</sub>‖ / ‖∂L/∂h<sub>T</sub>‖ (log scale)" if relative else "‖∂L/∂h<sub>t</sub>‖ (log scale)"
    figure = go.Figure(layout=dict(  # layout first: see loss_curves
        **BASE_LAYOUT, height=440,
        title=dict(text=title or "How much gradient reaches each time step",
                   **({"subtitle": dict(text=subtitle)} if subtitle else {})),
        xaxis=dict(title=dict(text="time step t (the output, after the last step, at the right)"), **GRID),
        yaxis=dict(title=dict(text=y_title), type="log", exponentformat="power", **GRID),
    ))
    for curve in curves:
        colour = arch_colour(curve.arch)
        transform = _relative if relative else (lambda a: np.asarray(a, dtype=np.float64))
        if curve.initial_grad_norm_per_step is not None:
            initial = transform(curve.initial_grad_norm_per_step)
            figure.add_trace(go.Scatter(
                x=np.arange(len(initial), dtype=np.int32), y=finite_or_nan(initial), mode="lines",
                name=f"{curve.label} at initialisation", legendgroup=curve.arch,
                line=dict(color=rgba(colour, 0.55), width=1.5, dash="dash"),
                hovertemplate=f"{curve.label} at init<br>t=%{{x}}<br>%{{y:.3g}}<extra></extra>",
            ))
        values = transform(curve.grad_norm_per_step)
        when = f" (step {curve.step})" if curve.step is not None else ""
        figure.add_trace(go.Scatter(
            x=np.arange(len(values), dtype=np.int32), y=finite_or_nan(values), mode="lines",
            name=f"{curve.label}{when}", legendgroup=curve.arch, line=dict(color=colour, width=2.5),
            hovertemplate=f"{curve.label}{when}<br>t=%{{x}}<br>%{{y:.3g}}<extra></extra>",
        ))
    return figure


def gradient_reach(
    series: Mapping[str, tuple[str, Sequence[int], Sequence[float]]], *, distance: int, title: str | None = None
) -> go.Figure:
    """Over training: the gradient `distance` steps before the end relative to the last step's, per architecture.

    `series`: arch -> (label, checkpoint steps, ratios). The LSTM's jump here is the moment it learns to remember.
    """
    figure = go.Figure(layout=dict(  # layout first: see loss_curves
        **BASE_LAYOUT, height=400,
        # "over training" as a subtitle: on the title's line it was cut off in presenter mode's half-width column. The
        # ratio's formula is there too: as the y title, even on two lines, it was taller than this short chart's plot in
        # presenter mode (about 165 px at 1280x720), and was cut.
        title=dict(text=title or f"Gradient reaching {distance} steps back",
                   subtitle=dict(text=f"over training: ‖∂L/∂h<sub>T−{distance}</sub>‖ / ‖∂L/∂h<sub>T</sub>‖")),
        xaxis=dict(title=dict(text="training step"), **GRID),
        yaxis=dict(title=dict(text="ratio<br>(log scale)"), type="log", exponentformat="power", **GRID),
    ))
    for arch, (label, steps, ratios) in series.items():
        figure.add_trace(go.Scatter(
            x=np.asarray(steps, dtype=np.int32), y=finite_or_nan(ratios), mode="lines+markers", name=label,
            line=dict(color=arch_colour(arch), width=2.5), marker=dict(size=5),
            hovertemplate=f"{label}<br>step %{{x}}<br>ratio %{{y:.3g}}<extra></extra>",
        ))
    return figure


# ----------------------------------------------------------------------------------------------------
# (c) gate heatmaps
def gate_heatmaps(
    arrays: Mapping[str, np.ndarray],
    input_channels: Mapping[str, np.ndarray],
    *,
    title: str = "Inside the cell",
    names: Sequence[str] | None = None,
    tokens: Sequence[str] | None = None,
) -> go.Figure:
    """One heatmap per array (units x time) under the example's inputs, all on one shared time axis.

    `arrays`: name -> (T, H) for one example (e.g. `trace.layers[l][name][example]`). Units beyond
    MAX_HEATMAP_UNITS are dropped (the least active go first) and long sequences are strided.
    """
    names = list(names or arrays)
    steps_total, hidden = np.asarray(arrays[names[0]]).shape
    units = select_units([np.asarray(arrays[n]) for n in names], MAX_HEATMAP_UNITS)
    stride = time_stride(steps_total)
    time_index = np.arange(0, steps_total, stride, dtype=np.int32)
    rows = len(names) + 1
    heights = [0.7] + [1.0] * len(names)
    subtitles = ["example input"] + [html_label(n) for n in names]
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.035,
                           row_heights=heights, subplot_titles=subtitles)
    input_title = add_input_row(figure, input_channels, tokens, (), row=1)
    figure.update_yaxes(title_text=input_title, row=1, col=1, **GRID)

    for position, name in enumerate(names, start=2):
        values = np.asarray(arrays[name], dtype=np.float32)[::stride][:, units].T  # (units, time)
        figure.add_trace(go.Heatmap(
            z=values, x=time_index, y=units.astype(np.int32), name=TRACE_LABELS.get(name, name),
            **heatmap_colour_range(name, np.asarray(arrays[name])),
            colorbar=panel_colorbar(figure, position),
            hovertemplate=f"t=%{{x}}<br>unit %{{y}}<br>{TRACE_LABELS.get(name, name)} = %{{z:.3f}}<extra></extra>",
        ), row=position, col=1)
        figure.update_yaxes(title_text="unit", row=position, col=1, showgrid=False)
    add_event_guides(figure, event_steps(input_channels))
    shown = f"{len(units)} of {hidden} units" if len(units) < hidden else f"{hidden} units"
    if stride > 1:
        shown += f", every {stride}th step"
    figure.update_layout(
        **{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=80, b=55)},
        title=dict(text=f"{title} <span style='font-size:12px;color:#666'>({shown})</span>"),
        height=170 * len(names) + 170, showlegend=False,
    )
    figure.update_xaxes(title_text="time step t", row=rows, col=1)
    figure.update_annotations(font_size=12, xanchor="left", x=0)
    return figure


# ----------------------------------------------------------------------------------------------------
# (d) cell-state trajectories
def cell_state_trajectories(
    cell_state: np.ndarray,
    input_channels: Mapping[str, np.ndarray],
    *,
    units: Sequence[int] | None = None,
    count: int = 6,
    title: str = "Cell state of the most active units",
    subtitle: str | None = None,
    value_label: str = "cₜ",
    tokens: Sequence[str] | None = None,
) -> go.Figure:
    """`cell_state` (T, H) for one example; one line per unit under the example's inputs."""
    cell_state = np.asarray(cell_state, dtype=np.float32)
    chosen = np.asarray(units if units is not None else most_active_units(cell_state, count), dtype=int)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.06, row_heights=[0.28, 0.72])
    input_title = add_input_row(figure, input_channels, tokens, (), row=1)
    steps = np.arange(cell_state.shape[0], dtype=np.int32)
    palette = [c for c in OKABE_ITO if c not in (MARKER_COLOUR, "#F0E442")]
    for index, unit in enumerate(chosen):
        figure.add_trace(go.Scatter(
            x=steps, y=cell_state[:, unit], mode="lines", name=f"unit {unit}",
            line=dict(color=palette[index % len(palette)], width=2),
            hovertemplate=f"unit {unit}<br>t=%{{x}}<br>{value_label} = %{{y:.3f}}<extra></extra>",
        ), row=2, col=1)
    add_event_guides(figure, event_steps(input_channels))
    # The narrow right-hand column: which units on a second line, so the title is not cut.
    figure.update_layout(**BASE_LAYOUT, title=dict(text=title, font=dict(size=14),
                                                   **({"subtitle": dict(text=subtitle)} if subtitle else {})),
                         height=460)
    figure.update_yaxes(title_text=input_title, row=1, col=1, **GRID)
    figure.update_yaxes(title_text=value_label, row=2, col=1, **GRID)
    figure.update_xaxes(**GRID)
    figure.update_xaxes(title_text="time step t", row=2, col=1)
    return figure


# ----------------------------------------------------------------------------------------------------
# (e) forget gate over training
def forget_gate_over_training(
    steps: Sequence[int],
    forget_gate_mean_per_unit: np.ndarray,
    *,
    highlight: int = 3,
    title: str = "Forget gates over training",  # short: "…, per unit" was cut off in presenter mode
) -> go.Figure:
    """`forget_gate_mean_per_unit` (checkpoints, H): each unit's forget gate averaged over probe sequences and steps.

    Every unit is a thin line, the mean a thick one, and the `highlight` units with the highest
    latest value (the ones that keep memory) are drawn in colour.
    """
    per_unit = np.asarray(forget_gate_mean_per_unit, dtype=np.float32)
    steps = np.asarray(steps, dtype=np.int32)
    figure = go.Figure(layout=dict(  # layout first: see loss_curves
        **BASE_LAYOUT, title=dict(text=title), height=460,
        xaxis=dict(title=dict(text="training step"), **GRID),
        yaxis=dict(title=dict(text="forget gate fₜ, mean over steps"), range=[0, 1.02], **GRID),
    ))
    top_units = np.argsort(per_unit[-1])[::-1][:highlight] if per_unit.size else np.array([], dtype=int)
    show_units = select_units([per_unit], MAX_HEATMAP_UNITS)
    background_units = [unit for unit in show_units if unit not in top_units]
    if background_units:
        # One trace with gaps between units, not one trace per unit: this chart is redrawn at every
        # checkpoint while training, and 48 separate traces cost the server and the browser ~10x more.
        gap = np.array([np.nan], dtype=np.float32)
        figure.add_trace(go.Scatter(
            x=np.concatenate([np.append(steps.astype(np.float32), gap) for _ in background_units]),
            y=np.concatenate([np.append(per_unit[:, unit], gap) for unit in background_units]),
            customdata=np.repeat(np.asarray(background_units, dtype=np.int32), len(steps) + 1),
            mode="lines", name="other units", showlegend=False, connectgaps=False,
            line=dict(color="rgba(120,120,120,0.25)", width=1),
            hovertemplate="unit %{customdata}<br>step %{x}<br>mean f = %{y:.3f}<extra></extra>",
        ))
    palette = ["#E69F00", "#CC79A7", "#56B4E9", "#009E73", "#D55E00"]
    for index, unit in enumerate(top_units):
        figure.add_trace(go.Scatter(
            x=steps, y=per_unit[:, unit], mode="lines", name=f"unit {unit}",
            line=dict(color=palette[index % len(palette)], width=2),
            hovertemplate=f"unit {unit}<br>step %{{x}}<br>mean f = %{{y:.3f}}<extra></extra>",
        ))
    figure.add_trace(go.Scatter(
        x=steps, y=per_unit.mean(axis=1) if per_unit.size else [], mode="lines+markers", name="mean over units",
        line=dict(color=ARCH_COLOURS["lstm"], width=3.5), marker=dict(size=5),
        hovertemplate="mean over units<br>step %{x}<br>f = %{y:.3f}<extra></extra>",
    ))
    return figure


def forget_gate_per_unit(forget_gate_mean_per_unit: np.ndarray, *, step: int | None = None) -> go.Figure:
    """Sorted bar chart of each unit's mean forget gate at one checkpoint: the few near 1 carry the memory."""
    values = np.asarray(forget_gate_mean_per_unit, dtype=np.float32)
    order = np.argsort(values)[::-1]
    when = f" at step {step}" if step is not None else ""
    return go.Figure(
        go.Bar(
            x=np.arange(len(values), dtype=np.int32), y=values[order], customdata=order.astype(np.int32),
            marker=dict(color=values[order], colorscale=GATE_COLORSCALE, cmin=0, cmax=1),
            hovertemplate="unit %{customdata}<br>mean f = %{y:.3f}<extra></extra>",
        ),
        layout=dict(  # in the constructor: see loss_curves
            **BASE_LAYOUT, title=dict(text=f"Forget gate per unit{when}, sorted"), height=300,
            xaxis=dict(title=dict(text="units, sorted by forget gate (hover for the unit number)"),
                       showticklabels=False),
            yaxis=dict(title=dict(text="mean<br>forget gate fₜ"), range=[0, 1], **GRID),  # 2 lines: see gradient_reach
        ),
    )
