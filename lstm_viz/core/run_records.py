"""What a training records: each cell's model, optimiser, histories and checkpoints (ArchRun, Checkpoint), and the
event each training step reports (ProgressEvent). The Trainer (lstm_viz.core.trainer) fills them in."""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import torch
from torch import Tensor

from lstm_viz.core.gradient_flow import GradientFlow
from lstm_viz.core.model import SequenceModel


@dataclass
class Checkpoint:
    step: int
    # A copy of the weights: traces are recomputed from them exactly on demand, far smaller than storing traces.
    state_dict: dict[str, Tensor]
    gradient_flow: GradientFlow
    eval_metric: float | None


@dataclass
class ArchRun:
    arch: str
    label: str
    model: SequenceModel
    optimizer: torch.optim.Optimizer
    status: str = "training"  # training | solved | diverged | plateaued | baseline | budget | stopped
    status_detail: str = ""
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    grad_norm: list[float] = field(default_factory=list)
    eval_steps: list[int] = field(default_factory=list)
    eval_metric: list[float] = field(default_factory=list)
    eval_elapsed: list[float] = field(default_factory=list)  # training seconds at each evaluation
    solved_step: int | None = None
    best_metric: float = math.inf
    evals_since_best: int = 0
    checkpoints: list[Checkpoint] = field(default_factory=list)

    @property
    def active(self) -> bool:
        return self.status == "training"

    @property
    def last_metric(self) -> float | None:
        return self.eval_metric[-1] if self.eval_metric else None


@dataclass
class ProgressEvent:
    step: int
    elapsed: float  # seconds spent training, not waiting between page refreshes
    steps_per_second: float
    train_loss: dict[str, float]
    grad_norm: dict[str, float]  # total gradient norm before clipping
    eval_metric: dict[str, float] | None
    probed: bool
    finished: bool
    stop_reason: str | None
