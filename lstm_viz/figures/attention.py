"""Figures of a Transformer's attention: plain arrays in, `go.Figure` out, no Streamlit.

`attention_map` is one head's T x T weights (Gates and memory); `attention_step_bars` is one position's scores and
softmax weights over the positions it may look at (Inside the cell). Weights lie in [0, 1] and go out as float32;
the masked future (above the diagonal) is left blank, not drawn as zero, so the causal mask shows as what it is.
"""
from __future__ import annotations

from typing import Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.labels import plotly_text, short_labels
from lstm_viz.figures.style import BASE_LAYOUT, GATE_COLORSCALE, GRID, INPUT_COLOUR, MARKER_COLOUR, OKABE_ITO

# A T x T map is T^2 numbers resent on every rerun: 200 x 200 float32 is 160 KB. Longer inputs show their last
# MAX_ATTENTION_POSITIONS positions (the readout reads the last one).
MAX_ATTENTION_POSITIONS = 200
TOKEN_TICKS = 40  # at most this many labelled ticks per axis; every position still has its label in the hover


def shown_window(steps: int, limit: int = MAX_ATTENTION_POSITIONS) -> int:
    """The first position an attention map of a `steps`-long input shows (0 unless it is longer than `limit`)."""
    return max(0, steps - limit)


def _position_labels(first: int, steps: int, labels: Sequence[str] | None) -> list:
    """Axis values: the positions, or for token inputs "position · token" (unique, so a category axis keeps them)."""
    if labels is None:
        return list(range(first, steps))
    return [f"{t} · {plotly_text(label)}" for t, label in zip(range(first, steps), short_labels(labels[first:steps], 16))]


def attention_map(weights: np.ndarray, *, title: str, labels: Sequence[str] | None = None,
                  marked: Sequence[int] = (), subtitle: str | None = None, height: int = 640) -> go.Figure:
    """One head's attention (T, T): row t is what query position t gives each key position s <= t (rows sum to 1).

    The input is on both axes (its tokens, else its step numbers); `marked` steps (adding: the two marked numbers)
    get orange guides on the key axis. Hover gives both positions and the weight to 6 decimals. Colour: Viridis
    from 0 to the largest weight shown, so a head that spreads its attention thinly is still readable."""
    weights = np.asarray(weights, dtype=np.float64)
    steps = weights.shape[0]
    first = shown_window(steps)
    shown = weights[first:, first:].copy()
    shown[np.triu_indices_from(shown, k=1)] = np.nan  # the future: masked, not "zero attention"
    axis = _position_labels(first, steps, labels)
    top = float(np.nanmax(shown)) if np.isfinite(shown).any() else 1.0
    figure = go.Figure(go.Heatmap(
        z=shown.astype(np.float32), x=axis, y=axis, colorscale=GATE_COLORSCALE, zmin=0.0, zmax=max(top, 1e-6),
        colorbar=dict(title=dict(text="attention<br>weight", side="top"), thickness=14),
        hovertemplate="query t = %{y}<br>key s = %{x}<br>weight a<sub>t,s</sub> = %{z:.6f}<extra></extra>",
        hoverongaps=False, name="attention",
    ))
    category = labels is not None
    for step in marked:
        if first <= int(step) < steps:
            position = axis[int(step) - first]
            # "y domain", not "paper": the square cells shrink the plot inside the figure, and a guide spanning the
            # paper stuck out above and below the map.
            figure.add_shape(type="line", xref="x", yref="y domain", x0=position, x1=position, y0=0, y1=1,
                             line=dict(color=MARKER_COLOUR, width=1.5, dash="dot"), layer="above")
    window = f" (the last {steps - first} of {steps} positions)" if first else ""
    tick_step = max(1, int(np.ceil(len(axis) / TOKEN_TICKS)))
    ticks = dict(type="category", tickmode="array", tickvals=axis[::tick_step], tickfont=dict(size=10)) if category else {}
    figure.update_layout(
        **{**BASE_LAYOUT, "margin": dict(l=90, r=20, t=70, b=90)},
        title=dict(text=f"{title}{window}", font=dict(size=15),
                   **({"subtitle": dict(text=subtitle)} if subtitle else {})), height=height, showlegend=False,
        # constrain="domain": the square cells shrink the plot, not stretch an axis past the positions (a wide
        # presenter-mode chart showed query positions -20 … 120 for an input of 100).
        xaxis=dict(title=dict(text="key position s (the input attended to)"), showgrid=False, constrain="domain",
                   **ticks),
        yaxis=dict(title=dict(text="query position t (attending)"), autorange="reversed", showgrid=False,
                   scaleanchor="x", constrain="domain", **ticks),
    )
    return figure


def attention_step_bars(scores: np.ndarray, weights: np.ndarray, *, title: str,
                        labels: Sequence[str] | None = None) -> go.Figure:
    """One query position t: its scaled scores q_t . k_s / sqrt(d) (top) and their softmax (bottom) over every key
    position s = 0..t, on one shared position axis. Hover gives each exact value."""
    scores = np.asarray(scores, dtype=np.float64)
    weights = np.asarray(weights, dtype=np.float64)
    positions = np.arange(len(scores), dtype=np.int32)
    names = [plotly_text(label) for label in short_labels(labels)] if labels is not None else [str(s) for s in positions]
    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.12,
                           subplot_titles=["score z<sub>t,s</sub> = q<sub>t</sub> · k<sub>s</sub> / √d",
                                           "weight a<sub>t,s</sub> = softmax over s of the scores"])
    figure.add_trace(go.Bar(
        x=positions, y=scores.astype(np.float32), customdata=names, name="score",
        marker=dict(color=[OKABE_ITO[0] if value >= 0 else OKABE_ITO[1] for value in scores]),
        hovertemplate="key s = %{x} (%{customdata})<br>score = %{y:.6f}<extra></extra>",
    ), row=1, col=1)
    figure.add_trace(go.Bar(
        x=positions, y=weights.astype(np.float32), customdata=names, name="weight", marker=dict(color=INPUT_COLOUR),
        hovertemplate="key s = %{x} (%{customdata})<br>weight = %{y:.6f}<extra></extra>",
    ), row=2, col=1)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=70, r=20, t=80, b=60)}, height=460, showlegend=False,
                         title=dict(text=title, font=dict(size=15)))
    figure.update_yaxes(title_text="score", row=1, col=1, **GRID)
    figure.update_yaxes(title_text="weight", rangemode="tozero", row=2, col=1, **GRID)
    figure.update_xaxes(**GRID)
    tick_labels = {} if labels is None else dict(tickmode="array", tickvals=positions[:: max(1, len(positions) // 30)],
                                                 ticktext=names[:: max(1, len(positions) // 30)])
    figure.update_xaxes(title_text="key position s (0 … t)", row=2, col=1, **tick_labels)
    figure.update_annotations(font_size=12, xanchor="left", x=0)
    return figure
