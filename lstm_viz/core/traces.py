"""Every gate and state at every step of every layer, exact to float rounding.

Training never pays for visibility: only afterwards, for the few sequences a page shows, each layer
runs its architecture's `trace_layer`, the layer's recurrence once more in a loop that keeps every gate
and state (input terms of all steps in one matmul, one matmul per step for h_{t-1}).
tests/test_engine_traces.py checks the result against step-by-step PyTorch cells. A Transformer's layers are
recomputed the same way from their weights (lstm_viz.core.architectures.transformer.attention_parts), which also
gives every head's attention weights.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lstm_viz.core.architectures import layer_params
from lstm_viz.core.architectures.transformer import attention_parts
from lstm_viz.core.model import SequenceModel


@dataclass
class Trace:
    arch: str
    # One dict per layer, bottom first: trace name -> (B, T, H) float32 array.
    layers: list[dict[str, np.ndarray]]
    outputs: np.ndarray  # the model's predictions for the traced inputs
    # (B, T, D) what the first layer read: the inputs, or for a word task each token's embedding vector.
    layer_input: np.ndarray | None = None
    # Transformer only, one per layer: (B, heads, T, T) attention weights, row t the weights position t gives to
    # positions 0..t (each row sums to 1). Kept apart from `layers`, whose arrays are all (B, T, H).
    attention: list[np.ndarray] | None = None

    def __getitem__(self, name: str) -> np.ndarray:
        """The top layer's array `name`, the one the readout sees."""
        return self.layers[-1][name]


def trace_tensors(model: SequenceModel, inputs: Tensor) -> tuple[list[dict[str, Tensor]], Tensor]:
    """Per layer {name: (B,T,H) tensor} and the model outputs, in eval mode (no dropout)."""
    layers, outputs, _, _ = _trace_tensors(model, inputs)
    return layers, outputs


@torch.no_grad()
def _trace_tensors(model: SequenceModel, inputs: Tensor) -> tuple[list[dict[str, Tensor]], Tensor, Tensor, list[Tensor] | None]:
    """(per layer {name: (B,T,H)}, outputs, what the first layer read, per layer (B,heads,T,T) attention or None)."""
    was_training = model.training
    model.eval()
    try:
        first_input = model.embed(inputs)
        if not model.architecture.recurrent:
            layers, outputs, attention = transformer_tensors(model, first_input)
            return layers, outputs, first_input, attention
        layers: list[dict[str, Tensor]] = []
        # Time-major inside (each step one contiguous block); the arrays handed out are (B, T, H) views.
        layer_input = first_input.transpose(0, 1).contiguous()
        for layer in range(model.config.num_layers):
            arrays = model.architecture.trace_layer(layer_params(model.recurrent, layer), layer_input)
            layers.append({name: array.transpose(0, 1) for name, array in arrays.items()})
            layer_input = arrays["hidden_state"]
        outputs = model.readout_from_hidden(layers[-1]["hidden_state"])
    finally:
        model.train(was_training)
    return layers, outputs, first_input, None


def transformer_tensors(model: SequenceModel, first_input: Tensor) -> tuple[list[dict[str, Tensor]], Tensor, list[Tensor]]:
    """Each block recomputed from its weights; a layer's "hidden_state" is its block's output (the residual stream),
    and the readout reads the top one after the final LayerNorm, as the module's forward does."""
    transformer = model.transformer
    hidden = transformer.embed_positions(first_input)
    layers: list[dict[str, Tensor]] = []
    attention: list[Tensor] = []
    for block in transformer.layers:
        parts = attention_parts(block, hidden)
        hidden = parts["hidden_state"]
        layers.append({"hidden_state": hidden})
        attention.append(parts["attention"])
    return layers, model.readout_from_hidden(transformer.final_norm(hidden)), attention


def trace(model: SequenceModel, inputs: Tensor) -> Trace:
    layers, outputs, first_input, attention = _trace_tensors(model, inputs)
    return Trace(
        arch=model.config.arch,
        layers=[{name: array.numpy().astype(np.float32, copy=False) for name, array in layer.items()} for layer in layers],
        outputs=outputs.numpy(),
        layer_input=first_input.numpy().astype(np.float32, copy=False),
        attention=None if attention is None else [weights.numpy().astype(np.float32, copy=False) for weights in attention],
    )
