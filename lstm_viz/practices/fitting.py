"""A small training loop on FIXED data, for the lab's experiments: the Trainer (lstm_viz.core.trainer) draws fresh
batches every step from a generator, so it can never overfit; the lab needs a small training set seen again and
again, the same batches in the same order for every arm of an experiment, and the checkpoint with the lowest
validation loss kept and restored.

The model is the app's own (lstm_viz.core.model.SequenceModel: PyTorch's fused cells). Dropout here is applied to
what the first layer reads and to the last layer's output before the readout (the model's own dropout acts only
between stacked layers, so a one-layer model would ignore it). Weight decay is AdamW's decoupled decay; with
weight_decay 0 AdamW is Adam.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch
from torch import Tensor

from lstm_viz.core.model import SequenceModel
from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError

EVAL_CHUNK = 512  # examples per forward when a loss is measured, so a large validation set stays small in memory


@dataclass(frozen=True)
class FitSettings:
    steps: int = 400
    batch_size: int = 32
    learning_rate: float = 1e-2
    weight_decay: float = 0.0
    dropout: float = 0.0
    patience: int | None = None  # evaluations without a better validation loss before stopping; None: never stop
    eval_every: int = 10
    clip_grad_norm: float | None = 1.0
    seed: int = 0
    restore_best: bool = True  # load the best checkpoint's weights at the end

    def validate(self) -> "FitSettings":
        checks.whole_number("steps", self.steps, 1, 100_000)
        checks.whole_number("batch size", self.batch_size, 1, 512)
        checks.real_number("learning rate", self.learning_rate, 1e-6, 10.0)
        checks.real_number("weight decay", self.weight_decay, 0.0, 10.0)
        checks.real_number("dropout", self.dropout, 0.0, 1.0, below_high=True)
        checks.whole_number("evaluation interval", self.eval_every, 1, 100_000)
        if self.patience is not None:
            checks.whole_number("patience", self.patience, 1, 100_000)
        return self


@dataclass
class FitResult:
    """Curves measured on the whole training set and the whole validation set (dropout off), every eval_every steps
    and at step 0; the best checkpoint; where training stopped."""
    steps: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    best_step: int = 0
    best_val_loss: float = float("inf")
    stopped_step: int = 0  # the last step trained
    stopped_early: bool = False
    restored: bool = False
    seconds: float = 0.0
    best_state: dict | None = None  # the best checkpoint's weights (a copy)


def forward(model: SequenceModel, inputs: Tensor, dropout: float = 0.0) -> Tensor:
    """The model's outputs, with dropout on its inputs and on its top layer's outputs while it trains."""
    training = model.training and dropout > 0
    embedded = torch.nn.functional.dropout(model.embed(inputs), dropout, training=training)
    hidden, _ = model.sequence_layers(embedded)
    return model.readout_from_hidden(torch.nn.functional.dropout(hidden, dropout, training=training))


@torch.no_grad()
def predict(model: SequenceModel, inputs: Tensor) -> Tensor:
    """Outputs in evaluation mode (no dropout), in chunks."""
    model.eval()
    return torch.cat([model(inputs[start:start + EVAL_CHUNK]) for start in range(0, len(inputs), EVAL_CHUNK)])


def mean_loss(model: SequenceModel, loss: Callable[[Tensor, Tensor], Tensor], inputs: Tensor, targets: Tensor) -> float:
    """The mean per-example loss over a whole set, in evaluation mode."""
    return float(loss(predict(model, inputs), targets).mean())


def batch_order(count: int, settings: FitSettings) -> np.ndarray:
    """(steps, batch) example indices: shuffled epochs from the seed alone, so every arm sees the same batches."""
    if count < 1:
        raise ConfigError("the training set is empty")
    size = min(settings.batch_size, count)
    generator = np.random.default_rng(settings.seed)
    rows, pool = [], np.zeros(0, dtype=np.int64)
    for _ in range(settings.steps):
        if len(pool) < size:
            pool = np.concatenate([pool, generator.permutation(count)])
        rows.append(pool[:size])
        pool = pool[size:]
    return np.stack(rows)


def fit(model: SequenceModel, loss: Callable[[Tensor, Tensor], Tensor], train: tuple[Tensor, Tensor],
        val: tuple[Tensor, Tensor], settings: FitSettings, should_stop: Callable[[], bool] = lambda: False,
        on_progress: Callable[[float], None] = lambda fraction: None) -> FitResult | None:
    """Train `model` in place on the fixed `train` set; `loss(outputs, targets)` gives one loss per example.
    Returns the curves and the best checkpoint (restored into `model` when settings.restore_best), or None when
    `should_stop()` turned true first."""
    settings.validate()
    started = time.perf_counter()
    order = torch.from_numpy(batch_order(len(train[0]), settings))
    optimiser = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    result = FitResult()
    evals_since_best = 0
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(settings.seed)  # the dropout masks: the same for every run of these settings
        for step in range(settings.steps + 1):
            if step % settings.eval_every == 0 or step == settings.steps:
                improved = _evaluate(model, loss, train, val, step, result)
                evals_since_best = 0 if improved else evals_since_best + 1
                if settings.patience is not None and evals_since_best >= settings.patience:
                    result.stopped_early = True
                    break
            if step == settings.steps:
                break
            if should_stop():
                return None
            _train_step(model, loss, train, order[step], optimiser, settings)
            result.stopped_step = step + 1
            on_progress((step + 1) / settings.steps)
    if settings.restore_best and result.best_state is not None:
        model.load_state_dict(result.best_state)
        result.restored = True
    result.seconds = time.perf_counter() - started
    return result


def _train_step(model, loss, train, rows: Tensor, optimiser, settings: FitSettings) -> None:
    model.train()
    inputs, targets = train[0][rows], train[1][rows]
    value = loss(forward(model, inputs, settings.dropout), targets).mean()
    optimiser.zero_grad(set_to_none=True)
    value.backward()
    if settings.clip_grad_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad_norm)
    optimiser.step()


def _evaluate(model, loss, train, val, step: int, result: FitResult) -> bool:
    """Measure both losses at `step`; keep a copy of the weights if the validation loss is the best yet."""
    train_loss = mean_loss(model, loss, *train)
    val_loss = mean_loss(model, loss, *val)
    result.steps.append(step)
    result.train_loss.append(train_loss)
    result.val_loss.append(val_loss)
    if val_loss < result.best_val_loss:
        result.best_val_loss, result.best_step = val_loss, step
        result.best_state = copy.deepcopy(model.state_dict())
        return True
    return False
