"""Deploy small's figures: every variant's size against its metric and its latency, and what int8 weights do to the
gates and to one example's cell state. Data in (lstm_viz.compression rows as dicts, a GateShift), figure out."""
from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.compression.gate_shift import GateShift
from lstm_viz.figures.style import BASE_LAYOUT, BASELINE_COLOUR, GRID, OKABE_ITO, html_label

# One legend entry per kind of variant, the same colour and marker in both panels (checked in this order: the first
# prefix a variant's name starts with); pruned points also carry their level as a text label.
FAMILIES = (("float32", "float32", OKABE_ITO[7], "circle"), ("float16", "float16", OKABE_ITO[0], "square"),
            ("bfloat16", "bfloat16", OKABE_ITO[0], "square-open"), ("ONNX", "ONNX float32", OKABE_ITO[4], "diamond"),
            ("int8 (onnx", "int8 (onnxruntime)", OKABE_ITO[5], "triangle-up"),
            ("int8", "int8 (torch, deprecated)", OKABE_ITO[5], "triangle-down-open"),
            ("pruned", "pruned", OKABE_ITO[2], "x"))
FINE_TUNED = ("pruned + fine-tune", OKABE_ITO[3], "star")
BEFORE_COLOUR, AFTER_COLOUR = OKABE_ITO[0], OKABE_ITO[1]
HISTOGRAM_BINS = 40
SIZE_TARGET = 0.3  # the target for int8: at most 0.3x the float32 file


def family(variant: str) -> tuple[str, str, str]:
    """(legend group, colour, marker symbol) of a variant by its name."""
    if variant.startswith("pruned") and "fine-tune" in variant:
        return FINE_TUNED
    for prefix, group, colour, symbol in FAMILIES:
        if variant.startswith(prefix):
            return group, colour, symbol
    return "other", BASELINE_COLOUR, "circle"


def tradeoff_figure(rows: Sequence[dict], *, title: str) -> go.Figure:
    """Left: file size (kB) against the metric; right: file size against the latency p50 of a whole sequence (ms).
    One point per variant, hover for its name and every number; dotted lines mark the float32 metric x 1.05 and
    0.3x the float32 size (the issue's targets for int8).

    Long because each variant is one trace in each panel (so the legend and the hover name it) plus the two marks."""
    figure = make_subplots(rows=1, cols=2, horizontal_spacing=0.1,
                           subplot_titles=("size against metric (lower is better)",
                                           "size against latency of a whole sequence (batch 1)"))
    float32 = next((row for row in rows if row["variant"] == "float32"), rows[0])
    shown_groups: set[str] = set()
    for row in rows:
        group, colour, symbol = family(row["variant"])
        kilobytes = row["bytes"] / 1024
        hover = (f"<b>{row['variant']}</b><br>{row['bytes']:,} bytes ({row['size_ratio']:.2f}x float32)<br>"
                 f"{row['metric_name']} {row['metric']:.4g}<br>max |diff| {row['max_abs_diff']:.2g}<br>"
                 f"latency p50 {row['latency_ms_p50']:.3f} ms, p95 {row['latency_ms_p95']:.3f} ms<extra></extra>")
        level = row["variant"].split()[1] if row["variant"].startswith("pruned") else ""
        # A pruned file keeps its dense size, so a level's pruned and fine-tuned points share one x (and in the
        # latency panel often one y): their labels go above and below, centred, so neither prints over the other
        # nor over the next level's (left and right they did, and the leftmost was cut by the axis).
        side = "bottom center" if group == FINE_TUNED[0] else "top center"
        for column, y in ((1, row["metric"]), (2, row["latency_ms_p50"])):
            figure.add_trace(go.Scatter(
                x=[kilobytes], y=[y], mode="markers+text" if level else "markers", name=group, legendgroup=group,
                text=[level], textposition=side, textfont=dict(size=13, color=colour),
                showlegend=column == 1 and group not in shown_groups, hovertemplate=hover, cliponaxis=False,
                marker=dict(color=colour, symbol=symbol, size=12, line=dict(width=1.5, color=colour)),
            ), row=1, col=column)
        shown_groups.add(group)
    limit = float32["metric"] * 1.05
    # Logarithmic when it can be: the variants near float32's metric and the broken pruned ones differ by 100x.
    logarithmic = all(row["metric"] > 0 for row in rows)
    figure.add_hline(y=limit, line=dict(color=BASELINE_COLOUR, dash="dot"), row=1, col=1)
    # Its label placed by hand: add_hline's own annotation takes y as a value even on a log axis (where Plotly
    # positions annotations in log10 units), which put it at the top of the panel.
    figure.add_annotation(x=1, xref="x domain", y=math.log10(limit) if logarithmic else limit, yref="y",
                          text="float32 metric + 5%", showarrow=False, xanchor="right", yanchor="bottom",
                          font=dict(size=11, color=BASELINE_COLOUR))
    for column in (1, 2):
        figure.add_vline(x=float32["bytes"] / 1024 * SIZE_TARGET, line=dict(color=BASELINE_COLOUR, dash="dot"),
                         row=1, col=column, annotation_text="0.3x float32 size", annotation_position="top right")
        figure.update_xaxes(title_text="file size (kB)", **GRID, row=1, col=column)
    metric_title = f"{float32['metric_name']} on the test set" + (" (log scale)" if logarithmic else "")
    figure.update_yaxes(title_text=metric_title,
                        type="log" if logarithmic else "linear", **GRID, row=1, col=1)
    figure.update_yaxes(title_text="latency p50 (ms)", rangemode="tozero", **GRID, row=1, col=2)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=100, b=100)}, title=title, height=500,
                         legend_title_text="variant")
    return figure


def _value_range(gate: str, values: np.ndarray) -> tuple[float, float]:
    """The bins' span: a gate's [0, 1] or tanh's [-1, 1], widened to every value (before and after) so that none
    falls outside the histogram."""
    low, high = (0.0, 1.0) if gate.endswith("_gate") else (-1.0, 1.0) if gate == "candidate" else (np.inf, -np.inf)
    low, high = min(low, float(values.min())), max(high, float(values.max()))
    return (low, high) if high > low else (low, low + 1.0)


def gate_histograms_figure(shift: GateShift, *, title: str) -> go.Figure:
    """Top row: each gate's values over the shown inputs, float32 and int8 weights overlaid (share of values per
    bin); bottom row: how far each value moved (int8 minus float32).

    Long because each gate is a column of two panels, with both histograms counted here in NumPy (a few dozen bars
    instead of every value in the figure's JSON)."""
    gates = shift.gates
    figure = make_subplots(rows=2, cols=len(gates), vertical_spacing=0.24, horizontal_spacing=0.06,
                           subplot_titles=[html_label(g) for g in gates] + [f"shift of {html_label(g)}" for g in gates])
    for column, gate in enumerate(gates, start=1):
        before, after = shift.before[gate], shift.after[gate]
        edges = np.linspace(*_value_range(gate, np.concatenate([before, after])), HISTOGRAM_BINS + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        for values, name, colour in ((before, "float32 weights", BEFORE_COLOUR), (after, "int8 weights", AFTER_COLOUR)):
            counts, _ = np.histogram(values, edges)
            figure.add_trace(go.Scatter(x=centres, y=counts / max(1, values.size), mode="lines", name=name,
                                        legendgroup=name, showlegend=column == 1, line=dict(color=colour, width=2,
                                        shape="hvh", dash="solid" if colour == BEFORE_COLOUR else "dash")),
                             row=1, col=column)
        moved = after - before
        reach = max(float(np.abs(moved).max()), 1e-9)
        counts, moved_edges = np.histogram(moved, np.linspace(-reach, reach, HISTOGRAM_BINS + 1))
        figure.add_trace(go.Bar(x=(moved_edges[:-1] + moved_edges[1:]) / 2, y=counts / max(1, moved.size),
                                marker_color=OKABE_ITO[2], name="int8 - float32", legendgroup="shift",
                                showlegend=column == 1), row=2, col=column)
        figure.update_xaxes(title_text="value", **GRID, row=1, col=column)
        figure.update_xaxes(title_text="int8 − float32", **GRID, row=2, col=column)
        figure.update_yaxes(**GRID, row=1, col=column)
        figure.update_yaxes(**GRID, row=2, col=column)
    figure.update_yaxes(title_text="share of values", row=1, col=1)
    figure.update_yaxes(title_text="share of values", row=2, col=1)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=100, b=100)}, title=title, height=600,
                         bargap=0.05)
    return figure


def state_figure(shift: GateShift, *, title: str, units: int = 3) -> go.Figure:
    """One example's state over time: the `units` units largest in magnitude, float32 (solid) and int8 weights
    (dashed), and below, the largest |difference| over all units at each step."""
    before, after = shift.state_before, shift.state_after
    chosen = np.argsort(-np.abs(before).max(axis=0))[:units]
    steps = np.arange(before.shape[0])
    label = html_label(shift.state_name)
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12, row_heights=[0.65, 0.35],
                           subplot_titles=(f"{label} of three units",
                                           f"largest |int8 − float32| of {label}, all units"))
    for index, unit in enumerate(chosen):
        colour = OKABE_ITO[index % len(OKABE_ITO)]
        figure.add_trace(go.Scatter(x=steps, y=before[:, unit], mode="lines", name=f"unit {unit}, float32",
                                    line=dict(color=colour, width=2)), row=1, col=1)
        figure.add_trace(go.Scatter(x=steps, y=after[:, unit], mode="lines", name=f"unit {unit}, int8",
                                    line=dict(color=colour, width=2, dash="dash")), row=1, col=1)
    figure.add_trace(go.Scatter(x=steps, y=np.abs(after - before).max(axis=1), mode="lines", name="largest |diff|",
                                line=dict(color=BASELINE_COLOUR, width=2)), row=2, col=1)
    figure.update_xaxes(**GRID, row=1, col=1)
    figure.update_xaxes(title_text="time step t", **GRID, row=2, col=1)
    figure.update_yaxes(title_text="value", **GRID, row=1, col=1)
    figure.update_yaxes(title_text="|diff|", rangemode="tozero", **GRID, row=2, col=1)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=100, b=100)}, title=title, height=560)
    return figure
