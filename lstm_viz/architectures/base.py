"""What every recurrent architecture provides to the rest of the engine.

An architecture is trained through PyTorch's fused module (fast); everything the app shows
about its insides is recomputed afterwards from the weights and the fused hidden states.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch
from torch import Tensor, nn

# One layer's parameters under PyTorch's names without the layer suffix:
# weight_ih (G*H, D), weight_hh (G*H, H), bias_ih (G*H,), bias_hh (G*H,).
LayerParams = dict[str, Tensor]
# The recurrent state carried between steps: (h,) for RNN/GRU, (h, c) for LSTM.
State = tuple[Tensor, ...]


@dataclass(frozen=True)
class Architecture:
    name: str
    label: str
    fused_class: type[nn.RNNBase]
    # The single-step PyTorch cell; only tests use it, as an independent reference.
    cell_class: type[nn.Module]
    gate_count: int
    # Names of the arrays `recompute_layer` returns, in display order.
    trace_names: tuple[str, ...]
    # Of those, the ones that are gate activations in [0, 1].
    gate_names: tuple[str, ...]
    description: str
    # (params, layer_input (B,T,D), hidden (B,T,H)) -> {trace name: (B,T,H)}; exact, no loop over h.
    recompute_layer: Callable[[LayerParams, Tensor, Tensor], dict[str, Tensor]]
    # (params, input_projection_t (B,G*H) = x_t W_ih^T + b_ih, state) -> (new state, gates dict).
    # Written with plain autograd-friendly ops so the gradient-flow probe can differentiate through it.
    step: Callable[[LayerParams, Tensor, State], tuple[State, dict[str, Tensor]]]
    state_size: int = 1

    def build(self, input_size: int, hidden_size: int, num_layers: int, dropout: float) -> nn.RNNBase:
        return self.fused_class(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )

    def initial_state(self, batch_size: int, hidden_size: int, dtype: torch.dtype) -> State:
        return tuple(torch.zeros(batch_size, hidden_size, dtype=dtype) for _ in range(self.state_size))


def layer_params(module: nn.RNNBase, layer: int) -> LayerParams:
    """The parameters of one layer of a fused module, keyed without the `_l{layer}` suffix."""
    suffix = f"_l{layer}"
    return {
        name[: -len(suffix)]: param
        for name, param in module.named_parameters()
        if name.endswith(suffix)
    }


def previous_hidden(hidden: Tensor) -> Tensor:
    """h_{t-1} for every t, with the zero initial state in front: (B,T,H) -> (B,T,H)."""
    return torch.cat([torch.zeros_like(hidden[:, :1]), hidden[:, :-1]], dim=1)
