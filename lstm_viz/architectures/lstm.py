"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

PyTorch's gate order in the stacked weight matrices is input, forget, candidate (g), output.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Architecture, LayerParams, State


# The trace's gate order inside its buffer: the three sigmoid gates side by side, so one call squashes
# them all and one tanh the candidate. PyTorch's weights are stacked i, f, g, o.
SIGMOID_FIRST = (0, 1, 3, 2)


def trace_layer(params: LayerParams, layer_input: Tensor) -> dict[str, Tensor]:
    # Run the recurrence itself, keeping every gate: measured faster than PyTorch's fused forward followed
    # by rebuilding the gates from its h_t (which costs a second matmul of the forward's size, plus passes
    # over the whole (T, B, 4H) block that a per-step loop makes while the step's data is in cache).
    steps, batch, input_size = layer_input.shape
    hidden_size = params["weight_hh"].shape[1]

    def reordered(tensor: Tensor) -> Tensor:
        return torch.cat([tensor[gate * hidden_size : (gate + 1) * hidden_size] for gate in SIGMOID_FIRST])

    preactivation = torch.addmm(reordered(params["bias_ih"] + params["bias_hh"]),
                                layer_input.reshape(steps * batch, input_size),
                                reordered(params["weight_ih"]).t()).view(steps, batch, 4 * hidden_size)
    recurrent_weight = reordered(params["weight_hh"]).t().contiguous()
    input_gate, forget_gate, output_gate, candidate = preactivation.split(hidden_size, dim=-1)
    cell_state = torch.empty(steps, batch, hidden_size, dtype=layer_input.dtype)
    hidden_state = torch.empty_like(cell_state)
    hidden = cell = layer_input.new_zeros(batch, hidden_size)
    for a, sigmoid_block, i, f, o, g, c, h in zip(
        preactivation.unbind(0), preactivation[..., : 3 * hidden_size].unbind(0), input_gate.unbind(0),
        forget_gate.unbind(0), output_gate.unbind(0), candidate.unbind(0), cell_state.unbind(0), hidden_state.unbind(0),
    ):
        a.addmm_(hidden, recurrent_weight)
        sigmoid_block.sigmoid_()
        g.tanh_()
        cell = torch.mul(i, g, out=c).addcmul_(f, cell)  # c_t = i_t g_t + f_t c_{t-1}
        hidden = torch.tanh(cell, out=h).mul_(o)  # h_t = o_t tanh(c_t)
    return {
        "input_gate": input_gate,
        "forget_gate": forget_gate,
        "candidate": candidate,
        "output_gate": output_gate,
        "cell_state": cell_state,
        "hidden_state": hidden_state,
    }


def step(params: LayerParams, input_projection: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
    hidden, cell = state
    preactivation = input_projection + hidden @ params["weight_hh"].t() + params["bias_hh"]
    i, f, g, o = preactivation.chunk(4, dim=-1)
    input_gate, forget_gate, candidate, output_gate = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
    cell = forget_gate * cell + input_gate * candidate
    hidden = output_gate * torch.tanh(cell)
    return (hidden, cell), {"forget_gate": forget_gate}


LSTM = Architecture(
    name="lstm",
    label="LSTM",
    fused_class=nn.LSTM,
    cell_class=nn.LSTMCell,
    gate_count=4,
    trace_names=("input_gate", "forget_gate", "candidate", "output_gate", "cell_state", "hidden_state"),
    gate_names=("input_gate", "forget_gate", "output_gate"),
    description="Gated cell state: the forget gate decides what memory survives each step.",
    trace_layer=trace_layer,
    step=step,
    state_size=2,
)
