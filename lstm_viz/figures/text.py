"""Figures of the Try it page: a typed text read word by word (prediction after each word, gates and cell state per
word, unknown words flagged), and the unit whose cell state follows the nesting depth. Plain arrays in, Figure out.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.labels import LABEL_CHARACTERS, plotly_text, short_labels
from lstm_viz.figures.style import (
    BASE_LAYOUT, GRID, MARKER_COLOUR, OKABE_ITO, TRACE_LABELS, arch_colour, heatmap_colour_range, panel_colorbar,
    select_units,
)

UNKNOWN_MARK = "⚠"
MAX_WORD_UNITS = 32
MAX_SHOWN_STEPS = 400
# Class colours: blue for positive and vermillion for negative read as good/bad without relying on red-green.
CLASS_COLOURS = {"negative": "#D55E00", "neutral": "#999999", "positive": "#0072B2"}


def _band(x0: float, x1: float, opacity: float, layer: str) -> dict:
    """A full-height shaded band over [x0, x1] on the shared x axis."""
    return dict(type="rect", xref="x", yref="paper", x0=x0, x1=x1, y0=0, y1=1, fillcolor=MARKER_COLOUR,
                opacity=opacity, line_width=0, layer=layer)


def class_colour(name: str, index: int) -> str:
    return CLASS_COLOURS.get(name, OKABE_ITO[index % len(OKABE_ITO)])


def token_labels(tokens: Sequence[str], unknown: Sequence[int]) -> list[str]:
    """Tick labels: unknown tokens get a warning mark, and a position suffix keeps repeated tokens apart."""
    flagged = set(unknown)
    return [f"{UNKNOWN_MARK}{plotly_text(tok)}" if t in flagged else plotly_text(tok) for t, tok in enumerate(tokens)]


def _categorical_ticks(labels: Sequence[str]) -> dict:
    step = max(1, int(np.ceil(len(labels) / 60)))
    positions = list(range(0, len(labels), step))
    return dict(tickmode="array", tickvals=positions, ticktext=[labels[p] for p in positions], tickangle=-60)


def class_probabilities(classes: Sequence[str], probabilities: np.ndarray, *, title: str) -> go.Figure:
    """Horizontal bars: the model's probability of each class for the whole text. Class names are the user's: shown
    as text, cut to LABEL_CHARACTERS on the axis (the full name in the hover), so the bars keep their width."""
    probabilities = np.asarray(probabilities, dtype=np.float64)
    rows = list(range(len(classes)))
    figure = go.Figure(go.Bar(
        x=probabilities, y=rows, orientation="h",
        marker_color=[class_colour(c, i) for i, c in enumerate(classes)],
        text=[f"{p:.1%}" for p in probabilities], textposition="auto",
        customdata=[plotly_text(c) for c in classes],
        hovertemplate="%{customdata}: probability %{x:.4f}<extra></extra>",
    ))
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=90, r=20, t=50, b=50)}, title=title, height=90 + 42 * len(classes),
                         showlegend=False)
    figure.update_xaxes(title_text="probability", range=[0, 1], tickformat=".0%", **GRID)
    figure.update_yaxes(autorange="reversed", tickmode="array", tickvals=rows, automargin=True,
                        ticktext=[plotly_text(label) for label in short_labels(classes)])
    return figure


def _add_unit_heatmaps(figure: go.Figure, arrays: Mapping[str, np.ndarray], names: Sequence[str], units: np.ndarray,
                       labels: Sequence[str]) -> None:
    """One heatmap (units x steps) per name in rows 2, 3, ... of `figure`, each with its colour bar beside its row."""
    x = np.arange(len(labels))
    for position, name in enumerate(names, start=2):
        values = np.asarray(arrays[name], dtype=np.float32)[:, units].T  # (units, steps)
        figure.add_trace(go.Heatmap(
            z=values, x=x, y=units.astype(np.int32), name=TRACE_LABELS.get(name, name),
            **heatmap_colour_range(name, np.asarray(arrays[name])),
            customdata=[labels] * len(units),
            colorbar=panel_colorbar(figure, position),
            hovertemplate=f"“%{{customdata}}” (word %{{x}})<br>unit %{{y}}<br>{TRACE_LABELS.get(name, name)} = %{{z:.3f}}<extra></extra>",
        ), row=position, col=1)
        figure.update_yaxes(title_text="unit", row=position, col=1, showgrid=False)


def word_by_word(
    tokens: Sequence[str],
    unknown: Sequence[int],
    lines: Mapping[str, np.ndarray],
    arrays: Mapping[str, np.ndarray],
    *,
    title: str,
    names: Sequence[str] | None = None,
    lines_title: str = "prediction if the text ended here",
    colours: Sequence[str] | None = None,
    token_name: str = "word",
) -> go.Figure:
    """Top: probability series per step, e.g. each class's probability if the text ended after this word (`lines`
    name -> (steps,), NaN where undefined). Below: one heatmap (units x steps) per gate or state, `arrays`
    name -> (steps, H). Unknown tokens are marked ⚠ on the axis and by an orange band."""
    names = list(names or arrays)
    steps = len(tokens)
    labels = token_labels(tokens, unknown)
    hidden = np.asarray(arrays[names[0]]).shape[1]
    units = select_units([np.asarray(arrays[n]) for n in names], MAX_WORD_UNITS)
    rows = len(names) + 1
    figure = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.045, row_heights=[0.9] + [1.0] * len(names),
        subplot_titles=[lines_title] + [TRACE_LABELS.get(n, n) for n in names],
    )
    x = np.arange(steps)
    for index, ((full_name, series), name) in enumerate(zip(lines.items(), short_labels(lines, 2 * LABEL_CHARACTERS))):
        name, full_name = plotly_text(name), plotly_text(full_name)
        figure.add_trace(go.Scatter(
            x=x, y=np.asarray(series, dtype=np.float64), mode="lines+markers", name=name,
            line=dict(color=colours[index] if colours else OKABE_ITO[index % len(OKABE_ITO)], width=2), marker=dict(size=5),
            customdata=labels, hovertemplate=f"after “%{{customdata}}”<br>{full_name} = %{{y:.3f}}<extra></extra>",
        ), row=1, col=1)
    figure.update_yaxes(title_text="probability", range=[0, 1], row=1, col=1, **GRID)
    _add_unit_heatmaps(figure, arrays, names, units, labels)
    # Shapes set in one go: Plotly's add_vrect on a subplot figure scans every subplot and took ~1.5 s per band.
    figure.update_layout(shapes=[_band(step - 0.5, step + 0.5, 0.25, "above") for step in unknown])
    shown = f"{len(units)} of {hidden} units" if len(units) < hidden else f"{hidden} units"
    figure.update_layout(
        **{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=80, b=110),
           "legend": dict(orientation="h", yanchor="bottom", y=1.0, xanchor="right", x=1.0)},
        title=dict(text=f"{title} <span style='font-size:12px;color:#666'>({shown})</span>"),
        height=150 * len(names) + 260,
    )
    figure.update_xaxes(**_categorical_ticks(labels), row=rows, col=1)
    figure.update_xaxes(title_text=f"{token_name} (⚠ = unknown to the model, read as the unknown token)", row=rows, col=1)
    figure.update_annotations(font_size=12, xanchor="left", x=0)
    return figure


def depth_unit(
    characters: Sequence[str],
    depth: np.ndarray,
    unit_values: np.ndarray,
    *,
    unit: int,
    correlation: float,
    arch: str = "lstm",
    quoted: np.ndarray | None = None,
    title: str | None = None,
    value_label: str = "cell state cₜ",
    feature: str = "nesting depth",
) -> go.Figure:
    """The true nesting depth after each character (step line, left axis) against the value of the unit that
    follows it best (right axis). Quoted stretches are shaded."""
    steps = len(characters)
    x = np.arange(steps)
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_trace(go.Scatter(
        x=x, y=np.asarray(depth, dtype=np.float32), mode="lines", line=dict(shape="hv", color="#000000", width=2),
        name=f"true {feature}", customdata=list(characters),
        hovertemplate=f"after “%{{customdata}}” (t=%{{x}})<br>{feature} %{{y:.0f}}<extra></extra>",
    ), secondary_y=False)
    figure.add_trace(go.Scatter(
        x=x, y=np.asarray(unit_values, dtype=np.float32), mode="lines", line=dict(color=arch_colour(arch), width=2),
        name=f"unit {unit} {value_label} (r = {correlation:+.2f})", customdata=list(characters),
        hovertemplate=f"after “%{{customdata}}” (t=%{{x}})<br>unit {unit}: %{{y:.3f}}<extra></extra>",
    ), secondary_y=True)
    if quoted is not None:
        quoted = np.asarray(quoted) > 0.5
        edges = np.flatnonzero(np.diff(np.r_[0, quoted.astype(int), 0]))
        figure.update_layout(shapes=[_band(start - 0.5, end - 0.5, 0.18, "below") for start, end in zip(edges[::2], edges[1::2])])
        if len(edges):
            figure.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name="inside quotes (shaded)",
                                        marker=dict(color=MARKER_COLOUR, symbol="square", size=12, opacity=0.4)))
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=70, t=60, b=130)},
                         title=title or f"Unit {unit} follows the {feature} (correlation {correlation:+.2f})", height=420)
    axis = {"nesting depth": "nesting depth (open brackets)", "inside quotes": "inside quotes (1 = yes)"}.get(feature, feature)
    figure.update_yaxes(title_text=axis, secondary_y=False, rangemode="tozero", dtick=1, **GRID)
    figure.update_yaxes(title_text=f"unit {unit} {value_label}", secondary_y=True, showgrid=False)
    figure.update_xaxes(title_text="character", **_categorical_ticks(list(characters)), **GRID)
    return figure
