"""Every gate and state at every step, recomputed exactly from the weights and the fused hidden states.

Training never pays for visibility: the fused kernel runs as usual, and only afterwards, for the few
sequences a page shows, each layer's gates are rebuilt in batched matmuls (gates at step t depend only
on x_t and h_{t-1}). tests/test_traces.py checks the result against a step-by-step nn.LSTMCell loop.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor, nn

from .architectures import layer_params
from .model import SequenceModel


@dataclass
class Trace:
    arch: str
    # One dict per layer, bottom first: trace name -> (B, T, H) float32 array.
    layers: list[dict[str, np.ndarray]]
    outputs: np.ndarray  # the model's predictions for the traced inputs
    # (B, T, D) what the first layer read: the inputs, or for a word task each token's embedding vector.
    layer_input: np.ndarray | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        """The top layer's array `name`, the one the readout sees."""
        return self.layers[-1][name]


def layer_module(model: SequenceModel, input_size: int) -> nn.RNNBase:
    # Parameters are swapped in by functional_call; on the meta device this throwaway module allocates nothing.
    return model.architecture.fused_class(input_size, model.config.hidden_size, batch_first=True, device="meta")


def trace_tensors(model: SequenceModel, inputs: Tensor) -> tuple[list[dict[str, Tensor]], Tensor]:
    """Per layer {name: (B,T,H) tensor} and the model outputs, in eval mode (no dropout)."""
    layers, outputs, _ = _trace_tensors(model, inputs)
    return layers, outputs


@torch.no_grad()
def _trace_tensors(model: SequenceModel, inputs: Tensor) -> tuple[list[dict[str, Tensor]], Tensor, Tensor]:
    was_training = model.training
    model.eval()
    try:
        recurrent = model.recurrent
        layers: list[dict[str, Tensor]] = []
        first_input = layer_input = model.embed(inputs)
        for layer in range(model.config.num_layers):
            params = layer_params(recurrent, layer)
            if model.config.num_layers == 1:
                hidden, _ = recurrent(layer_input)
            else:
                module = layer_module(model, layer_input.shape[-1])
                hidden, _ = torch.func.functional_call(module, {f"{k}_l0": v for k, v in params.items()}, (layer_input,))
            layers.append(model.architecture.recompute_layer(params, layer_input, hidden))
            layer_input = hidden
        outputs = model.readout_from_hidden(layer_input)
    finally:
        model.train(was_training)
    return layers, outputs, first_input


def trace(model: SequenceModel, inputs: Tensor) -> Trace:
    layers, outputs, first_input = _trace_tensors(model, inputs)
    return Trace(
        arch=model.config.arch,
        layers=[{name: array.numpy().astype(np.float32, copy=False) for name, array in layer.items()} for layer in layers],
        outputs=outputs.numpy(),
        layer_input=first_input.numpy().astype(np.float32, copy=False),
    )
