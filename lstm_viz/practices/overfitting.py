"""Practice 1, overfitting: a network trained again and again on a short series learns its training windows by heart
while its validation loss turns and climbs; dropout, weight decay and early stopping, each on and off.

Every arm trains the same initial weights (one seed) on the same fixed training windows in the same batch order
(lstm_viz.practices.fitting), and is scored on the same validation windows. The data: the training part of a
bundled series (the sunspots by default: 229 years give about 200 windows, "a small training set"), read as the
Forecast page's models read it (standardised on the training part, changes from the window's last value). A
sentiment set of 200 generated reviews was tried first: its 813-word vocabulary left the validation loss within
2% of chance at its best, so there was no good checkpoint to keep.

Arms: none; dropout; weight decay; early stopping; all three. An arm with early stopping stops after `patience`
evaluations without a better validation loss and restores its best checkpoint, whose weights are the ones scored;
the others are scored on their final weights (their best step is still marked).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import numpy as np
import torch

from lstm_viz.analysis.forecasting import model_forecast
from lstm_viz.core.model import ModelConfig, build_model
from lstm_viz.core.tasks.forecast import ForecastTask, configured_forecast_task
from lstm_viz.data.series import mae, origins, truth, windows
from lstm_viz.practices.fitting import FitResult, FitSettings, fit
from lstm_viz.rules import checks
from lstm_viz.rules.ranges import LAB_HIDDEN_RANGE

SERIES_CHOICES = ("sunspots", "airline", "co2")
HIDDEN_CHOICES = (32, 64, 128)
STEP_CHOICES = (400, 800, 1600)
DROPOUT_CHOICES = (0.1, 0.2, 0.3, 0.5)
DECAY_CHOICES = (0.1, 0.3, 1.0, 3.0)  # AdamW's decoupled weight decay
PATIENCE_CHOICES = (5, 10, 20)
ARMS = ("none", "dropout", "weight_decay", "early_stopping", "all")
ARM_LABELS = {"none": "none of them", "dropout": "dropout", "weight_decay": "weight decay",
              "early_stopping": "early stopping", "all": "all three"}
HELPED_BY = 0.05  # an arm helped when its validation loss is more than 5% below the plain arm's


@dataclass(frozen=True)
class OverfitSettings:
    series: str = "sunspots"
    hidden_size: int = 64
    steps: int = 800
    dropout: float = 0.3
    weight_decay: float = 1.0
    patience: int = 10  # evaluations (of every `eval_every` steps) without improvement
    learning_rate: float = 1e-2
    batch_size: int = 32
    eval_every: int = 20
    seed: int = 0

    def validate(self) -> "OverfitSettings":
        checks.one_of("series", self.series, SERIES_CHOICES)
        checks.whole_number("hidden size", self.hidden_size, *LAB_HIDDEN_RANGE)
        checks.whole_number("steps", self.steps, 1, 5000)
        self.fit_settings("all").validate()
        return self

    def fit_settings(self, arm: str) -> FitSettings:
        early = arm in ("early_stopping", "all")
        return FitSettings(
            steps=self.steps, batch_size=self.batch_size, learning_rate=self.learning_rate,
            dropout=self.dropout if arm in ("dropout", "all") else 0.0,
            weight_decay=self.weight_decay if arm in ("weight_decay", "all") else 0.0,
            patience=self.patience if early else None, eval_every=self.eval_every, seed=self.seed,
            restore_best=early)

    def units(self) -> float:
        """Planned work for the scheduler: training steps over every arm."""
        return float(self.steps * len(ARMS))


@dataclass
class ArmResult:
    arm: str
    fit: FitResult  # its curves, best checkpoint, where it stopped
    reported_val_loss: float  # of the weights it ends with (the restored best checkpoint with early stopping)
    reported_step: int
    test_mae: float  # of those weights, on the test part, in the series' units

    @property
    def label(self) -> str:
        return ARM_LABELS[self.arm]


@dataclass
class OverfitResult:
    settings: OverfitSettings
    series_label: str
    unit: str
    train_windows: int
    val_windows: int
    arms: dict[str, ArmResult]

    @property
    def seconds(self) -> float:
        return sum(arm.fit.seconds for arm in self.arms.values())


def fixed_windows(task: ForecastTask, split: str, length: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Every window of a part of the series, as the Forecast page's models read them."""
    at = origins(task.series, split, length, task.horizon)
    inputs, targets = windows(task.scaled, at, length, task.horizon)
    return torch.from_numpy(inputs[..., None].astype(np.float32)), torch.from_numpy(targets.astype(np.float32))


def run_overfitting(settings: OverfitSettings, should_stop: Callable[[], bool] = lambda: False,
                    on_progress: Callable[[float], None] = lambda fraction: None) -> OverfitResult | None:
    """Train every arm; None if `should_stop()` turned true first."""
    settings.validate()
    task = configured_forecast_task(settings.series, None, None)
    length = task.default_length
    train, val = fixed_windows(task, "train", length), fixed_windows(task, "val", length)
    at = origins(task.series, "test", length, task.horizon)
    actual = truth(task.series.values, at, task.horizon)
    config = ModelConfig.for_task("lstm", task, hidden_size=settings.hidden_size)
    arms = {}
    for index, arm in enumerate(ARMS):
        model = build_model(config, settings.seed)
        fitted = fit(model, task.per_example_loss, train, val, settings.fit_settings(arm), should_stop,
                     lambda fraction, i=index: on_progress((i + fraction) / len(ARMS)))
        if fitted is None:
            return None
        reported = (fitted.best_val_loss, fitted.best_step) if fitted.restored else (fitted.val_loss[-1], fitted.steps[-1])
        test_mae = mae(model_forecast(model, task, task.series.values, at, length), actual)
        arms[arm] = ArmResult(arm, fitted, float(reported[0]), int(reported[1]), test_mae)
    return OverfitResult(settings, task.series.label, task.series.unit, len(train[0]), len(val[0]), arms)


def _number(value: float) -> str:
    return f"{value:.3g}"


def overfitting_takeaway(result: OverfitResult) -> str:
    """One line computed from the arms: what the plain arm did, which practice kept the validation loss lowest and
    by how much, and which did not help (each compared with the plain arm)."""
    plain = result.arms["none"]
    curve = plain.fit
    rose = curve.val_loss[-1] > curve.best_val_loss * (1 + HELPED_BY)
    if rose:
        opening = (f"With none of them the training loss fell to {_number(curve.train_loss[-1])} while the validation "
                   f"loss rose from {_number(curve.best_val_loss)} (step {curve.best_step}) to "
                   f"{_number(curve.val_loss[-1])} (step {curve.steps[-1]}).")
    else:
        opening = (f"With none of them the validation loss ended at {_number(curve.val_loss[-1])}, within "
                   f"{HELPED_BY:.0%} of its best ({_number(curve.best_val_loss)}): this run did not overfit.")
    others = [arm for name, arm in result.arms.items() if name != "none"]
    helped = [arm for arm in others if arm.reported_val_loss < plain.reported_val_loss * (1 - HELPED_BY)]
    not_helped = [arm for arm in others if arm not in helped]
    parts = [opening]
    if helped:
        best = min(helped, key=lambda arm: arm.reported_val_loss)
        detail = (f"best step {best.reported_step} of {result.settings.steps}, restored"
                  if best.fit.restored else f"final step {best.reported_step}")
        parts.append(f"{best.label.capitalize()} kept it lowest: {_number(best.reported_val_loss)} against "
                     f"{_number(plain.reported_val_loss)} without ({detail}; test MAE {_number(best.test_mae)} "
                     f"against {_number(plain.test_mae)} {result.unit}).")
        rest = [arm for arm in helped if arm is not best]
        if rest:
            parts.append("Also below: " + ", ".join(f"{arm.label} {_number(arm.reported_val_loss)}" for arm in rest) + ".")
    if not_helped:
        parts.append(("None of them helped: " if not helped else "No help from ")
                     + ", ".join(f"{arm.label} ({_number(arm.reported_val_loss)})" for arm in not_helped) + ".")
    return " ".join(parts)
