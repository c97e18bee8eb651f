"""The consistent-lengths figures: the test error of the three variants over training, and what the packed and the
unpacked model do on the padded steps of one example (lstm_viz.practices.lengths, lstm_viz.practices.length_gates)."""
from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import (
    BASE_LAYOUT, BASELINE_COLOUR, GRID, MARKER_COLOUR, OKABE_ITO, finite_or_nan, html_label,
)

VARIANT_COLOURS = {"packed": OKABE_ITO[0], "padded": OKABE_ITO[5], "truncated": OKABE_ITO[1]}
VARIANT_DASH = {"packed": "solid", "padded": "dash", "truncated": "dot"}


def lengths_curves_figure(curves: dict, labels: dict, baseline: float) -> go.Figure:
    """Test MSE (log axis) against the training step, one line per variant, and the no-memory baseline."""
    figure = go.Figure()
    for variant, (steps, values) in curves.items():
        figure.add_trace(go.Scatter(x=np.asarray(steps), y=finite_or_nan(values), mode="lines+markers",
                                    name=labels.get(variant, variant),
                                    line=dict(color=VARIANT_COLOURS.get(variant, "#000000"), width=2.5,
                                              dash=VARIANT_DASH.get(variant, "solid")),
                                    marker=dict(size=5),
                                    hovertemplate="step %{x:,}<br>test MSE %{y:.4g}<extra>%{fullData.name}</extra>"))
    figure.add_hline(y=baseline, line=dict(color=BASELINE_COLOUR, dash="dot"),
                     annotation_text="no memory (predict 1)", annotation_position="top right")
    figure.update_layout(**BASE_LAYOUT, height=420, title=dict(text="Test error of the three ways over training"))
    figure.update_xaxes(title_text="training step", **GRID)
    figure.update_yaxes(title_text="test MSE (log scale)", type="log", **GRID)
    return figure


def _panels(trace: dict) -> list[tuple[str, str]]:
    """(key in the reading, panel title): the LSTM's gates and cell state, or a GRU's/RNN's hidden state."""
    if "forget_gate" in trace["padded"]:
        return [("input_gate", html_label("input_gate")), ("forget_gate", html_label("forget_gate")),
                ("output_gate", html_label("output_gate")), ("cell_state_abs", "cell state |c<sub>t</sub>|"),
                ("prediction", "prediction read at step t")]
    return [("hidden_state", html_label("hidden_state")), ("prediction", "prediction read at step t")]


def padding_gates_figure(trace: dict, labels: dict) -> go.Figure:
    """Long because each panel gets both models, the shaded padding and its own axis title.

    Per step of one test example, each quantity averaged over the units: the packed model up to the true length
    (its state stops there), the unpacked one over every padded step; the padding is shaded, the two marked steps
    are dotted lines and the prediction panel has the target."""
    panels = _panels(trace)
    length, total = trace["length"], trace["max_length"]
    figure = make_subplots(rows=len(panels), cols=1, shared_xaxes=True, vertical_spacing=0.035,
                           subplot_titles=[title for _, title in panels])
    for row, (key, _) in enumerate(panels, start=1):
        for variant in ("padded", "packed"):
            values = trace[variant][key]
            figure.add_trace(go.Scatter(
                x=np.arange(1, len(values) + 1), y=np.asarray(values, dtype=np.float32), mode="lines",
                name=labels.get(variant, variant), legendgroup=variant, showlegend=row == 1,
                line=dict(color=VARIANT_COLOURS[variant], width=2.5, dash=VARIANT_DASH[variant]),
                hovertemplate="step %{x}<br>%{y:.3f}<extra>%{fullData.name}</extra>"), row=row, col=1)
        figure.add_vrect(x0=length + 0.5, x1=total + 0.5, fillcolor="#999999", opacity=0.15, line_width=0,
                         row=row, col=1)
        for step in trace.get("marked_steps", ()):
            figure.add_vline(x=step, line=dict(color=MARKER_COLOUR, dash="dot", width=1.5), row=row, col=1)
        if key.endswith("_gate"):
            figure.update_yaxes(range=[0, 1], row=row, col=1)
    figure.add_hline(y=trace["target"], line=dict(color=BASELINE_COLOUR, dash="dot"), row=len(panels), col=1,
                     annotation_text=f"target {trace['target']:.2f}", annotation_position="bottom right")
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=110, b=100)},
                         height=170 * len(panels) + 150, title=dict(
        text=f"One test example of true length {length}, padded to {total}",
        subtitle=dict(text="mean over units per step; grey: the padding; orange dots: the two marked values")))
    figure.update_layout(legend=dict(y=-0.6 / len(panels)))  # just under the step axis of this tall figure
    figure.update_xaxes(**GRID)
    figure.update_yaxes(**GRID)
    figure.update_xaxes(title_text="step t", row=len(panels), col=1)
    figure.update_yaxes(title_text="value", row=len(panels) // 2 + 1, col=1)
    return figure
