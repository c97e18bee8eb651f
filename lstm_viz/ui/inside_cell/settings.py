"""Glue for the "Inside the cell" page: its view settings, the default step, and the words that say what the input
at step t is. Its settings are declared in page_schemas.INSIDE_CELL; the per-checkpoint traces are in traces.py, the
sections in sections.py; the numbers come from lstm_viz.analysis.cell_step."""
from __future__ import annotations

import numpy as np
import streamlit as st

from lstm_viz.analysis.cell_step import CellStep, sandbox_step
from lstm_viz.core.trainer import Trainer
from lstm_viz.figures.labels import plotly_text
from lstm_viz.ui.page_schemas import INSIDE_CELL, SANDBOX_DEFAULTS, SANDBOX_RANGES  # noqa: F401 - the page's sliders
from lstm_viz.ui.plain import plain

# The page's session-state keys and their defaults, all kept in the address (page_schemas.INSIDE_CELL). -1 means
# "pick for me": the last checkpoint, the first step the task marks (else the last step), the unit that holds its
# memory best.
DEFAULTS = INSIDE_CELL.defaults
SANDBOX_BIAS_KEYS = {"input_gate": "cell_sb_bi", "forget_gate": "cell_sb_bf", "candidate": "cell_sb_bg",
                     "output_gate": "cell_sb_bo"}


def default_step(trainer: Trainer, example: int) -> int:
    """The first step a binary input channel marks (adding: the first marker), else the last step."""
    inputs = trainer.trace_inputs[example].numpy()
    for values in trainer.task.input_channels(inputs).values():
        values = np.asarray(values)
        if np.isin(values, (0.0, 1.0)).all() and 0 < values.sum() < len(values):
            return int(np.flatnonzero(values > 0.5)[0])
    return len(inputs) - 1


def input_at(trainer: Trainer, example: int, t: int) -> tuple[str, str]:
    """(a sentence about the input at step t, a short label for the diagram)."""
    inputs = trainer.trace_inputs[example].numpy()
    tokens = trainer.task.input_tokens(inputs)
    if tokens is not None:
        return f"the token **{plain(tokens[t])}**", f"token {plotly_text(tokens[t])}"
    channels = trainer.task.input_channels(inputs)
    parts = [f"{name} {float(values[t]):.4g}" for name, values in channels.items()]
    return ", ".join(f"**{p}**" for p in parts), "(" + ", ".join(f"{float(values[t]):.3g}" for values in channels.values()) + ")"


def sandbox_from_state() -> CellStep:
    state = st.session_state
    biases = {gate: float(state[key]) for gate, key in SANDBOX_BIAS_KEYS.items()}
    return sandbox_step(float(state["cell_sb_x"]), float(state["cell_sb_h"]), float(state["cell_sb_c"]), biases)


def shift_step(delta: int, last: int) -> None:
    """Button callback: one step back or forward, within 0..last."""
    state = st.session_state
    state["cell_step"] = max(0, min(last, int(state.get("cell_step", 0)) + delta))
