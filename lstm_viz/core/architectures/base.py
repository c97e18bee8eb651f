"""What every recurrent architecture provides to the rest of the engine.

An architecture trains through the fastest exact implementation measured on CPU: PyTorch's fused
nn.LSTM (oneDNN), and for the RNN and GRU, whose PyTorch modules run step by step in ATen, a
subclass of nn.RNN / nn.GRU whose training forward and backward are written out (`StackedRecurrence`).
Everything the app shows about a cell's insides comes from `trace_layer`, exact to float rounding.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, ClassVar

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
    description: str
    # Names of the (B, T, H) arrays a trace gives per layer, in display order; "hidden_state" is what the layer
    # hands on (to the next layer, or the readout).
    trace_names: tuple[str, ...]
    # Of those, the ones that are gate activations in [0, 1].
    gate_names: tuple[str, ...]
    # A recurrence carries a state from step to step (RNN, GRU, LSTM); the Transformer attends to every earlier
    # position instead, so the analyses of a recurrence (W_hh, cell steps, Jacobians) do not apply to it.
    recurrent: bool = True
    # PyTorch's module for this cell: its parameter names are the ones every export and import uses.
    fused_class: type[nn.Module] | None = None
    # The single-step PyTorch cell; only tests use it, as an independent reference.
    cell_class: type[nn.Module] | None = None
    gate_count: int = 1
    # (params, layer_input (T,B,D) time-major) -> {trace name: (T,B,H)}: every gate and state of one layer,
    # no autograd; the "hidden_state" entry is the next layer's input.
    trace_layer: Callable[[LayerParams, Tensor], dict[str, Tensor]] | None = None
    # (params, input_projection_t (B,G*H) = x_t W_ih^T + b_ih, state) -> (new state, gates dict).
    # Written with plain autograd-friendly ops so the gradient-flow probe can differentiate through it.
    step: Callable[[LayerParams, Tensor, State], tuple[State, dict[str, Tensor]]] | None = None
    state_size: int = 1
    # What `build` makes: fused_class itself, or a subclass of it with the same parameters and a faster training path.
    module_class: type[nn.Module] | None = None
    # A non-recurrent architecture builds its own module: (input_size, hidden_size, num_layers, dropout, **options).
    builder: Callable[..., nn.Module] | None = None
    # (steps, layer_input, hidden_size, layer) -> multiply-adds of one layer's forward pass over one sequence;
    # None: a recurrence's, 2 * steps * gate_count * hidden_size * (layer_input + hidden_size).
    forward_multiply_adds: Callable[[int, int, int, int], float] | None = None

    def build(self, input_size: int, hidden_size: int, num_layers: int, dropout: float, **options) -> nn.Module:
        """The layers between the (embedded) inputs and the readout. `options` are the Transformer's (heads,
        positions, max_positions); a recurrence takes none."""
        if self.builder is not None:
            return self.builder(input_size, hidden_size, num_layers, dropout, **options)
        return (self.module_class or self.fused_class)(
            input_size=input_size,
            hidden_size=hidden_size,
            num_layers=num_layers,
            dropout=dropout if num_layers > 1 else 0.0,
            batch_first=True,
        )

    def layer_multiply_adds(self, steps: int, layer_input: int, hidden_size: int, layer: int) -> float:
        if self.forward_multiply_adds is not None:
            return self.forward_multiply_adds(steps, layer_input, hidden_size, layer)
        return 2.0 * steps * self.gate_count * hidden_size * (layer_input + hidden_size)

    def initial_state(self, batch_size: int, hidden_size: int, dtype: torch.dtype) -> State:
        return tuple(torch.zeros(batch_size, hidden_size, dtype=dtype) for _ in range(self.state_size))


def with_ones_column(matrix: Tensor) -> Tensor:
    """[matrix | 1]: a bias becomes one more row of the weight, so a matmul adds it (measured faster than
    addmm, which first copies the bias into every row) and, in backward, sums its gradient."""
    augmented = matrix.new_empty(matrix.shape[0], matrix.shape[1] + 1)
    augmented[:, :-1] = matrix
    augmented[:, -1] = 1.0
    return augmented


def layer_params(module: nn.RNNBase, layer: int) -> LayerParams:
    """The parameters of one layer of a fused module, keyed without the `_l{layer}` suffix."""
    suffix = f"_l{layer}"
    return {
        name[: -len(suffix)]: param
        for name, param in module.named_parameters()
        if name.endswith(suffix)
    }


class StackedRecurrence:
    """Mixin for a subclass of nn.RNN / nn.GRU: while autograd records, each layer runs through
    `layer_function`, an autograd.Function whose forward and backward loop over time with one matmul
    per step and do the rest in matmuls over all steps; otherwise PyTorch's own forward runs, so
    inference gives exactly what a plain nn.RNN / nn.GRU loaded from an export gives.

    Same parameters, same results up to float rounding, same dropout between layers (drawn by the
    same call on a tensor of the same shape, so a seed gives the masks PyTorch's module would draw).
    """

    # apply(layer_input (T,B,D), initial (B,H), weight_ih, weight_hh, bias_ih, bias_hh) -> hidden (T,B,H)
    layer_function: ClassVar[type[torch.autograd.Function]]

    def forward(self, input, hx=None):  # noqa: A002 - PyTorch's own argument names
        if not (torch.is_grad_enabled() and self._runs_layer_function(input, hx)):
            return super().forward(input, hx)  # type: ignore[misc]
        if hx is not None:
            self.check_forward_args(input, hx, None)  # PyTorch's own message for a mis-shaped state
        layer_input = (input.transpose(0, 1) if self.batch_first else input).contiguous()  # (T, B, D)
        batch = layer_input.shape[1]
        if hx is None:
            hx = layer_input.new_zeros(self.num_layers, batch, self.hidden_size)
        final_states = []
        for layer, weights in enumerate(self.all_weights):
            hidden = self.layer_function.apply(layer_input, hx[layer], *weights)  # (T, B, H)
            final_states.append(hidden[-1])
            if self.dropout and self.training and layer < self.num_layers - 1:
                hidden = nn.functional.dropout(hidden, self.dropout, training=True)
            layer_input = hidden
        output = layer_input.transpose(0, 1) if self.batch_first else layer_input
        return output, torch.stack(final_states)

    def _runs_layer_function(self, input, hx) -> bool:  # noqa: A002
        return (
            isinstance(input, Tensor) and input.dim() == 3 and input.device.type == "cpu"
            and input.dtype in (torch.float32, torch.float64) and input.dtype == self.weight_hh_l0.dtype
            and (hx is None or isinstance(hx, Tensor))
            and self.bias and not self.bidirectional and getattr(self, "nonlinearity", "tanh") == "tanh"
        )
