"""Long short-term memory (Hochreiter & Schmidhuber 1997, with the forget gate of Gers et al. 2000).

PyTorch's gate order in the stacked weight matrices is input, forget, candidate (g), output.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Architecture, LayerParams, State


def trace_layer(params: LayerParams, layer_input: Tensor) -> dict[str, Tensor]:
    steps, batch, input_size = layer_input.shape
    hidden_size = params["weight_hh"].shape[1]
    # h_t from PyTorch's fused kernel, on a throwaway module on the meta device: functional_call swaps
    # this layer's parameters in, so nothing is allocated for it.
    module = nn.LSTM(input_size, hidden_size, device="meta")
    hidden, _ = torch.func.functional_call(module, {f"{name}_l0": value for name, value in params.items()}, (layer_input,))
    # Gates at step t depend only on x_t and h_{t-1}, so two matmuls over all steps rebuild them. Time-major
    # rows make h_{t-1} for t >= 1 one contiguous block (h_{-1} = 0 adds nothing to step 0).
    # tanh(x) = 2*sigmoid(2x) - 1: doubling the candidate rows lets one sigmoid over all gates serve for g,
    # which on CPU is much cheaper than a separate tanh call.
    row_scale = torch.ones(4 * hidden_size, 1, dtype=hidden.dtype)
    row_scale[2 * hidden_size : 3 * hidden_size] = 2.0
    preactivation = torch.addmm(((params["bias_ih"] + params["bias_hh"]) * row_scale[:, 0]),
                                layer_input.reshape(steps * batch, input_size), (params["weight_ih"] * row_scale).t())
    preactivation[batch:].addmm_(hidden[:-1].reshape(-1, hidden_size), (params["weight_hh"] * row_scale).t())
    activated = torch.sigmoid_(preactivation).view(steps, batch, 4 * hidden_size)
    input_gate, forget_gate, candidate, output_gate = activated.split(hidden_size, dim=-1)
    candidate.mul_(2.0).sub_(1.0)

    # c_t = f_t * c_{t-1} + i_t * g_t is a linear recurrence in c alone: two element-wise ops per step.
    cell_state = torch.mul(input_gate, candidate)  # (T, B, H), i_t g_t until step t overwrites it with c_t
    for cell, forget, cell_previous in zip(cell_state[1:].unbind(0), forget_gate[1:].unbind(0), cell_state.unbind(0)):
        cell.addcmul_(forget, cell_previous)
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
    trace_layer=trace_layer,
    step=step,
    state_size=2,
)
