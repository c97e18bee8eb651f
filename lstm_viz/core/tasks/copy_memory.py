"""The copy-memory task of Arjovsky, Shah & Bengio (2016), section 4.1.

Input (length T + 20): ten symbols drawn from 8, then T - 1 blanks, a delimiter, and ten more blanks.
Target: blanks for the first T + 10 steps, then the ten symbols. A model with no memory predicts
blank where a blank is due and guesses uniformly over the 8 symbols for the last ten steps, scoring
a cross-entropy per step of 10 log 8 / (T + 20). The paper reports that an LSTM beats that only at
T = 100 and sits on it for T >= 200: this task shows where memory runs out, not only where it works.
"""
from __future__ import annotations

import inspect
import math

import numpy as np
import torch

from lstm_viz.core.tasks.base import Task

BLANK = 0
SYMBOL_COUNT = 8  # symbols are 1..8
DELIMITER = SYMBOL_COUNT + 1
TOKEN_COUNT = SYMBOL_COUNT + 2  # blank, 8 symbols, delimiter
RECALL_COUNT = 10


# The task's rules as plain functions of torch and math alone: the task uses them, and the exported standalone script
# embeds their source with the constants above (lstm_viz.io.standalone), so both draw the same tensors.
def sequence_length(length):
    return length + 2 * RECALL_COUNT


def generate(count, length, generator, split="train"):
    """Copy memory: ten symbols of 8, T - 1 blanks, a delimiter, ten blanks; recall the symbols at the end."""
    # Every split is drawn the same way; only the generator's seed tells them apart.
    steps = sequence_length(length)
    symbols = torch.randint(1, SYMBOL_COUNT + 1, (count, RECALL_COUNT), generator=generator)
    tokens = torch.full((count, steps), BLANK, dtype=torch.long)
    tokens[:, :RECALL_COUNT] = symbols
    tokens[:, length + RECALL_COUNT - 1] = DELIMITER
    targets = torch.full((count, steps), BLANK, dtype=torch.long)
    targets[:, -RECALL_COUNT:] = symbols
    inputs = torch.nn.functional.one_hot(tokens, TOKEN_COUNT).float()
    return inputs, targets


def per_example_loss(outputs, targets):
    """Cross-entropy per step (outputs are logits (count, steps, classes)), averaged over the steps."""
    per_step = torch.nn.functional.cross_entropy(outputs.transpose(1, 2), targets, reduction="none")
    return per_step.mean(dim=-1)


def baseline(length):
    """Blanks where blanks are due, a uniform guess over the 8 symbols for the last ten steps."""
    return RECALL_COUNT * math.log(SYMBOL_COUNT) / sequence_length(length)


def solved_threshold(length):
    # A tenth of the baseline: every recalled symbol right with high confidence.
    return 0.1 * baseline(length)


class CopyMemoryTask(Task):
    name = "copy"
    label = "Copy memory"
    input_size = TOKEN_COUNT
    output_size = SYMBOL_COUNT + 1  # the delimiter is never a target
    readout = "every"
    metric_name = "cross-entropy"
    metric_unit = "nats per step"
    default_length = 20
    min_length = 2
    max_length = 500
    description = (
        "Ten symbols appear at the start; after a delay of T blanks and a delimiter, "
        "reproduce them in order."
    )
    baseline_description = "output blanks, then guess uniformly (no memory): 10·log 8/(T+20)"

    sequence_length = staticmethod(sequence_length)
    generate = staticmethod(generate)
    per_example_loss = staticmethod(per_example_loss)
    baseline = staticmethod(baseline)
    solved_threshold = staticmethod(solved_threshold)

    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        return {"token": inputs.argmax(axis=-1).astype(np.float32)}

    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        symbols = [int(s) for s in inputs.argmax(axis=-1)[:RECALL_COUNT]]
        return f"Symbols to recall at the end: {' '.join(map(str, symbols))}."

    def standalone_source(self) -> str:
        constants = (f"BLANK, SYMBOL_COUNT, DELIMITER, TOKEN_COUNT, RECALL_COUNT = "
                     f"{BLANK}, {SYMBOL_COUNT}, {DELIMITER}, {TOKEN_COUNT}, {RECALL_COUNT}")
        rules = (sequence_length, generate, per_example_loss, baseline, solved_threshold)
        return "\n\n".join([constants, *(inspect.getsource(rule) for rule in rules)])

    def input_tokens(self, inputs: np.ndarray) -> list[str]:
        names = {BLANK: "·", DELIMITER: ":"}
        return [names.get(int(token), str(int(token))) for token in inputs.argmax(axis=-1)]

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        tokens = inputs.argmax(axis=-1)
        steps = np.arange(len(tokens))
        delimiter_at = np.flatnonzero(tokens == DELIMITER)
        recall_start = int(delimiter_at[0]) + 1 if len(delimiter_at) else len(tokens)
        return {
            "symbol shown": ((tokens >= 1) & (tokens <= SYMBOL_COUNT)).astype(np.float64),
            "delimiter": (tokens == DELIMITER).astype(np.float64),
            # A counter is how a cell could know when to start recalling.
            "steps since the last symbol": np.maximum(steps - (RECALL_COUNT - 1), 0).astype(np.float64),
            "recall phase": (steps >= recall_start).astype(np.float64),
        }


COPY_MEMORY = CopyMemoryTask()
