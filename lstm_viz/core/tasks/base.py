"""What every task provides: a seeded generator, a loss, a metric, and honest reference points."""
from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from lstm_viz.rules.errors import ConfigError

Split = Literal["train", "test", "probe"]


class Task(ABC):
    name: str
    label: str
    input_size: int
    output_size: int
    # Word tasks (one-hot tokens from a vocabulary of hundreds) set this: the model learns a vector of this size for
    # each token (lstm_viz.core.model.ModelConfig.embedding_size). 0: the inputs go to the first layer as they are.
    embedding_size: int = 0
    # "last": one prediction from the final hidden state; "every": a prediction at every step.
    readout: Literal["last", "every"]
    metric_name: str
    metric_unit: str
    default_length: int
    min_length: int = 2
    max_length: int = 1000
    description: str
    # What the baseline line on the loss chart means, in words a student understands.
    baseline_description: str
    # The baseline's short name on charts and in the verdict; forecasting's is the naive forecast, not "no memory".
    baseline_name: str = "no-memory baseline"

    @abstractmethod
    def generate(self, count: int, length: int, generator: torch.Generator, split: Split = "train") -> tuple[Tensor, Tensor]:
        """(inputs (count, steps, input_size) float32, targets) for `length`; same generator state, same data.

        `split` says which data the examples come from: "train" for training batches, "test" for the evaluation
        set, "probe" for the gradient probes and traced examples. Generated tasks draw all three from the same
        distribution (the seeds differ); tasks on a real series take them from time-ordered parts of it."""

    @abstractmethod
    def per_example_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        """(count,) training loss of each example; the training loss is its mean."""

    def loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        return self.per_example_loss(outputs, targets).mean()

    def metric(self, outputs: Tensor, targets: Tensor) -> float:
        """The number the app reports and compares with the baseline; lower is better."""
        return float(self.loss(outputs, targets))

    @abstractmethod
    def baseline(self, length: int) -> float:
        """The metric of the best model with no memory of the input, computed analytically."""

    def metric_floor(self, length: int) -> float:
        """The best metric any model can reach on average (0 unless the task's targets are themselves random)."""
        return 0.0

    @abstractmethod
    def solved_threshold(self, length: int) -> float:
        """Metric at or below which the task counts as solved."""

    def solved_phrase(self, length: int) -> str:
        """What reaching the threshold means, for the verdict: "<cell> solved T=100 at step 700"."""
        return f"solved T={length}"

    @abstractmethod
    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """For one example (steps, input_size): named per-step series to draw on the time axis."""

    # ----- options: a task that needs a data set or settings returns a configured copy -----
    def with_options(self, **options) -> "Task":
        """The task configured by RunConfig.task_options (e.g. which series to forecast). Tasks without options
        refuse any, so a typo in a URL or a config file is an error, not a silent default."""
        if options:
            raise ConfigError(f"the {self.label} task takes no options (got {', '.join(sorted(options))})")
        return self

    # ----- what the pages show about an example -----
    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        """One sentence saying what this example (steps, input_size) asks for, with its numbers."""
        return ""

    def input_tokens(self, inputs: np.ndarray) -> list[str] | None:
        """For token tasks, the token shown at each step of one example; None for numeric inputs."""
        return None

    # Tasks whose inputs a user can type (a sentence, a bracket string) set this and implement encode_text.
    accepts_text: bool = False

    def encode_text(self, text: str) -> tuple[np.ndarray, list[str], list[int]]:
        """(inputs (steps, input_size) float32, the token shown at each step, indices of steps whose token is
        unknown to the task's vocabulary) for a text the user typed. Raises UploadError with a message."""
        raise ConfigError(f"the {self.label} task does not take typed input")

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        """Named per-step quantities (steps,) a unit might track: the neuron search ranks units against these."""
        return {}

    def sequence_length(self, length: int) -> int:
        """Number of time steps the model sees for task length `length`."""
        return length

    def standalone_source(self) -> str | None:
        """Python source, importing only torch and math, that the exported standalone script embeds (lstm_viz.io.standalone).

        It must define `generate(count, length, generator)` drawing exactly the tensors `generate` draws from the same
        generator state, `per_example_loss(outputs, targets)`, `baseline(length)` and `solved_threshold(length)`.
        None (the default): the task has no standalone script, e.g. because it reads a data set the app ships.
        tests/test_engine_exports.py runs the script and compares its final metric with the Trainer's."""
        return None
