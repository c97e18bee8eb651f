"""How far each gate moves under int8: the gates recomputed (lstm_viz.core.traces) once from the float32 weights and
once from the int8 weights dequantised (torch.ao's dynamic quantisation: the same per-tensor scales its int8 file
holds), on the same inputs.

This isolates the rounding of the weights. Dynamic quantisation also rounds each matmul's input to int8 at run time;
that part is in the report's max |diff| and metric, not in these gates. For the tanh RNN torch.ao quantises no
recurrent weight, so its gates do not move here (`recurrent_quantised` says so).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from torch import Tensor

from lstm_viz.compression.deployable import deployable, sequence_model_state
from lstm_viz.compression.quantisation import dequantised_state, torch_int8
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.traces import trace

STATE_NAMES = ("cell_state", "hidden_state")


@dataclass
class GateShift:
    arch: str
    gates: tuple[str, ...]  # trace names of the gates (i, f, g, o for an LSTM), in the cell's order
    before: dict[str, np.ndarray]  # gate -> every value over the inputs, every step and unit (top layer), float32
    after: dict[str, np.ndarray]
    state_name: str  # the state drawn for one example: the LSTM's cell state, else the hidden state
    state_before: np.ndarray  # (T, H) of the first input, top layer
    state_after: np.ndarray
    recurrent_quantised: bool

    def largest_shift(self) -> dict[str, float]:
        """gate -> max |after - before| over every value."""
        return {gate: float(np.abs(self.after[gate] - self.before[gate]).max()) for gate in self.gates}


def dequantised_model(model: SequenceModel) -> tuple[SequenceModel, bool]:
    """A SequenceModel holding `model`'s int8 weights dequantised, and whether any recurrent weight was int8."""
    plain = deployable(model)
    quantised = torch_int8(plain)
    state = dequantised_state(quantised, sequence_model_state(plain))
    rounded = SequenceModel(model.config)
    rounded.load_state_dict(state, strict=True)
    float_state = sequence_model_state(plain)
    recurrent = any(name.startswith("recurrent.weight") and not (state[name] == float_state[name]).all()
                    for name in state)
    return rounded.eval(), recurrent


def gate_shift(model: SequenceModel, inputs: Tensor) -> GateShift:
    """The gates and the state of `inputs` (B, T, D) through the float32 and the dequantised int8 weights."""
    rounded, recurrent_quantised = dequantised_model(model)
    before, after = trace(model, inputs), trace(rounded, inputs)
    gates = tuple(name for name in before.layers[-1] if name not in STATE_NAMES)
    state_name = "cell_state" if "cell_state" in before.layers[-1] else "hidden_state"
    return GateShift(
        arch=model.config.arch, gates=gates,
        before={gate: before[gate].ravel() for gate in gates}, after={gate: after[gate].ravel() for gate in gates},
        state_name=state_name, state_before=before[state_name][0], state_after=after[state_name][0],
        recurrent_quantised=recurrent_quantised,
    )
