"""Every gate of the encoder and the decoder at every token of one translation, recomputed from the fused layers'
weights with PyTorch's gate order (LSTM: input, forget, cell candidate, output; GRU: reset, update, new, here "candidate"), under
the trace names lstm_viz.figures.style labels.

The recomputed hidden states match the fused layer's own outputs (tests/test_translation_model.py), so what the page
draws is what the model computed.
"""
from __future__ import annotations

import numpy as np
import torch
from torch import Tensor, nn

from lstm_viz.data.translation_pairs import BOS_ID
from lstm_viz.core.seq2seq.model import Seq2Seq


def _lstm_steps(layer: nn.LSTM, inputs: Tensor, h: Tensor, c: Tensor) -> dict[str, np.ndarray]:
    w_ih, w_hh = layer.weight_ih_l0, layer.weight_hh_l0
    bias = layer.bias_ih_l0 + layer.bias_hh_l0
    rows = {name: [] for name in ("input_gate", "forget_gate", "candidate", "output_gate", "cell_state", "hidden_state")}
    for x in inputs:
        i, f, g, o = (w_ih @ x + w_hh @ h + bias).chunk(4)
        i, f, g, o = torch.sigmoid(i), torch.sigmoid(f), torch.tanh(g), torch.sigmoid(o)
        c = f * c + i * g
        h = o * torch.tanh(c)
        for name, value in zip(rows, (i, f, g, o, c, h)):
            rows[name].append(value)
    return {name: torch.stack(values).numpy() for name, values in rows.items()}


def _gru_steps(layer: nn.GRU, inputs: Tensor, h: Tensor) -> dict[str, np.ndarray]:
    rows = {name: [] for name in ("reset_gate", "update_gate", "candidate", "hidden_state")}
    for x in inputs:
        x_r, x_z, x_n = (layer.weight_ih_l0 @ x + layer.bias_ih_l0).chunk(3)
        h_r, h_z, h_n = (layer.weight_hh_l0 @ h + layer.bias_hh_l0).chunk(3)
        r, z = torch.sigmoid(x_r + h_r), torch.sigmoid(x_z + h_z)
        n = torch.tanh(x_n + r * h_n)
        h = (1 - z) * n + z * h
        for name, value in zip(rows, (r, z, n, h)):
            rows[name].append(value)
    return {name: torch.stack(values).numpy() for name, values in rows.items()}


def layer_steps(layer: nn.Module, inputs: Tensor, state) -> dict[str, np.ndarray]:
    """{gate or state name: (steps, H)} for `inputs` (steps, E) from `state` (LSTM (h, c), GRU h; each (H,))."""
    with torch.no_grad():
        if isinstance(layer, nn.LSTM):
            return _lstm_steps(layer, inputs, *state)
        return _gru_steps(layer, inputs, state)


def translation_gates(model: Seq2Seq, source_ids: list[int], written: list[int]
                      ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    """(encoder gates per source token, decoder gates per decoder input token: <bos> and each written token but
    the last). The decoder starts from the encoder's final state, as in Seq2Seq.decode."""
    hidden = model.config.hidden_size
    zero = torch.zeros(hidden)
    with torch.no_grad():
        source = model.source_embedding(torch.tensor(source_ids))
        start = (zero, zero) if model.config.cell == "lstm" else zero
        encoder = layer_steps(model.encoder, source, start)
        final_h = torch.as_tensor(encoder["hidden_state"][-1])
        final = (final_h, torch.as_tensor(encoder["cell_state"][-1])) if model.config.cell == "lstm" else final_h
        decoder_inputs = model.target_embedding(torch.tensor([BOS_ID, *written[:-1]] if written else [BOS_ID]))
        decoder = layer_steps(model.decoder, decoder_inputs, final)
    return encoder, decoder


def final_encoder_state(model: Seq2Seq, source_ids: list[int]) -> dict[str, np.ndarray]:
    """{"hidden_state": (H,), and "cell_state" for an LSTM}: everything a decoder without attention gets."""
    encoder, _ = translation_gates(model, source_ids, [])
    return {name: encoder[name][-1] for name in ("hidden_state", "cell_state") if name in encoder}
