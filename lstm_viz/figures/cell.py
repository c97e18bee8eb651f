"""Figures of one time step inside a cell (pure Plotly, no Streamlit): every unit's gate values as small bar charts,
and the LSTM cell drawn as a diagram whose lines carry that step's numbers in their width and colour."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.analysis.cell_step import CellStep
from lstm_viz.figures.style import (
    BASE_LAYOUT, GRID, INPUT_COLOUR, MARKER_COLOUR, TANH_TRACES, TRACE_LABELS, UNIT_INTERVAL_TRACES, arch_colour, rgba,
    value_range,
)

VECTOR_LABELS = {**TRACE_LABELS, "candidate": "candidate gₜ", "preactivation": "pre-activation W xₜ + U hₜ₋₁ + b"}
GRU_LABELS = {"candidate": "candidate nₜ"}


# ----------------------------------------------------------------------------------------------------
# every unit's vectors at one step
def unit_vectors(
    vectors: Mapping[str, np.ndarray],
    unit: int,
    *,
    arch: str,
    title: str,
    columns: int = 3,
) -> go.Figure:
    """One small bar chart per vector (name -> (H,)), all units on the x axis, the chosen unit highlighted."""
    names = list(vectors)
    columns = max(1, min(columns, len(names)))
    rows = math.ceil(len(names) / columns)
    labels = [(GRU_LABELS if arch == "gru" else {}).get(n, VECTOR_LABELS.get(n, n)) for n in names]
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=labels, horizontal_spacing=0.07,
                           vertical_spacing=0.2 if rows > 1 else 0.1)
    colour = arch_colour(arch)
    for index, name in enumerate(names):
        row, col = index // columns + 1, index % columns + 1
        values = np.asarray(vectors[name], dtype=np.float64)
        units = np.arange(len(values), dtype=np.int32)
        others = units != unit
        label = labels[index]
        figure.add_trace(go.Bar(
            x=units[others], y=values[others].astype(np.float32), name="all units", legendgroup="all",
            showlegend=index == 0, marker=dict(color=rgba(colour, 0.55), line=dict(width=0)),
            hovertemplate=f"unit %{{x}}<br>{label} = %{{y:.4f}}<extra></extra>",
        ), row=row, col=col)
        figure.add_trace(go.Bar(
            x=[unit], y=[float(values[unit])], name=f"unit {unit}", legendgroup="chosen", showlegend=index == 0,
            marker=dict(color=MARKER_COLOUR, line=dict(color="black", width=1)),
            hovertemplate=f"unit %{{x}} (chosen)<br>{label} = %{{y:.6f}}<extra></extra>",
        ), row=row, col=col)
        low, high = value_range(name, values)
        if name not in UNIT_INTERVAL_TRACES | TANH_TRACES:
            # Bars: 5% headroom so the tallest does not touch the frame, and never narrower than the tanh panels'
            # [-1, 1] beside them, so a small cell state is not drawn as large as they are.
            high = max(1.0, high * 1.05)
            low = -high
        figure.update_yaxes(range=[low, high], row=row, col=col, **GRID)
        figure.update_xaxes(range=[-0.6, len(values) - 0.4], row=row, col=col, showgrid=False,
                            title_text="unit" if row == rows else None)
    figure.update_layout(
        **{**BASE_LAYOUT, "margin": dict(l=50, r=20, t=70, b=85),
           "legend": dict(orientation="h", yref="container", y=0.0, yanchor="bottom", xanchor="left", x=0)},
        title=dict(text=title, font=dict(size=15)), height=170 * rows + 140, bargap=0.15, barmode="overlay",
    )
    figure.update_annotations(font_size=12)
    for row in range(1, rows + 1):
        figure.update_yaxes(title_text="value", row=row, col=1)
    return figure


# ----------------------------------------------------------------------------------------------------
# the LSTM cell diagram
NEGATIVE_COLOUR = (213, 94, 0)  # Okabe-Ito vermillion
ZERO_COLOUR = (187, 187, 187)  # grey, visible on white
POSITIVE_COLOUR = (0, 114, 178)  # Okabe-Ito blue
VALUE_COLORSCALE = [[0.0, "rgb(213,94,0)"], [0.5, "rgb(187,187,187)"], [1.0, "rgb(0,114,178)"]]
MIN_WIDTH, MAX_WIDTH = 1.0, 9.0
BUS_COLOUR = "#999999"


def value_colour(value: float) -> str:
    """-1 vermillion, 0 grey, +1 blue, linear in between; clipped beyond +-1."""
    v = max(-1.0, min(1.0, float(value))) if math.isfinite(value) else 0.0
    end = POSITIVE_COLOUR if v >= 0 else NEGATIVE_COLOUR
    weight = abs(v)
    red, green, blue = (round(z + (e - z) * weight) for z, e in zip(ZERO_COLOUR, end))
    return f"rgb({red},{green},{blue})"


def value_width(value: float) -> float:
    """Line width in pixels: proportional to |value|, full at |value| >= 1."""
    magnitude = min(1.0, abs(float(value))) if math.isfinite(value) else 0.0
    return MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * magnitude


@dataclass(frozen=True)
class Wire:
    hover: str  # what it carries, for the hover text ("fₜ·cₜ₋₁, what the forget gate keeps")
    points: Sequence[tuple[float, float]]
    value: float | None  # None: a vector bus, drawn neutral
    label: str | None = None  # short HTML label drawn on the line
    label_at: tuple[float, float] | None = None
    label_anchor: str = "center"


# Node positions (x, y): the conveyor belt runs along y = 5, the gates sit on y = 2.2, the inputs on y = 0.6.
BELT_Y, GATE_Y, BUS_Y = 5.0, 2.2, 0.6
GATE_X = {"forget_gate": 2.6, "input_gate": 4.25, "candidate": 5.9, "output_gate": 7.55}
WRITE_X, WRITE_Y = 5.075, 3.6  # i * g
OUT_X, TANH_Y = 8.9, 3.8  # tanh(c) and o * tanh(c)
LEFT, RIGHT, INPUT_X = -0.3, 10.7, 1.2
GATE_SYMBOLS = {"forget_gate": ("σ", "f"), "input_gate": ("σ", "i"), "candidate": ("tanh", "g"), "output_gate": ("σ", "o")}


def _wires(step: CellStep, unit: int) -> list[Wire]:
    j = unit
    gate = {name: float(step.gates[name].value[j]) for name in GATE_X}
    pre = {name: float(step.gates[name].preactivation[j]) for name in GATE_X}
    c_prev, c, h, h_prev = float(step.c_prev[j]), float(step.c[j]), float(step.h[j]), float(step.h_prev[j])
    kept, written, squashed = (float(step.extra[k][j]) for k in ("kept", "written", "tanh_c"))
    fx, ix, gx, ox = (GATE_X[n] for n in ("forget_gate", "input_gate", "candidate", "output_gate"))
    wires = [
        Wire("cₜ₋₁, the cell state coming in", [(LEFT, BELT_Y), (fx, BELT_Y)], c_prev,
             "c<sub>t−1</sub>", ((LEFT + fx) / 2, BELT_Y + 0.45)),
        Wire("fₜ·cₜ₋₁, what the forget gate keeps", [(fx, BELT_Y), (WRITE_X, BELT_Y)], kept,
             "f·c<sub>t−1</sub>", ((fx + WRITE_X) / 2, BELT_Y + 0.45)),
        Wire("cₜ, the new cell state", [(WRITE_X, BELT_Y), (RIGHT, BELT_Y)], c,
             "c<sub>t</sub>", ((OUT_X + RIGHT) / 2, BELT_Y + 0.45)),
        Wire("fₜ, forget gate", [(fx, GATE_Y), (fx, BELT_Y)], gate["forget_gate"]),
        Wire("iₜ, input gate", [(ix, GATE_Y), (ix, WRITE_Y), (WRITE_X, WRITE_Y)], gate["input_gate"]),
        Wire("gₜ, candidate", [(gx, GATE_Y), (gx, WRITE_Y), (WRITE_X, WRITE_Y)], gate["candidate"]),
        Wire("iₜ·gₜ, what the input gate writes", [(WRITE_X, WRITE_Y), (WRITE_X, BELT_Y)], written,
             "i·g", (WRITE_X + 0.55, (WRITE_Y + BELT_Y) / 2)),
        Wire("cₜ, on its way to the output", [(OUT_X, BELT_Y), (OUT_X, TANH_Y)], c),
        Wire("tanh(cₜ)", [(OUT_X, TANH_Y), (OUT_X, GATE_Y)], squashed,
             "tanh c<sub>t</sub>", (OUT_X + 0.75, (TANH_Y + GATE_Y) / 2)),
        Wire("oₜ, output gate", [(ox, GATE_Y), (OUT_X, GATE_Y)], gate["output_gate"]),
        Wire("hₜ, the new hidden state", [(OUT_X, GATE_Y), (OUT_X, BUS_Y), (RIGHT, BUS_Y)], h,
             "h<sub>t</sub>", ((OUT_X + RIGHT) / 2 + 0.1, BUS_Y - 0.45)),
        Wire("hₜ₋₁, the hidden state coming in", [(LEFT, BUS_Y), (INPUT_X, BUS_Y)], h_prev,
             "h<sub>t−1</sub>", ((LEFT + INPUT_X) / 2, BUS_Y - 0.45)),
        Wire("[hₜ₋₁, xₜ] (all units)", [(INPUT_X, BUS_Y), (ox, BUS_Y)], None),
        Wire("xₜ", [(INPUT_X, -0.7), (INPUT_X, BUS_Y)], None),
    ]
    for name, x in GATE_X.items():
        symbol = GATE_SYMBOLS[name][1]
        wires.append(Wire(f"pre-activation of {symbol}ₜ: W x + U h + b", [(x, BUS_Y), (x, GATE_Y)], pre[name],
                          f"z<sub>{symbol}</sub>", (x + 0.12, (BUS_Y + GATE_Y) / 2 - 0.05), "left"))
    return wires


def _path(points: Sequence[tuple[float, float]]) -> str:
    return "M " + " L ".join(f"{x},{y}" for x, y in points)


def _midpoints(points: Sequence[tuple[float, float]]) -> list[tuple[float, float]]:
    return [((x0 + x1) / 2, (y0 + y1) / 2) for (x0, y0), (x1, y1) in zip(points, points[1:])]


@dataclass
class _Drawing:
    """What the cell diagram is made of: Plotly shapes and annotations, and invisible points carrying hover texts."""
    shapes: list[dict] = field(default_factory=list)
    annotations: list[dict] = field(default_factory=list)
    hover_x: list[float] = field(default_factory=list)
    hover_y: list[float] = field(default_factory=list)
    hover_text: list[str] = field(default_factory=list)

    def hover(self, x: float, y: float, text: str) -> None:
        self.hover_x.append(x)
        self.hover_y.append(y)
        self.hover_text.append(text)

    def node(self, x: float, y: float, text: str, radius: int = 13) -> None:
        # Sized in pixels around a data point, so a circle stays round whatever the figure's aspect.
        self.shapes.append(dict(type="circle", xsizemode="pixel", ysizemode="pixel", xanchor=x, yanchor=y,
                                x0=-radius, x1=radius, y0=-radius, y1=radius,
                                fillcolor="white", line=dict(color="#333", width=1.5), layer="above"))
        self.annotations.append(dict(x=x, y=y, text=f"<b>{text}</b>", showarrow=False,
                                     font=dict(size=14 if len(text) == 1 else 11, color="#222")))


def _draw_wires(drawing: _Drawing, step: CellStep, unit: int) -> None:
    """Every line of the diagram, its width and colour by the value it carries (dotted: a vector of all units)."""
    for wire in _wires(step, unit):
        if wire.value is None:
            line = dict(color=BUS_COLOUR, width=2, dash="dot")
        else:
            line = dict(color=value_colour(wire.value), width=value_width(wire.value))
        drawing.shapes.append(dict(type="path", path=_path(wire.points), line=line, layer="below"))
        if wire.value is not None:
            for x, y in _midpoints(wire.points):
                drawing.hover(x, y, f"{wire.hover} = {wire.value:.6f}")
        if wire.label is not None:
            drawing.annotations.append(dict(
                x=wire.label_at[0], y=wire.label_at[1], text=f"{wire.label} = {wire.value:.3f}", showarrow=False,
                xanchor=wire.label_anchor, font=dict(size=12, color="#222"), bgcolor="rgba(255,255,255,0.9)"))


def _draw_gates(drawing: _Drawing, step: CellStep, unit: int) -> None:
    """A box per gate below the belt, framed in the colour of its value, with its activation and value."""
    for name, x in GATE_X.items():
        value = float(step.gates[name].value[unit])
        activation, symbol = GATE_SYMBOLS[name]
        drawing.shapes.append(dict(type="rect", xsizemode="pixel", ysizemode="pixel", xanchor=x, yanchor=GATE_Y,
                                   x0=-27, x1=27, y0=-21, y1=21,
                                   fillcolor="white", line=dict(color=value_colour(value), width=3), layer="above"))
        drawing.annotations.append(dict(x=x, y=GATE_Y, text=f"{activation}<br><b>{symbol}={value:.3f}</b>",
                                        showarrow=False, font=dict(size=10.5, color="#222")))
        drawing.hover(x, GATE_Y, f"{symbol}ₜ = {activation}(pre-activation) = {value:.6f}")


def lstm_diagram(step: CellStep, unit: int, *, title: str, input_label: str = "") -> go.Figure:
    """The cell of unit `unit` at this step: the conveyor belt cₜ₋₁ → ×f → +i·g → cₜ along the top, the gates
    below it, tanh and ×o on the way out to hₜ. Each line's width and colour follow the value it carries."""
    if step.arch != "lstm":
        raise ValueError("the cell diagram is drawn for the LSTM")
    figure = go.Figure()
    drawing = _Drawing()
    _draw_wires(drawing, step, unit)
    drawing.node(GATE_X["forget_gate"], BELT_Y, "×")
    drawing.node(WRITE_X, BELT_Y, "+")
    drawing.node(WRITE_X, WRITE_Y, "×")
    drawing.node(OUT_X, TANH_Y, "tanh", radius=17)
    drawing.node(OUT_X, GATE_Y, "×")
    _draw_gates(drawing, step, unit)
    drawing.annotations.append(dict(x=INPUT_X, y=-0.8, text=f"<b>x<sub>t</sub></b> {input_label}", showarrow=False,
                                    yanchor="top", font=dict(size=12, color=INPUT_COLOUR)))
    drawing.annotations.append(dict(
        x=0, y=-0.02, xref="paper", yref="paper", xanchor="left", yanchor="top", showarrow=False, align="left",
        font=dict(size=11, color="#555"),
        text="Line width ∝ |value|, full from |value| ≥ 1. Colour: the value, −1 vermillion, 0 grey, +1 blue "
             "(clipped).<br>z: pre-activation of a gate. Dotted: the vectors of all units going in. "
             "Hover a line for its exact value.",
    ))
    # Invisible points carry the hover text of each line (shapes have none), and one carries the colour bar.
    figure.add_trace(go.Scatter(
        x=drawing.hover_x, y=drawing.hover_y, mode="markers", marker=dict(size=16, opacity=0),
        hovertext=drawing.hover_text,
        hoverinfo="text", showlegend=False, name="values",
    ))
    figure.add_trace(go.Scatter(
        x=[RIGHT + 5], y=[BELT_Y], mode="markers", showlegend=False, hoverinfo="skip", name="colour scale",
        marker=dict(size=0.1, color=[0.0], cmin=-1.0, cmax=1.0, colorscale=VALUE_COLORSCALE, showscale=True,
                    colorbar=dict(title=dict(text="value on a line", side="right"), thickness=12, len=0.75,
                                  tickvals=[-1, -0.5, 0, 0.5, 1], ticktext=["≤ −1", "−0.5", "0", "0.5", "≥ 1"])),
    ))
    figure.update_layout(
        **{**BASE_LAYOUT, "margin": dict(l=10, r=10, t=50, b=70)},
        title=dict(text=title, font=dict(size=15)), height=500, shapes=drawing.shapes,
        annotations=drawing.annotations,
        xaxis=dict(visible=False, range=[LEFT - 0.2, RIGHT + 0.2], fixedrange=True),
        yaxis=dict(visible=False, range=[-1.4, BELT_Y + 0.8], fixedrange=True),
    )
    return figure
