"""Figures of the Translate page: the attention alignment (source words x target words), gates and states per token,
the final encoder state a decoder without attention gets, and exact match by source length. Plain data in,
go.Figure out.

Token axes are positions labelled with the tokens (a word can occur twice, "03 - 03": category axes would merge
them); unknown source words are drawn in the unknown-token colour.
"""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.labels import plotly_text, short_labels
from lstm_viz.figures.style import (
    BASE_LAYOUT, BASELINE_COLOUR, GATE_COLORSCALE, GRID, MAX_HEATMAP_UNITS, OKABE_ITO, TRACE_LABELS,
    UNKNOWN_TOKEN_COLOUR, heatmap_colour_range, select_units,
)

TOKEN_CHARACTERS = 14
PX_PER_TOKEN = 34


def token_ticks(tokens: Sequence[str], unknown: Sequence[int] = ()) -> dict:
    """tickvals/ticktext keywords labelling positions 0.. with the (escaped, shortened) tokens."""
    labels = short_labels(tokens, TOKEN_CHARACTERS)
    text = [f"<span style='color:{UNKNOWN_TOKEN_COLOUR}'>{plotly_text(label)} (unknown)</span>" if i in unknown
            else plotly_text(label) for i, label in enumerate(labels)]
    return dict(tickmode="array", tickvals=list(range(len(tokens))), ticktext=text)


def attention_heatmap(source_tokens: Sequence[str], target_tokens: Sequence[str], weights: np.ndarray, *,
                      title: str, unknown: Sequence[int] = ()) -> go.Figure:
    """weights (target steps, source tokens), each row summing to 1: where the decoder looked to write each word."""
    weights = np.asarray(weights, dtype=np.float64)
    hover = [[f"{plotly_text(t)} ← {plotly_text(s)}" for s in source_tokens] for t in target_tokens]
    figure = go.Figure(go.Heatmap(
        z=weights, x=list(range(len(source_tokens))), y=list(range(len(target_tokens))), customdata=hover,
        colorscale=GATE_COLORSCALE, zmin=0.0, zmax=1.0, colorbar=dict(title=dict(text="weight"), thickness=12),
        hovertemplate="%{customdata}<br>attention weight = %{z:.4f}<extra></extra>",
    ))
    figure.update_layout(**BASE_LAYOUT, title=dict(text=title),
                         height=max(260, 120 + PX_PER_TOKEN * len(target_tokens)))
    figure.update_xaxes(title_text="source token (encoder position)", **token_ticks(source_tokens, unknown))
    figure.update_yaxes(title_text="written token (decoder step)", autorange="reversed", **token_ticks(target_tokens))
    return figure


def token_state_heatmap(tokens: Sequence[str], values: np.ndarray, name: str, *, title: str,
                        unknown: Sequence[int] = ()) -> go.Figure:
    """values (tokens, units) of one gate or state: units top down, one column per token read (`unknown`: the
    positions read as <unk>, marked as on the attention map)."""
    values = np.asarray(values, dtype=np.float32)
    units = np.sort(select_units([values], MAX_HEATMAP_UNITS))
    label = TRACE_LABELS.get(name, name)
    figure = go.Figure(go.Heatmap(
        z=values[:, units].T, x=list(range(len(tokens))), y=[str(u) for u in units],
        # The colour bar's title along its side: on top, a long one ("cell state c_t") is cut at the figure's edge.
        **heatmap_colour_range(name, values), colorbar=dict(title=dict(text=label, side="right"), thickness=12),
        customdata=[[plotly_text(t) for t in tokens]] * len(units),
        hovertemplate=f"token %{{customdata}}<br>unit %{{y}}<br>{label} = %{{z:.4f}}<extra></extra>",
    ))
    figure.update_layout(**BASE_LAYOUT, title=dict(text=title), height=max(300, 140 + 7 * len(units)))
    figure.update_xaxes(title_text="token", **token_ticks(tokens, unknown))
    figure.update_yaxes(title_text=f"unit (of {values.shape[1]})", type="category")
    return figure


def final_state_bars(state: Mapping[str, np.ndarray], *, title: str) -> go.Figure:
    """The encoder's final hidden (and cell) state, unit by unit: all a decoder without attention knows. One row
    per state, each on its own scale: h is squashed into (-1, 1) while c is not, so on one axis h's bars vanish."""
    names = list(state)
    figure = make_subplots(rows=len(names), cols=1, shared_xaxes=True, vertical_spacing=0.12)
    for row, (colour, name) in enumerate(zip(OKABE_ITO, names), start=1):
        values = np.asarray(state[name], dtype=np.float64)
        label = TRACE_LABELS.get(name, name)
        figure.add_trace(go.Bar(x=np.arange(len(values)), y=values, name=f"{label} ({len(values)} units)",
                                marker_color=colour, hovertemplate=f"unit %{{x}}<br>{label} = %{{y:.4f}}<extra></extra>"),
                         row=row, col=1)
        figure.update_yaxes(title_text=f"{label.split(' ')[-1]} (no unit)", row=row, col=1, **GRID)
    figure.update_layout(**BASE_LAYOUT, title=dict(text=title), height=200 + 150 * len(names), bargap=0.15)
    figure.update_xaxes(**GRID)
    figure.update_xaxes(title_text="unit", row=len(names), col=1)
    return figure


def exact_match_by_length(rows: Mapping[str, Sequence[Mapping]], *, title: str) -> go.Figure:
    """{series name: [{"source_tokens": bucket label, "exact_match": fraction, "count": n}, ...]}: one line each;
    a series named like a baseline is drawn grey and dashed."""
    figure = go.Figure()
    colours = iter(OKABE_ITO)
    for name, series in rows.items():
        baseline = "baseline" in name
        colour = BASELINE_COLOUR if baseline else next(colours)
        figure.add_trace(go.Scatter(
            x=[r["source_tokens"] for r in series], y=[100 * r["exact_match"] for r in series], name=name,
            mode="lines+markers", line=dict(color=colour, dash="dash" if baseline else "solid"),
            customdata=[r["count"] for r in series],
            hovertemplate=f"{plotly_text(name)}<br>%{{x}} source tokens<br>exact match %{{y:.1f}}% "
                          "of %{customdata} test examples<extra></extra>"))
    figure.update_layout(**BASE_LAYOUT, title=dict(text=title), height=380)
    figure.update_xaxes(title_text="source length (tokens)", type="category", **GRID)
    figure.update_yaxes(title_text="exact match (% of test examples)", range=[-3, 103], **GRID)
    return figure
