"""What a model must keep between steps to predict one new input at a time (streaming inference), counted from its
configuration alone.

A recurrence carries its state and nothing else: h per layer (RNN, GRU), h and c per layer (LSTM), whatever the
number of steps already seen: O(1) in T. A causal Transformer has no state; to give position t's output without
recomputing the past it keeps every earlier position's key and value in every layer (the key-value cache): 2 x
layers x T x H floats, O(T). Position vectors need no memory at run time (sinusoidal ones are computed; learned ones
are weights, as fixed as W_hh).
"""
from __future__ import annotations

from dataclasses import dataclass

from lstm_viz.core.architectures import get_architecture
from lstm_viz.core.model import ModelConfig

FLOAT32_BYTES = 4


@dataclass(frozen=True)
class StreamingState:
    arch: str
    steps: int
    floats: int  # per sequence, after `steps` steps
    grows_with_steps: bool
    what: str  # the state in words

    @property
    def bytes(self) -> int:
        return self.floats * FLOAT32_BYTES


def streaming_state(config: ModelConfig, steps: int) -> StreamingState:
    """The floats one sequence's streaming state holds after `steps` inputs."""
    architecture = get_architecture(config.arch)
    width, layers = config.hidden_size, config.num_layers
    if architecture.recurrent:
        names = "h and c" if architecture.state_size == 2 else "h"
        return StreamingState(config.arch, steps, architecture.state_size * layers * width, False,
                              f"{names} per layer: {architecture.state_size} x {layers} x {width}")
    return StreamingState(config.arch, steps, 2 * layers * steps * width, True,
                          f"key and value of every position so far, per layer: 2 x {layers} x {steps} x {width}")
