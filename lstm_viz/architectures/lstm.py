"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

PyTorch's gate order in the stacked weight matrices is input, forget, candidate (g), output.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Architecture, LayerParams, State, previous_hidden


def recompute_layer(params: LayerParams, layer_input: Tensor, hidden: Tensor) -> dict[str, Tensor]:
    batch, steps, hidden_size = hidden.shape
    # tanh(x) = 2*sigmoid(2x) - 1: scaling the candidate rows by 2 lets one sigmoid over all gates serve for g,
    # which on CPU is much cheaper than a separate tanh call.
    row_scale = torch.ones(4 * hidden_size, dtype=hidden.dtype)
    row_scale[2 * hidden_size : 3 * hidden_size] = 2.0
    joint_weight = torch.cat([params["weight_ih"], params["weight_hh"]], dim=1) * row_scale[:, None]  # (4H, D+H)
    joint_bias = (params["bias_ih"] + params["bias_hh"]) * row_scale
    # Gates at step t depend only on x_t and h_{t-1}: one matmul over [x_t, h_{t-1}] covers every step.
    joint_input = torch.cat([layer_input, previous_hidden(hidden)], dim=-1)  # (B, T, D+H)
    preactivation = torch.addmm(joint_bias, joint_input.view(batch * steps, -1), joint_weight.t())
    activated = torch.sigmoid_(preactivation).view(batch, steps, 4 * hidden_size)
    input_gate, forget_gate, candidate, output_gate = activated.split(hidden_size, dim=-1)
    candidate.mul_(2.0).sub_(1.0)

    # c_t = f_t * c_{t-1} + i_t * g_t is a linear recurrence in c alone: a loop of two
    # element-wise ops per step, negligible beside the matmuls above.
    written = input_gate * candidate
    cell_state = torch.empty_like(written)
    cell_previous = torch.zeros_like(written[:, 0])
    for t in range(written.shape[1]):
        cell_previous = torch.addcmul(written[:, t], forget_gate[:, t], cell_previous, out=cell_state[:, t])
    return {
        "input_gate": input_gate,
        "forget_gate": forget_gate,
        "candidate": candidate,
        "output_gate": output_gate,
        "cell_state": cell_state,
        "hidden_state": hidden,
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
    recompute_layer=recompute_layer,
    step=step,
    state_size=2,
)
