"""The per-checkpoint traces of the "Inside the cell" page, memoised per server for the explored run (a checkpoint
never changes), and what is read from them: one cell step, the unit that holds the memory."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lstm_viz.analysis.attention_step import AttentionStep, attention_step
from lstm_viz.analysis.cell_step import CellStep, layer_input_of, step_from_trace
from lstm_viz.core.architectures import layer_params
from lstm_viz.core.traces import Trace, trace
from lstm_viz.core.trainer import Checkpoint
from lstm_viz.analysis.memory import memory_units, most_active_units
from lstm_viz.ui.memo import explorer_memo
from lstm_viz.ui.session_run import ExploredRun


@dataclass(frozen=True)
class CheckpointData:
    trace: Trace  # of the run's shown examples (trainer.trace_inputs)
    params: list[dict[str, np.ndarray]]  # per layer, float64 copies of the weights at this checkpoint


def checkpoint_data(explored: ExploredRun, arch: str, checkpoint: Checkpoint) -> CheckpointData:
    """The trace and weights of one checkpoint, memoised per server for the explored run (a checkpoint never
    changes)."""
    def build() -> CheckpointData:
        model = explored.model(arch)
        model.load_state_dict(checkpoint.state_dict)
        # A Transformer has no cell weights to read this way: its step is lstm_viz.analysis.attention_step.
        params = [
            {name: value.detach().double().numpy().copy() for name, value in layer_params(model.recurrent, layer).items()}
            for layer in range(model.config.num_layers)
        ] if model.architecture.recurrent else []
        return CheckpointData(trace(model, explored.trainer.trace_inputs), params)

    return explorer_memo(explored, ("cell", arch, checkpoint.step), build)


def step_of(explored: ExploredRun, arch: str, checkpoint: Checkpoint, example: int, layer: int, t: int) -> CellStep:
    data = checkpoint_data(explored, arch, checkpoint)
    arrays = {name: values[example] for name, values in data.trace.layers[layer].items()}
    layer_input = layer_input_of(data.trace, explored.trainer.trace_inputs.numpy(), example, layer)
    return step_from_trace(arch, data.params[layer], layer_input, arrays, t)


def attention_step_of(explored: ExploredRun, arch: str, checkpoint: Checkpoint, example: int, layer: int, head: int,
                      t: int) -> AttentionStep:
    """A Transformer's position t taken apart (float64, from the checkpoint's weights), memoised per server."""
    def build() -> AttentionStep:
        model = explored.model(arch)
        model.load_state_dict(checkpoint.state_dict)
        return attention_step(model, explored.trainer.trace_inputs[example].numpy(), layer, head, t)

    return explorer_memo(explored, ("attention step", arch, checkpoint.step, example, layer, head, t), build)


def default_unit(explored: ExploredRun, arch: str, checkpoint: Checkpoint, example: int, layer: int) -> int:
    """The LSTM unit with the highest forget gate over the example (it keeps its memory), else the most active."""
    arrays = checkpoint_data(explored, arch, checkpoint).trace.layers[layer]
    if "forget_gate" in arrays:
        return int(memory_units(arrays["forget_gate"][example], 1)[0])
    return int(most_active_units(arrays["hidden_state"][example], 1)[0])
