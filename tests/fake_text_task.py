"""A small bracket task that accepts typed text, for testing pages generically before the real text tasks exist."""
from __future__ import annotations

import numpy as np
import torch

from lstm_viz.rules.errors import UploadError
from lstm_viz.core.tasks.base import Task

VOCABULARY = "()ab"


class FakeBracketTask(Task):
    name = "fake-brackets"
    label = "Fake brackets"
    input_size = len(VOCABULARY)
    output_size = 1
    readout = "last"
    metric_name = "MSE"
    metric_unit = "squared error"
    default_length = 12
    min_length = 2
    max_length = 64
    description = "Output the nesting depth at the end of a bracket string."
    baseline_description = "predict the mean depth"
    accepts_text = True

    def generate(self, count, length, generator, split="train"):
        tokens = torch.randint(0, len(VOCABULARY), (count, length), generator=generator)
        inputs = torch.nn.functional.one_hot(tokens, len(VOCABULARY)).float()
        depth = (tokens == 0).sum(1) - (tokens == 1).sum(1)
        return inputs, depth.float().unsqueeze(-1)

    def per_example_loss(self, outputs, targets):
        return ((outputs - targets) ** 2).mean(dim=-1)

    def baseline(self, length):
        return length / 2.0

    def solved_threshold(self, length):
        return 0.05

    def input_channels(self, inputs):
        return {"token": inputs.argmax(axis=-1).astype(np.float32) + 1}

    def input_tokens(self, inputs):
        return [VOCABULARY[i] if inputs[t].any() else "?" for t, i in enumerate(inputs.argmax(axis=-1))]

    def features(self, inputs):
        opens, closes = inputs[:, 0], inputs[:, 1]
        return {"nesting depth": np.cumsum(opens - closes), "open bracket": opens.astype(np.float64)}

    def encode_text(self, text):
        if not text.strip():
            raise UploadError("type a bracket string")
        if len(text) > self.max_length:
            raise UploadError(f"at most {self.max_length} characters")
        inputs = np.zeros((len(text), len(VOCABULARY)), dtype=np.float32)
        unknown = []
        for t, char in enumerate(text):
            if char in VOCABULARY:
                inputs[t, VOCABULARY.index(char)] = 1.0
            else:
                unknown.append(t)
        return inputs, list(text), unknown


FAKE_BRACKETS = FakeBracketTask()
