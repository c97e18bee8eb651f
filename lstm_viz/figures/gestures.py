"""The Gestures page's figures: class probabilities as the stroke grows, gates and one memory unit coloured along the
stroke itself, and the three cells on the same drawing. Pure functions of lstm_viz.analysis.strokes readings."""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.analysis.strokes import UNSURE_BELOW, StrokeReading, fraction_text
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.tasks.gesture_shapes import CLASSES
from lstm_viz.figures.style import (
    BASE_LAYOUT, BASELINE_COLOUR, GRID, OKABE_ITO, arch_colour, heatmap_colour_range, html_label,
)

PANELS_PER_ROW = 2
TOP_CLASSES = 4  # curves on the growth chart: the classes that were ever among the most likely
LARGE_TEXT = dict(size=15)


def _fractions(reading: StrokeReading) -> np.ndarray:
    return 100.0 * np.arange(len(reading.probabilities)) / max(len(reading.probabilities) - 1, 1)


def verdict_text(reading: StrokeReading) -> str:
    label = ARCHITECTURES[reading.arch].label
    if reading.unsure:
        return f"{label}: not sure (at most {reading.confidence:.0%}, for {CLASSES[reading.predicted]})"
    return (f"{label}: {CLASSES[reading.predicted]} ({reading.confidence:.0%}), "
            f"its answer from {fraction_text(reading.knew_at())} of the stroke on")


def growth_figure(reading: StrokeReading) -> go.Figure:
    """Probability of the likeliest classes after each point read, against the fraction of the stroke read."""
    x = _fractions(reading)
    ever_top = np.argsort(-reading.probabilities.max(axis=0))[:TOP_CLASSES]
    figure = go.Figure()
    for index, cls in enumerate(ever_top):
        final = int(cls) == reading.predicted
        figure.add_trace(go.Scatter(
            x=x, y=reading.probabilities[:, cls].astype(np.float32), mode="lines", name=CLASSES[int(cls)],
            line=dict(color=OKABE_ITO[index % len(OKABE_ITO)], width=4 if final else 2, dash=None if final else "dot"),
            hovertemplate=f"{CLASSES[int(cls)]}: %{{y:.2f}} after %{{x:.0f}}% of the stroke<extra></extra>"))
    figure.add_hline(y=UNSURE_BELOW, line=dict(color=BASELINE_COLOUR, dash="dash"),
                     annotation_text=f"below {UNSURE_BELOW:.0%} at the end: not sure", annotation_position="top left")
    if not reading.unsure:
        figure.add_vline(x=100 * reading.knew_at(), line=dict(color=arch_colour(reading.arch), dash="dash"))
    figure.update_layout(**BASE_LAYOUT, title=verdict_text(reading), height=380, font=LARGE_TEXT)
    figure.update_xaxes(title_text="stroke read so far (% of its points)", range=[0, 100], **GRID)
    figure.update_yaxes(title_text="probability", range=[0, 1.02], **GRID)
    return figure


def stroke_panels(reading: StrokeReading, unit: int) -> list[str]:
    """What is coloured along the stroke: each gate of `unit`, then its memory (cell state, or hidden state)."""
    architecture = ARCHITECTURES[reading.arch]
    memory = "cell_state" if "cell_state" in architecture.trace_names else "hidden_state"
    return [*architecture.gate_names, memory]


def along_stroke_figure(reading: StrokeReading, unit: int) -> go.Figure:
    """The stroke (resampled points, canvas orientation) once per gate and for the memory, each point coloured by
    unit `unit`'s value at that step."""
    names = stroke_panels(reading, unit)
    titles = [f"{html_label(name)}, unit {unit}" for name in names]
    columns = min(len(names), PANELS_PER_ROW)
    rows = -(-len(names) // columns)
    figure = make_subplots(rows=rows, cols=columns, subplot_titles=titles, horizontal_spacing=0.1,
                           vertical_spacing=0.12)
    points = reading.points
    for index, name in enumerate(names):
        row, column = divmod(index, columns)
        row, column = row + 1, column + 1
        values = reading.trace[name][0][:, unit].astype(np.float32)
        colours = heatmap_colour_range(name, values)  # a signed memory on its own unit's range, not every unit's
        scale = dict(colorscale=colours["colorscale"], cmin=colours["zmin"], cmax=colours["zmax"])
        if "zmid" in colours:
            scale["cmid"] = colours["zmid"]
        domain_x = figure.get_subplot(row, column).xaxis.domain
        domain_y = figure.get_subplot(row, column).yaxis.domain
        bar = dict(x=domain_x[1] + 0.01, y=sum(domain_y) / 2, len=(domain_y[1] - domain_y[0]) * 0.9, thickness=12,
                   tickfont=dict(size=12))
        figure.add_trace(go.Scatter(x=points[:, 0], y=points[:, 1], mode="lines", line=dict(color="#BBBBBB", width=2),
                                    hoverinfo="skip", showlegend=False), row=row, col=column)
        figure.add_trace(go.Scatter(
            x=points[:, 0], y=points[:, 1], mode="markers", showlegend=False,
            marker=dict(size=11, color=values, colorbar=bar, line=dict(color="#333333", width=0.5), **scale),
            customdata=np.arange(len(values)),
            hovertemplate=f"point %{{customdata}}: {html_label(name)} = %{{marker.color:.3f}}<extra></extra>"),
            row=row, col=column)
        figure.add_trace(go.Scatter(x=points[:1, 0], y=points[:1, 1], mode="markers",
                                    marker=dict(symbol="circle-open", size=20, color="#000000", line=dict(width=2)),
                                    hoverinfo="skip", showlegend=False), row=row, col=column)
        axis = "" if index == 0 else str(index + 1)
        figure.update_yaxes(autorange="reversed", scaleanchor=f"x{axis}", showticklabels=False, row=row, col=column)
        figure.update_xaxes(showticklabels=False, row=row, col=column)
    label = ARCHITECTURES[reading.arch].label
    figure.update_layout(**BASE_LAYOUT, height=330 * rows + 60, font=LARGE_TEXT,
                         title=f"{label}: the gates and the memory of unit {unit} at every point it read "
                               "(the canvas's orientation; ○ the start)")
    figure.update_layout(plot_bgcolor="#FFFFFF", margin=dict(l=20, r=60, t=90, b=20))
    return figure


def comparison_figure(readings: Sequence[StrokeReading]) -> go.Figure:
    """Each cell's probability for its own final answer after each point, on the same drawing."""
    figure = go.Figure()
    for reading in readings:
        label = ARCHITECTURES[reading.arch].label
        answer = "not sure" if reading.unsure else CLASSES[reading.predicted]
        figure.add_trace(go.Scatter(
            x=_fractions(reading), y=reading.probabilities[:, reading.predicted].astype(np.float32), mode="lines",
            name=f"{label}: {answer} ({reading.confidence:.0%})", line=dict(color=arch_colour(reading.arch), width=3),
            hovertemplate=f"{label}, {CLASSES[reading.predicted]}: %{{y:.2f}} after %{{x:.0f}}%<extra></extra>"))
    figure.add_hline(y=UNSURE_BELOW, line=dict(color=BASELINE_COLOUR, dash="dash"))
    figure.update_layout(**BASE_LAYOUT, height=380, font=LARGE_TEXT,
                         title="The same drawing read by each cell: probability of its final answer")
    figure.update_xaxes(title_text="stroke read so far (% of its points)", range=[0, 100], **GRID)
    figure.update_yaxes(title_text="probability", range=[0, 1.02], **GRID)
    return figure
