"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

PyTorch's gate order in the stacked weight matrices is input, forget, candidate (g), output.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Architecture, LayerParams, State


def recompute_layer(params: LayerParams, layer_input: Tensor, hidden: Tensor) -> dict[str, Tensor]:
    batch, steps, hidden_size = hidden.shape
    input_size = layer_input.shape[-1]
    # Gates at step t depend only on x_t and h_{t-1}, so one matmul of [x_t, h_{t-1}, 1] against
    # [W_ih, W_hh, b] covers every step; the ones column adds the bias inside the matmul, sparing a
    # broadcast copy of a (B*T, 4H) tensor.
    joint_input = torch.empty(batch, steps, input_size + hidden_size + 1, dtype=hidden.dtype)
    joint_input[..., :input_size] = layer_input
    joint_input[:, 0, input_size:-1] = 0.0  # h_{-1} = 0
    joint_input[:, 1:, input_size:-1] = hidden[:, :-1]
    joint_input[..., -1] = 1.0
    joint_weight = torch.cat(
        [params["weight_ih"], params["weight_hh"], (params["bias_ih"] + params["bias_hh"])[:, None]], dim=1
    )  # (4H, D+H+1)
    # tanh(x) = 2*sigmoid(2x) - 1: doubling the candidate rows lets one sigmoid over all gates serve for g,
    # which on CPU is much cheaper than a separate tanh call.
    joint_weight[2 * hidden_size : 3 * hidden_size] *= 2.0
    preactivation = torch.mm(joint_input.view(batch * steps, -1), joint_weight.t())
    activated = torch.sigmoid_(preactivation).view(batch, steps, 4 * hidden_size)
    input_gate, forget_gate, candidate, output_gate = activated.split(hidden_size, dim=-1)
    candidate.mul_(2.0).sub_(1.0)

    # c_t = f_t * c_{t-1} + i_t * g_t is a linear recurrence in c alone: two element-wise ops per step,
    # written time-major so each step's output is one contiguous block.
    written = (input_gate * candidate).transpose(0, 1)
    forget_time_major = forget_gate.transpose(0, 1)
    cell_state = torch.empty(steps, batch, hidden_size, dtype=hidden.dtype)
    cell_previous = torch.zeros(batch, hidden_size, dtype=hidden.dtype)
    for t in range(steps):
        cell_previous = torch.addcmul(written[t], forget_time_major[t], cell_previous, out=cell_state[t])
    return {
        "input_gate": input_gate,
        "forget_gate": forget_gate,
        "candidate": candidate,
        "output_gate": output_gate,
        "cell_state": cell_state.transpose(0, 1),  # (B, T, H) view
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
