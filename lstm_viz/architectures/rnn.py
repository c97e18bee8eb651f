"""The vanilla (Elman) recurrent network with tanh: h_t = tanh(W_ih x_t + b_ih + W_hh h_{t-1} + b_hh)."""
from __future__ import annotations

import torch
from torch import Tensor, nn

from .base import Architecture, LayerParams, State, previous_hidden


def recompute_layer(params: LayerParams, layer_input: Tensor, hidden: Tensor) -> dict[str, Tensor]:
    preactivation = torch.nn.functional.linear(layer_input, params["weight_ih"], params["bias_ih"])
    preactivation = preactivation + torch.nn.functional.linear(previous_hidden(hidden), params["weight_hh"], params["bias_hh"])
    return {"preactivation": preactivation, "hidden_state": hidden}


def step(params: LayerParams, input_projection: Tensor, state: State) -> tuple[State, dict[str, Tensor]]:
    (hidden,) = state
    hidden = torch.tanh(input_projection + hidden @ params["weight_hh"].t() + params["bias_hh"])
    return (hidden,), {}


RNN = Architecture(
    name="rnn",
    label="RNN (tanh)",
    fused_class=nn.RNN,
    cell_class=nn.RNNCell,
    gate_count=1,
    trace_names=("preactivation", "hidden_state"),
    gate_names=(),
    description="No gates: every step multiplies the state by W_hh and squashes it with tanh.",
    recompute_layer=recompute_layer,
    step=step,
)
