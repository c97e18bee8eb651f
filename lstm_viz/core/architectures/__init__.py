"""The registry of architectures: the recurrent cells and, for contrast, a causal Transformer. Adding a cell: one file defining an `Architecture`, one line below."""
from __future__ import annotations

from lstm_viz.rules.registry import lookup
from lstm_viz.core.architectures.base import Architecture, LayerParams, State, layer_params
from lstm_viz.core.architectures.gru import GRU
from lstm_viz.core.architectures.lstm import LSTM
from lstm_viz.core.architectures.rnn import RNN
from lstm_viz.core.architectures.transformer import TRANSFORMER

ARCHITECTURES: dict[str, Architecture] = {arch.name: arch for arch in (RNN, GRU, LSTM, TRANSFORMER)}
# The cells with a state carried from step to step: what the analyses of a recurrence (W_hh, cell steps, Jacobians,
# clamped forget gates) and the standalone script take.
RECURRENT_ARCHITECTURES: tuple[str, ...] = tuple(name for name, arch in ARCHITECTURES.items() if arch.recurrent)


def get_architecture(name: str) -> Architecture:
    return lookup(ARCHITECTURES, name, "architecture")


__all__ = ["ARCHITECTURES", "RECURRENT_ARCHITECTURES", "Architecture", "LayerParams", "State", "get_architecture", "layer_params"]
