"""Every gate and state at every step of every layer, exact to float rounding.

Training never pays for visibility: only afterwards, for the few sequences a page shows, each layer
runs its architecture's `trace_layer`, the layer's recurrence once more in a loop that keeps every gate
and state (input terms of all steps in one matmul, one matmul per step for h_{t-1}).
tests/test_engine_traces.py checks the result against step-by-step PyTorch cells.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lstm_viz.core.architectures import layer_params
from lstm_viz.core.model import SequenceModel


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


def trace_tensors(model: SequenceModel, inputs: Tensor) -> tuple[list[dict[str, Tensor]], Tensor]:
    """Per layer {name: (B,T,H) tensor} and the model outputs, in eval mode (no dropout)."""
    layers, outputs, _ = _trace_tensors(model, inputs)
    return layers, outputs


@torch.no_grad()
def _trace_tensors(model: SequenceModel, inputs: Tensor) -> tuple[list[dict[str, Tensor]], Tensor, Tensor]:
    was_training = model.training
    model.eval()
    try:
        layers: list[dict[str, Tensor]] = []
        first_input = model.embed(inputs)
        # Time-major inside (each step one contiguous block); the arrays handed out are (B, T, H) views.
        layer_input = first_input.transpose(0, 1).contiguous()
        for layer in range(model.config.num_layers):
            arrays = model.architecture.trace_layer(layer_params(model.recurrent, layer), layer_input)
            layers.append({name: array.transpose(0, 1) for name, array in arrays.items()})
            layer_input = arrays["hidden_state"]
        outputs = model.readout_from_hidden(layers[-1]["hidden_state"])
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
