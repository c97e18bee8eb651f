"""Figures of the "Gates and memory" page: plain arrays in, `go.Figure` out, no Streamlit.

Colours follow lstm_viz.figures.style: Viridis on [0, 1] for gates, RdBu centred on 0 for signed values, Okabe-Ito for
categories, orange for the marked input steps.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.input_rows import add_event_guides, add_input_row, event_steps
from lstm_viz.figures.style import (
    BASE_LAYOUT, GRID, TRACE_LABELS, heatmap_colour_range, html_label, panel_colorbar, select_units, time_stride,
)
from lstm_viz.analysis.memory import HIGH_SATURATION, LOW_SATURATION

# Every unit of the bundled H = 64 run fits; wider layers show their most active units, in the chosen order.
MAX_ORDERED_UNITS = 64
SPAN_FILL = "rgba(86,180,233,0.18)"  # Okabe-Ito sky blue, translucent
# Okabe-Ito without orange (the marked inputs) and yellow (unreadable on white).
LINE_PALETTE = ["#0072B2", "#CC79A7", "#009E73", "#56B4E9", "#D55E00", "#000000"]
GATE_COLOURS = {
    "input_gate": "#009E73", "forget_gate": "#0072B2", "output_gate": "#CC79A7",
    "reset_gate": "#D55E00", "update_gate": "#56B4E9",
}


# Unit numbers beside the heatmap rows: legible (11 px), one label per UNIT_TICK_PX of panel height.
UNIT_TICK_FONT = 11
UNIT_TICK_PX = 13

def _shown_units(arrays: Sequence[np.ndarray], order: np.ndarray) -> np.ndarray:
    """`order` itself, or for wide layers its MAX_ORDERED_UNITS most active units in the same order."""
    if len(order) <= MAX_ORDERED_UNITS:
        return order
    kept = set(select_units(arrays, MAX_ORDERED_UNITS).tolist())
    return np.asarray([unit for unit in order if unit in kept], dtype=int)


def _add_ordered_panels(figure: go.Figure, arrays: Mapping[str, np.ndarray], names: Sequence[str], units: np.ndarray,
                        stride: int, height_per_panel: int) -> None:
    """A heatmap per name in rows 2, 3, ... of `figure`: the shown `units` top down, every `stride`th step."""
    time_index = np.arange(0, np.asarray(arrays[names[0]]).shape[0], stride, dtype=np.int32)
    # Unit numbers as categories keep the rows in `order` and give the hover its unit without a customdata grid
    # (which would double each heatmap's payload).
    unit_labels = [str(unit) for unit in units]
    tick_every = max(1, int(np.ceil(len(units) * UNIT_TICK_PX / height_per_panel)))
    for row, name in enumerate(names, start=2):
        values = np.asarray(arrays[name], dtype=np.float32)[::stride][:, units].T  # (shown units, time)
        label = TRACE_LABELS.get(name, name)
        figure.add_trace(go.Heatmap(
            z=values, x=time_index, y=unit_labels, name=label,
            **heatmap_colour_range(name, np.asarray(arrays[name])),
            colorbar=panel_colorbar(figure, row),
            hovertemplate=f"t=%{{x}}<br>unit %{{y}}<br>{label} = %{{z:.4f}}<extra></extra>",
        ), row=row, col=1)
        figure.update_yaxes(
            title_text="unit", type="category", autorange="reversed", showgrid=False, tickmode="array",
            tickvals=unit_labels[::tick_every], tickfont=dict(size=UNIT_TICK_FONT),
            row=row, col=1,
        )


def ordered_heatmaps(
    arrays: Mapping[str, np.ndarray],
    order: Sequence[int],
    input_channels: Mapping[str, np.ndarray],
    *,
    tokens: Sequence[str] | None = None,
    unknown: Sequence[int] = (),
    title: str = "Gates and states",
    order_label: str = "by index",
    height_per_panel: int | None = None,
) -> go.Figure:
    """One heatmap (units x time) per array {name: (T, H)}, every panel with the units in the same `order` (top
    first), under the example's input on one shared time axis. Hover gives step, unit and the exact value."""
    names = list(arrays)
    steps_total = np.asarray(arrays[names[0]]).shape[0]
    order = np.asarray(order, dtype=int)
    units = _shown_units([np.asarray(arrays[n]) for n in names], order)
    stride = time_stride(steps_total)
    rows = len(names) + 1
    if height_per_panel is None:  # tall enough to label every second unit of 64 at a legible size
        height_per_panel = int(np.clip(7 * len(units), 150, 420))
    height = height_per_panel * len(names) + 170
    figure = make_subplots(
        # ~30 px between panels whatever the figure's height: room for each panel's title.
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=min(0.08, 30 / height),
        row_heights=[min(0.6, 150 / height_per_panel)] + [1.0] * len(names),  # the input row ~90-150 px
        subplot_titles=["example input"] + [html_label(n) for n in names],
    )
    input_title = add_input_row(figure, input_channels, tokens, unknown, row=1)
    figure.update_yaxes(title_text=input_title, row=1, col=1, **GRID)
    _add_ordered_panels(figure, arrays, names, units, stride, height_per_panel)
    figure_input_guides(figure, input_channels)
    shown = f"{len(units)} of {len(order)} units" if len(units) < len(order) else f"{len(order)} units"
    if stride > 1:
        shown += f", every {stride}th step"
    figure.update_layout(
        **{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=80, b=55)},
        title=dict(text=f"{title} <span style='font-size:12px;color:#666'>({shown}, {order_label})</span>"),
        height=height, showlegend=False,
    )
    figure.update_xaxes(title_text="time step t", row=rows, col=1)
    figure.update_annotations(font_size=12, xanchor="left", x=0)
    return figure


def figure_input_guides(figure: go.Figure, input_channels: Mapping[str, np.ndarray]) -> None:
    """Dotted orange lines through every panel at the marked input steps (adding: the two markers)."""
    add_event_guides(figure, event_steps(input_channels))


def _add_span(figure: go.Figure, span: tuple[int, int] | None) -> None:
    if span is not None:
        figure.add_vrect(x0=span[0] - 0.5, x1=span[1] + 0.5, fillcolor=SPAN_FILL, line_width=0, layer="below")


def unit_trajectories(
    state: np.ndarray,
    units: Sequence[int],
    input_channels: Mapping[str, np.ndarray],
    *,
    tokens: Sequence[str] | None = None,
    unknown: Sequence[int] = (),
    title: str,
    value_label: str,
    feature: tuple[str, np.ndarray] | None = None,
    span: tuple[int, int] | None = None,
    threshold: float | None = None,
) -> go.Figure:
    """Lines of `state` (T, H) for `units` under the example's input; optionally a task feature in a row of its own
    (the series the units are compared with), a shaded span (the steps the user marked) and the ±threshold above
    which a unit counts as "on"."""
    state = np.asarray(state, dtype=np.float32)
    rows = 3 if feature is not None else 2
    figure = make_subplots(rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.05,
                           row_heights=[0.25, 0.2, 0.55] if feature is not None else [0.3, 0.7])
    input_title = add_input_row(figure, input_channels, tokens, unknown, row=1)
    steps = np.arange(state.shape[0], dtype=np.int32)
    if feature is not None:
        name, values = feature
        figure.add_trace(go.Scatter(
            x=steps, y=np.asarray(values, dtype=np.float32), mode="lines", name=f"feature: {name}", showlegend=False,
            line=dict(color="#000000", width=2, dash="dash"),
            hovertemplate=f"t=%{{x}}<br>{name} = %{{y:.4f}}<extra>feature</extra>",
        ), row=2, col=1)
        figure.update_yaxes(title_text="feature", nticks=3, row=2, col=1, **GRID)
        figure.add_annotation(text=f"feature: {name}", xref="x domain", yref="y2 domain", x=0, y=1.0,
                              xanchor="left", yanchor="bottom", showarrow=False, font=dict(size=11, color="#555555"))
    for index, unit in enumerate(units):
        unit = int(unit)
        figure.add_trace(go.Scatter(
            x=steps, y=state[:, unit], mode="lines", name=f"unit {unit}",
            line=dict(color=LINE_PALETTE[index % len(LINE_PALETTE)], width=2),
            hovertemplate=f"unit {unit}<br>t=%{{x}}<br>{value_label} = %{{y:.4f}}<extra></extra>",
        ), row=rows, col=1)
    _add_span(figure, span)
    if threshold is not None:
        for level in (threshold, -threshold):
            figure.add_hline(y=level, line=dict(color="#777777", width=1, dash="dot"), row=rows, col=1)
    figure_input_guides(figure, input_channels)
    figure.update_layout(**BASE_LAYOUT, title=dict(text=title, font=dict(size=14)), height=480 if feature else 460)
    figure.update_yaxes(title_text=input_title, row=1, col=1, **GRID)
    figure.update_yaxes(title_text=value_label, row=rows, col=1, **GRID)
    figure.update_xaxes(**GRID)
    figure.update_xaxes(title_text="time step t", row=rows, col=1)
    return figure


def unit_scores(scores: np.ndarray, units: Sequence[int], *, title: str, score_label: str) -> go.Figure:
    """Bars of the signed score of the ranked `units`, best first; blue for positive, orange for negative."""
    scores = np.asarray(scores, dtype=np.float64)
    units = [int(u) for u in units]
    values = scores[units].astype(np.float32)
    figure = go.Figure(go.Bar(
        x=[f"unit {u}" for u in units], y=values,
        marker=dict(color=["#0072B2" if v >= 0 else "#E69F00" for v in values]),
        hovertemplate=f"%{{x}}<br>{score_label} = %{{y:.4f}}<extra></extra>", name=score_label,
    ))
    figure.update_layout(
        **{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=50, b=60)}, title=dict(text=title, font=dict(size=14)),
        height=320, showlegend=False,
        xaxis=dict(title=dict(text="unit, best first"), type="category"),
        yaxis=dict(title=dict(text=score_label), **GRID),
    )
    return figure


def saturation_over_training(steps: Sequence[int], gates: Sequence[str], low: np.ndarray, high: np.ndarray, *,
                             current_step: int | None = None, title: str = "Gate saturation over training") -> go.Figure:
    """Per gate: the fraction of its values above HIGH_SATURATION (solid) and below LOW_SATURATION (dashed) at each
    checkpoint; a vertical line at the checkpoint the page shows."""
    steps = np.asarray(steps, dtype=np.int32)
    figure = go.Figure()
    for column, gate in enumerate(gates):
        colour = GATE_COLOURS.get(gate, "#000000")
        label = TRACE_LABELS.get(gate, gate)
        for values, bound, dash in ((high[:, column], f"> {HIGH_SATURATION:g}", "solid"),
                                    (low[:, column], f"< {LOW_SATURATION:g}", "dash")):
            figure.add_trace(go.Scatter(
                x=steps, y=np.asarray(values, dtype=np.float32), mode="lines+markers", name=f"{label} {bound}",
                legendgroup=gate, line=dict(color=colour, width=2, dash=dash), marker=dict(size=4),
                hovertemplate=f"{label}<br>step %{{x}}<br>fraction {bound}: %{{y:.4f}}<extra></extra>",
            ))
    if current_step is not None:
        figure.add_vline(x=current_step, line=dict(color="#777777", width=1, dash="dot"))
    # Up to the largest fraction reached (at least 5%), so a gate that saturates 2% of the time is still visible.
    top = max(0.05, float(np.nanmax(np.concatenate([np.ravel(low), np.ravel(high), [0.0]]))) * 1.1)
    top = min(top, 1.02)
    figure.update_layout(
        **BASE_LAYOUT, title=dict(text=title, font=dict(size=14)), height=420,
        xaxis=dict(title=dict(text="training step"), **GRID),
        yaxis=dict(title=dict(text="fraction of gate values (probe batch)"), range=[0, top], tickformat=".0%", **GRID),
    )
    return figure
