"""Glue for the "Inside the cell" page: its view settings, the per-checkpoint trace it reads, and the words that say
what the input at step t is. The numbers come from lstm_viz.analysis.cell_step; the figures from lstm_viz.figures.cell."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from lstm_viz.core.architectures import layer_params
from lstm_viz.analysis.cell_step import CellStep, layer_input_of, sandbox_step, step_from_trace
from lstm_viz.figures.training import memory_units, most_active_units
from lstm_viz.core.traces import Trace, trace
from lstm_viz.core.trainer import Checkpoint, Trainer
from lstm_viz.figures.labels import plotly_text
from . import views
from .page_schemas import INSIDE_CELL, SANDBOX_DEFAULTS, SANDBOX_RANGES  # noqa: F401 - the page's sliders
from .plain import plain
from .state import ExploredRun

# The page's session-state keys and their defaults, all kept in the address (page_schemas.INSIDE_CELL). -1 means
# "pick for me": the last checkpoint, the first step the task marks (else the last step), the unit that holds its
# memory best.
DEFAULTS = INSIDE_CELL.defaults
SANDBOX_BIAS_KEYS = {"input_gate": "cell_sb_bi", "forget_gate": "cell_sb_bf", "candidate": "cell_sb_bg",
                     "output_gate": "cell_sb_bo"}


@dataclass(frozen=True)
class CheckpointData:
    trace: Trace  # of the run's shown examples (trainer.trace_inputs)
    params: list[dict[str, np.ndarray]]  # per layer, float64 copies of the weights at this checkpoint


def checkpoint_data(explored: ExploredRun, arch: str, checkpoint: Checkpoint) -> CheckpointData:
    """The trace and weights of one checkpoint, memoised per session (a checkpoint never changes)."""
    def build() -> CheckpointData:
        model = explored.model(arch)
        model.load_state_dict(checkpoint.state_dict)
        params = [
            {name: value.detach().double().numpy().copy() for name, value in layer_params(model.recurrent, layer).items()}
            for layer in range(model.config.num_layers)
        ]
        return CheckpointData(trace(model, explored.trainer.trace_inputs), params)

    return views._memo(("cell", explored.run_key, arch, checkpoint.step), build)


def checkpoint_at(trainer: Trainer, arch: str, step: int) -> Checkpoint:
    """The architecture's checkpoint at training step `step`, or its latest before it (an architecture that solved
    the task early stopped training there), or its first."""
    checkpoints = trainer.runs[arch].checkpoints
    earlier = [c for c in checkpoints if c.step <= step]
    return earlier[-1] if earlier else checkpoints[0]


def step_of(explored: ExploredRun, arch: str, checkpoint: Checkpoint, example: int, layer: int, t: int) -> CellStep:
    data = checkpoint_data(explored, arch, checkpoint)
    arrays = {name: values[example] for name, values in data.trace.layers[layer].items()}
    layer_input = layer_input_of(data.trace, explored.trainer.trace_inputs.numpy(), example, layer)
    return step_from_trace(arch, data.params[layer], layer_input, arrays, t)


def default_step(trainer: Trainer, example: int) -> int:
    """The first step a binary input channel marks (adding: the first marker), else the last step."""
    inputs = trainer.trace_inputs[example].numpy()
    for values in trainer.task.input_channels(inputs).values():
        values = np.asarray(values)
        if np.isin(values, (0.0, 1.0)).all() and 0 < values.sum() < len(values):
            return int(np.flatnonzero(values > 0.5)[0])
    return len(inputs) - 1


def default_unit(explored: ExploredRun, arch: str, checkpoint: Checkpoint, example: int, layer: int) -> int:
    """The LSTM unit with the highest forget gate over the example (it keeps its memory), else the most active."""
    arrays = checkpoint_data(explored, arch, checkpoint).trace.layers[layer]
    if "forget_gate" in arrays:
        return int(memory_units(arrays["forget_gate"][example], 1)[0])
    return int(most_active_units(arrays["hidden_state"][example], 1)[0])


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
