"""Gated recurrent unit (Cho et al. 2014) as PyTorch defines it: gate order reset, update, candidate,
and the reset gate applied to (W_hn h + b_hn), not to h.
"""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Architecture, LayerParams, State, previous_hidden


def recompute_layer(params: LayerParams, layer_input: Tensor, hidden: Tensor) -> dict[str, Tensor]:
    batch, steps, hidden_size = hidden.shape
    flat_input = layer_input.reshape(batch * steps, -1)
    flat_previous = previous_hidden(hidden).view(batch * steps, hidden_size)
    input_projection = torch.addmm(params["bias_ih"], flat_input, params["weight_ih"].t())  # (B*T, 3H)
    hidden_projection = torch.addmm(params["bias_hh"], flat_previous, params["weight_hh"].t())  # (B*T, 3H)
    # One sigmoid for reset and update gates together; tanh(x) = 2*sigmoid(2x) - 1 for the candidate,
    # because a separate tanh call costs several times a sigmoid on CPU.
    gates = torch.sigmoid_(input_projection[:, : 2 * hidden_size] + hidden_projection[:, : 2 * hidden_size])
    reset_gate, update_gate = gates.split(hidden_size, dim=-1)
    candidate = torch.addcmul(input_projection[:, 2 * hidden_size :], reset_gate, hidden_projection[:, 2 * hidden_size :])
    candidate = torch.sigmoid_(candidate.mul_(2.0)).mul_(2.0).sub_(1.0)
    return {
        # Column slices of the (B*T, 2H) gate block: unflatten keeps them views, no copy.
        "reset_gate": reset_gate.unflatten(0, (batch, steps)),
        "update_gate": update_gate.unflatten(0, (batch, steps)),
        "candidate": candidate.view(batch, steps, hidden_size),
        "hidden_state": hidden,
    }


def step(params: LayerParams, input_projection: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
    (hidden,) = state
    hidden_projection = hidden @ params["weight_hh"].t() + params["bias_hh"]
    input_r, input_z, input_n = input_projection.chunk(3, dim=-1)
    hidden_r, hidden_z, hidden_n = hidden_projection.chunk(3, dim=-1)
    reset_gate = torch.sigmoid(input_r + hidden_r)
    update_gate = torch.sigmoid(input_z + hidden_z)
    candidate = torch.tanh(input_n + reset_gate * hidden_n)
    hidden = (1.0 - update_gate) * candidate + update_gate * hidden
    return (hidden,), {"update_gate": update_gate}


GRU = Architecture(
    name="gru",
    label="GRU",
    fused_class=nn.GRU,
    cell_class=nn.GRUCell,
    gate_count=3,
    trace_names=("reset_gate", "update_gate", "candidate", "hidden_state"),
    gate_names=("reset_gate", "update_gate"),
    description="Two gates and no separate cell: the update gate interpolates old and new state.",
    recompute_layer=recompute_layer,
    step=step,
)
