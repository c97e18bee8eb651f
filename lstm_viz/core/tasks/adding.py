"""The adding problem in the variant of Arjovsky, Shah & Bengio (2016, arXiv 1511.06464).

Each step carries (value ~ U[0,1], marker in {0,1}); exactly one marker falls in each half of the
sequence and the target is the sum of the two marked values. A model with no memory can only
predict E[sum] = 1, scoring MSE = Var(X1 + X2) = 2/12 = 1/6.
"""
from __future__ import annotations

import inspect

import numpy as np
import torch

from lstm_viz.core.tasks.base import Task


# The task's rules as plain functions of torch alone: the task uses them, and the exported standalone script embeds
# their source (lstm_viz.io.standalone), so both draw the same tensors from the same generator state.
def generate(count, length, generator, split="train"):
    """The adding problem: (value ~ U[0,1], marker) per step, one marker in each half; target = sum of marked values."""
    # Every split is drawn the same way; only the generator's seed tells them apart.
    values = torch.rand(count, length, generator=generator)
    half = length // 2
    first = torch.randint(0, half, (count,), generator=generator)
    second = torch.randint(half, length, (count,), generator=generator)
    markers = torch.zeros(count, length)
    rows = torch.arange(count)
    markers[rows, first] = 1.0
    markers[rows, second] = 1.0
    inputs = torch.stack([values, markers], dim=-1)  # (count, length, 2)
    targets = (values[rows, first] + values[rows, second]).unsqueeze(-1)  # (count, 1)
    return inputs, targets


def per_example_loss(outputs, targets):
    """Squared error of the predicted sum."""
    return ((outputs - targets) ** 2).mean(dim=-1)


def baseline(length):
    """Predicting 1.0 (the mean sum) without memory scores Var(X1 + X2) = 1/6."""
    return 1.0 / 6.0


def solved_threshold(length):
    return 0.01


class AddingTask(Task):
    name = "adding"
    label = "Adding problem"
    input_size = 2
    output_size = 1
    readout = "last"
    metric_name = "MSE"
    metric_unit = "squared error"
    default_length = 100
    min_length = 4
    max_length = 1000
    description = (
        "Each step shows a random value and a marker. One marker falls in each half of the sequence; "
        "at the end, output the sum of the two marked values."
    )
    baseline_description = "always predict 1.0 (no memory): MSE 1/6"

    generate = staticmethod(generate)
    per_example_loss = staticmethod(per_example_loss)
    baseline = staticmethod(baseline)
    solved_threshold = staticmethod(solved_threshold)

    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        return {"value": inputs[:, 0], "marker": inputs[:, 1]}

    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        marked = np.flatnonzero(inputs[:, 1] > 0.5)
        values = " + ".join(f"{inputs[t, 0]:.2f} (t={t})" for t in marked)
        return f"Marked values: {values} = target {float(target[0]):.2f}."

    def standalone_source(self) -> str:
        return "\n\n".join(inspect.getsource(rule) for rule in (generate, per_example_loss, baseline, solved_threshold))

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        marker = inputs[:, 1]
        return {
            "marker": marker,
            # What a memory unit must hold: the sum of the marked values seen so far.
            "running sum of marked values": np.cumsum(inputs[:, 0] * marker),
            "markers seen so far": np.cumsum(marker),
            "value": inputs[:, 0],
        }


ADDING = AddingTask()
