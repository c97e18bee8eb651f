"""The measured cost of a training step against the sequence length (bench/transformer_cost.py's points): time per
step and peak memory, one colour per architecture, both axes logarithmic, the lengths where the Transformer becomes
the dearer one marked. Data in, figure out; the crossovers come from lstm_viz.runs.measurements."""
from __future__ import annotations

import math
from typing import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.figures.style import BASE_LAYOUT, GRID, arch_colour
from lstm_viz.runs.measurements import Crossover, QuadraticFit, series

# One torch thread: CPU time is the step's own work, which other processes on the machine do not inflate.
PANELS = (("cpu_seconds_per_step", "CPU time per training step", "CPU ms per step", 1e3),
          ("peak_rss_mb", "peak memory added by training", "peak RSS added (MB)", 1.0))
CROSSOVER_COLOUR = "#555555"


def marks(crossovers: Sequence[Crossover], fits: Sequence[QuadraticFit],
          counted: float | None = None) -> list[tuple[str, float, str]]:
    """(quantity, T, label) of every vertical line: where the Transformer becomes dearer than a recurrence for good,
    where its fitted T^2 term passes its T term, and (`counted`) where the T^2 part of its counted operations passes
    their T part (drawn in the time panel)."""
    found = [(c.quantity, c.length, f"{ARCHITECTURES[c.arch].label} dearer than the "
                                    f"{ARCHITECTURES[c.reference].label} from T ≈ {c.length:.0f}")
             for c in crossovers if c.length]
    found += [(fit.quantity, fit.balance, f"{ARCHITECTURES[fit.arch].label}'s T² term passes its T term at "
                                          f"T ≈ {fit.balance:.0f} (fit)")
              for fit in fits if fit.balance]
    if counted:
        found.append((PANELS[0][0], counted, f"attention's T² operations pass the rest at T ≈ {counted:.0f} (counted)"))
    return found


def cost_figure(cost: dict, crossovers: Sequence[Crossover] = (), fits: Sequence[QuadraticFit] = (),
                counted: float | None = None, *, title: str | None = None) -> go.Figure:
    """Two panels side by side (time, memory) against T. Each of `marks(crossovers, fits)` inside the measured
    lengths is a dotted vertical line in its quantity's panel, with its label; a fit's curve is drawn dotted in
    its architecture's colour."""
    lines = marks(crossovers, fits, counted)
    lowest, highest = min(cost["lengths"]), max(cost["lengths"])
    settings = cost["settings"]
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                           subplot_titles=[panel[1] for panel in PANELS])
    for column, (quantity, _, axis_title, scale) in enumerate(PANELS, start=1):
        for arch in cost["archs"]:
            lengths, values = series(cost, arch, quantity)
            label = ARCHITECTURES[arch].label if arch in ARCHITECTURES else arch
            figure.add_trace(go.Scatter(
                x=lengths, y=[value * scale for value in values], mode="lines+markers", name=label,
                legendgroup=arch, showlegend=column == 1,
                line=dict(color=arch_colour(arch), width=2.5, dash="dash" if arch == "transformer" else "solid"),
                marker=dict(size=7),
                hovertemplate=f"<b>{label}</b><br>T=%{{x}}<br>%{{y:.4g}} {axis_title}<extra></extra>",
            ), row=1, col=column)
        # A fixed range: a line's label left of it would otherwise stretch the axis towards T = 1.
        figure.update_xaxes(type="log", title_text="sequence length T (steps)", row=1, col=column,
                            range=[math.log10(lowest / 1.25), math.log10(highest * 1.25)], **GRID)
        figure.update_yaxes(type="log", title_text=axis_title, row=1, col=column, **GRID)
        for fit in (fit for fit in fits if fit.quantity == quantity):
            grid = [lowest * (highest / lowest) ** (i / 40) for i in range(41)]
            label = ARCHITECTURES[fit.arch].label
            figure.add_trace(go.Scatter(
                x=grid, y=[fit(length) * scale for length in grid], mode="lines", showlegend=column == 1,
                name=f"{label}: fit a + bT + cT²", line=dict(color=arch_colour(fit.arch), width=1, dash="dot"),
                hoverinfo="skip"), row=1, col=column)
        drawn = [(x, text) for kind, x, text in lines if kind == quantity and lowest <= x <= highest]
        for index, (x, text) in enumerate(drawn):
            figure.add_vline(x=x, line=dict(color=CROSSOVER_COLOUR, width=1.5, dash="dot"), row=1, col=column)
            # The label on the side of the line with more room, so it stays inside its own panel.
            left_half = math.log(x / lowest) < 0.5 * math.log(highest / lowest)
            figure.add_annotation(x=math.log10(x), xref=f"x{column if column > 1 else ''}", yref="paper",
                                  y=1.0 - 0.08 * index, xanchor="left" if left_half else "right", yanchor="top",
                                  showarrow=False,
                                  text=text, font=dict(size=11, color=CROSSOVER_COLOUR),
                                  bgcolor="rgba(255,255,255,0.8)")
    default_title = (f"Cost of one training step against T ({settings['task']} task, H={settings['hidden_size']}, "
                     f"batch {settings['batch_size']}, {settings['num_layers']} layer, one torch thread)")
    figure.update_layout(**BASE_LAYOUT)
    figure.update_layout(title=dict(text=title or default_title), height=470,
                         hovermode="closest", margin=dict(l=70, r=20, t=80, b=110))
    return figure
