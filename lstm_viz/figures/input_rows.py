"""An example's inputs drawn on the same time axis as a cell's internals: its values and marked steps, or its tokens
as text, in a row of a subplot figure, and a guide at each marked step across every panel."""
from __future__ import annotations

from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go

from lstm_viz.figures.style import INPUT_COLOUR, MARKER_COLOUR, UNKNOWN_TOKEN_COLOUR


def _binary(values: np.ndarray) -> bool:
    return bool(np.isin(values, (0.0, 1.0)).all())


def event_steps(channels: Mapping[str, np.ndarray]) -> np.ndarray:
    """Steps where a binary channel fires (adding: the markers): worth a vertical guide on every panel."""
    for values in channels.values():
        values = np.asarray(values)
        if _binary(values) and 0 < values.sum() < len(values):
            return np.flatnonzero(values > 0.5)
    return np.array([], dtype=int)


def add_input_traces(figure: go.Figure, channels: Mapping[str, np.ndarray], row: int) -> str:
    """Draw the example's inputs in `row`; returns a y-axis title."""
    continuous = {name: np.asarray(v, dtype=np.float32) for name, v in channels.items() if not _binary(np.asarray(v))}
    binary = {name: np.asarray(v) for name, v in channels.items() if _binary(np.asarray(v))}
    if continuous:
        name, values = next(iter(continuous.items()))
        steps = np.arange(len(values), dtype=np.int32)
        if name == "token":
            # Discrete symbols: a dot per non-blank token reads better than a line through blanks.
            shown = np.flatnonzero(values > 0)
            figure.add_trace(go.Scatter(
                x=steps[shown], y=values[shown], mode="markers+text", text=[f"{int(v)}" for v in values[shown]],
                textposition="top center", name="input token", marker=dict(color=INPUT_COLOUR, size=7),
                hovertemplate="t=%{x}<br>token %{y}<extra>input</extra>", showlegend=False,
            ), row=row, col=1)
            return "token"
        figure.add_trace(go.Scatter(
            x=steps, y=values, mode="lines", name=f"input {name}", line=dict(color=INPUT_COLOUR, width=1.2),
            hovertemplate=f"t=%{{x}}<br>{name} %{{y:.3f}}<extra>input</extra>", showlegend=False,
        ), row=row, col=1)
        for binary_name, flags in binary.items():
            marked = np.flatnonzero(flags > 0.5)
            figure.add_trace(go.Scatter(
                x=steps[marked], y=values[marked], mode="markers", name=f"{binary_name}ed {name}",
                marker=dict(color=MARKER_COLOUR, size=12, symbol="diamond", line=dict(color="black", width=1)),
                hovertemplate=f"t=%{{x}}<br>marked {name} %{{y:.3f}}<extra>{binary_name}</extra>", showlegend=False,
            ), row=row, col=1)
        return "input"
    for name, values in binary.items():
        steps = np.arange(len(values), dtype=np.int32)
        figure.add_trace(go.Scatter(x=steps, y=values.astype(np.float32), mode="lines", name=name,
                                    line=dict(color=INPUT_COLOUR)), row=row, col=1)
    return "input"


def add_input_row(figure: go.Figure, channels: Mapping[str, np.ndarray], tokens: Sequence[str] | None,
                  unknown: Sequence[int], row: int) -> str:
    """The example's input on the shared time axis: its tokens as text for token tasks (a sentence's words, not
    the 0/1 spikes of their one-hot codes), else values and markers. Returns a y-axis title."""
    if tokens is None:
        return add_input_traces(figure, channels, row=row)
    steps = np.arange(len(tokens), dtype=np.int32)
    unknown_set = set(int(i) for i in unknown)
    colours = [UNKNOWN_TOKEN_COLOUR if t in unknown_set else INPUT_COLOUR for t in range(len(tokens))]
    labels = [f"{token} (unknown)" if t in unknown_set else token for t, token in enumerate(tokens)]
    figure.add_trace(go.Scatter(
        x=steps, y=np.zeros(len(tokens), dtype=np.float32), mode="text", text=list(tokens),
        textfont=dict(color=colours, size=12), customdata=labels, name="input token", showlegend=False,
        hovertemplate="t=%{x}<br>token %{customdata}<extra>input</extra>",
    ), row=row, col=1)
    figure.update_yaxes(showticklabels=False, range=[-1, 1], row=row, col=1)
    return "token"


def add_event_guides(figure: go.Figure, event_steps: np.ndarray) -> None:
    """A dotted vertical line at each event step (the marked inputs), across every panel."""
    for step in event_steps:
        figure.add_shape(type="line", xref="x", yref="paper", x0=float(step), x1=float(step), y0=0, y1=1,
                         line=dict(color=MARKER_COLOUR, width=1.5, dash="dot"), layer="above")
