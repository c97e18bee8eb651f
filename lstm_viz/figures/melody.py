"""Figures of the Music page: a melody as a piano roll (time in beats, pitch with note names) above the gates and
state of the units that track phrase position and pitch height, and the cross-entropy of each architecture beside
the count baselines. Plain arrays in, Figure out.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping, Sequence

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from lstm_viz.figures.style import (
    BASE_LAYOUT, BASELINE_COLOUR, GRID, INPUT_COLOUR, MARKER_COLOUR, OKABE_ITO, TRACE_LABELS, arch_colour, html_label,
)

NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
# Gates in the Okabe-Ito colours the architectures do not use; the state itself in black, thicker.
GATE_COLOURS = {"input_gate": OKABE_ITO[1], "forget_gate": OKABE_ITO[4], "output_gate": OKABE_ITO[3],
                "reset_gate": OKABE_ITO[1], "update_gate": OKABE_ITO[4]}
STATE_COLOUR = "#000000"


def note_label(midi: int) -> str:
    return f"{NOTE_NAMES[int(midi) % 12]}{int(midi) // 12 - 1}"


@dataclass(frozen=True)
class UnitPanel:
    """One unit's traces over the melody's notes: {trace name: (notes,) values}, and what it was found to track."""
    unit: int
    feature: str
    correlation: float
    traces: Mapping[str, np.ndarray]


def _pitch_axis(pitches: np.ndarray) -> dict:
    low, high = int(pitches.min()) - 1, int(pitches.max()) + 2  # room above for the fermata marks
    # Every natural note on a melody's usual range of two octaves or less; C, E and G on a wider one.
    shown = ("C", "E", "G") if high - low > 24 else ("C", "D", "E", "F", "G", "A", "B")
    ticks = [m for m in range(low, high + 1) if NOTE_NAMES[m % 12] in shown]
    return dict(tickmode="array", tickvals=ticks, ticktext=[f"{note_label(m)} ({m})" for m in ticks],
                range=[low - 0.5, high + 0.5], title="pitch (MIDI)")


def _roll_traces(figure: go.Figure, pitches: np.ndarray, onsets: np.ndarray, beats: np.ndarray,
                 fermatas: np.ndarray, primer: int, colour: str, continuation: str) -> None:
    names = [note_label(p) for p in pitches]
    for part, chosen, shade in (("primer", np.arange(len(pitches)) < primer, INPUT_COLOUR),
                                (continuation, np.arange(len(pitches)) >= primer, colour)):
        if not chosen.any():
            continue
        figure.add_trace(go.Bar(
            base=onsets[chosen], x=beats[chosen], y=pitches[chosen], orientation="h", width=0.8,
            marker=dict(color=shade, line=dict(color="white", width=1)), name=part,
            customdata=np.c_[np.array(names)[chosen], onsets[chosen], beats[chosen]],
            hovertemplate="%{customdata[0]} at beat %{customdata[1]:g}, %{customdata[2]:g} beats<extra>" + part + "</extra>",
        ), row=1, col=1)
    if fermatas.any():
        # A marker, not the fermata glyph: few fonts have U+1D110, and a missing glyph draws as a box.
        figure.add_trace(go.Scatter(
            x=onsets[fermatas] + beats[fermatas] / 2, y=pitches[fermatas] + 1.3, mode="markers",
            marker=dict(symbol="triangle-down", size=10, color=MARKER_COLOUR, line=dict(color="#000000", width=0.5)),
            name="fermata (phrase end)", hoverinfo="skip",
        ), row=1, col=1)


def piano_roll(pitches: Sequence[int], beats: Sequence[float], fermatas: Sequence[bool], *, primer: int,
               panels: Sequence[UnitPanel], arch: str, title: str, continuation: str = "sampled") -> go.Figure:
    """The melody's notes as bars (start and length in beats, height the MIDI pitch, the primer's notes grey),
    fermatas marked, the notes after the primer named `continuation` in the legend, and under it one panel per unit: its gates and state at every note, as a step line over the
    note's time. Values belong to the step that reads the note, so each is drawn from the note's start to its end."""
    pitches = np.asarray(pitches, dtype=np.int64)
    beats = np.asarray(beats, dtype=np.float64)
    fermatas = np.asarray(fermatas, dtype=bool)
    onsets = np.concatenate([[0.0], np.cumsum(beats)[:-1]])
    rows = 1 + len(panels)
    figure = make_subplots(
        rows=rows, cols=1, shared_xaxes=True, vertical_spacing=0.07,
        row_heights=[0.5] + [0.5 / max(1, len(panels))] * len(panels),
        subplot_titles=[""] + [f"unit {p.unit}: r = {p.correlation:+.2f} with {p.feature}" for p in panels],
    )
    _roll_traces(figure, pitches, onsets, beats, fermatas, primer, arch_colour(arch), continuation)
    edges = np.concatenate([onsets, [onsets[-1] + beats[-1]]])
    for row, panel in enumerate(panels, start=2):
        for name, values in panel.traces.items():
            values = np.asarray(values, dtype=np.float64)
            is_state = name in ("cell_state", "hidden_state")
            figure.add_trace(go.Scatter(
                x=edges, y=np.r_[values, values[-1]], mode="lines", line_shape="hv",
                line=dict(color=STATE_COLOUR if is_state else GATE_COLOURS.get(name, OKABE_ITO[6]),
                          width=3 if is_state else 1.8, dash=None if is_state else "dot"),
                name=html_label(name), legendgroup=name, showlegend=row == 2,
                hovertemplate=f"{TRACE_LABELS.get(name, name)}, unit {panel.unit}: %{{y:.3f}} at beat %{{x:g}}<extra></extra>",
            ), row=row, col=1)
        figure.update_yaxes(title="value", row=row, col=1, **GRID)
    if primer and primer < len(pitches):
        figure.add_vline(x=onsets[primer], line=dict(color=INPUT_COLOUR, dash="dash", width=1))
    figure.update_yaxes(row=1, col=1, **_pitch_axis(pitches), **GRID)
    figure.update_xaxes(**GRID)
    figure.update_xaxes(title="time (beats: quarter notes)", row=rows, col=1)
    figure.update_layout(**{**BASE_LAYOUT, "margin": dict(l=90, r=20, t=60, b=110)}, title=title,
                         height=330 + 190 * len(panels), barmode="overlay", bargap=0)
    return figure


def cross_entropy_bars(rows: Sequence[tuple[str, str, float, float]], *, title: str) -> go.Figure:
    """Stacked bars of bits per note, pitch (solid) below duration (hatched), one per (key, label, pitch bits,
    duration bits): the architectures in their colours, the count baselines grey; the total written on each bar.
    No legend: its swatches would take the first bar's colour; the title says which part is which."""
    labels = [label for _, label, _, _ in rows]
    colours = [arch_colour(key) if key in ("rnn", "gru", "lstm", "transformer") else BASELINE_COLOUR
               for key, _, _, _ in rows]
    pitch = np.array([p for _, _, p, _ in rows])
    duration = np.array([d for _, _, _, d in rows])
    figure = go.Figure([
        go.Bar(x=labels, y=pitch, name="pitch", marker=dict(color=colours), showlegend=False,
               hovertemplate="%{x}: pitch %{y:.3f} bits per note<extra></extra>"),
        go.Bar(x=labels, y=duration, name="duration", marker=dict(color=colours, pattern_shape="/"), showlegend=False,
               text=[f"{t:.2f}" for t in pitch + duration], textposition="outside",
               hovertemplate="%{x}: duration %{y:.3f} bits per note<extra></extra>"),
    ])
    figure.update_layout(**BASE_LAYOUT, title=title, barmode="stack", height=420,
                         yaxis=dict(title="bits per note", range=[0, 1.15 * float((pitch + duration).max())],
                                    **GRID),
                         xaxis=dict(title="model (test tunes)"))
    return figure
