"""The registry of recurrent architectures. Adding a cell: one file defining an `Architecture`, one line below."""
from __future__ import annotations

from lstm_viz.rules.registry import lookup
from lstm_viz.core.architectures.base import Architecture, LayerParams, State, layer_params
from lstm_viz.core.architectures.gru import GRU
from lstm_viz.core.architectures.lstm import LSTM
from lstm_viz.core.architectures.rnn import RNN

ARCHITECTURES: dict[str, Architecture] = {arch.name: arch for arch in (RNN, GRU, LSTM)}


def get_architecture(name: str) -> Architecture:
    return lookup(ARCHITECTURES, name, "architecture")


__all__ = ["ARCHITECTURES", "Architecture", "LayerParams", "State", "get_architecture", "layer_params"]
