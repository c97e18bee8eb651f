"""Tuning: a grid of learning rate x hidden size x batch size, every point one LSTM training run on the same task,
length and seed, through the server's scheduler and the sweep's per-server point cache (lstm_viz.practices.grid_points).
Its result is the final test metric and the time to solve (steps and measured seconds) of every point, and a takeaway
computed from them."""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass, field, replace
from typing import Callable, Hashable, Iterator

from lstm_viz.core.tasks import get_task
from lstm_viz.practices.experiment_thread import Update
from lstm_viz.practices.grid_points import cached_row, iter_points, point_run_config
from lstm_viz.practices.step_timing import timed_job
from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules.ranges import (
    LAB_TUNE_BATCH_SIZES, LAB_TUNE_HIDDEN_SIZES, LAB_TUNE_LEARNING_RATES, LAB_TUNE_MAX_POINTS, LAB_TUNE_STEPS_RANGE,
)
from lstm_viz.runs.scheduler import Scheduler
from lstm_viz.runs.sweep import MAX_ESTIMATED_SECONDS, POINT_CACHE, PointCache, SweepConfig, SweepRow, format_duration

TUNING_ARCH = "lstm"


@dataclass(frozen=True)
class TuningPoint:
    learning_rate: float
    hidden_size: int
    batch_size: int

    @property
    def label(self) -> str:
        return f"lr {self.learning_rate:g}, hidden {self.hidden_size}, batch {self.batch_size}"


@dataclass(frozen=True)
class TuningConfig:
    task: str = "adding"
    length: int = 50  # the LSTM solves adding T=50 in about 450 steps at lr 1e-2, H 64 (shared/notes/measured.md)
    learning_rates: tuple[float, ...] = (3e-3, 1e-2, 3e-2)
    hidden_sizes: tuple[int, ...] = (16, 32, 64)
    batch_sizes: tuple[int, ...] = (32, 64)
    # At 600 steps only 3 of 18 points solved T=50 (lr 1e-3 and 3e-3 none): too short a budget to tell them apart.
    steps_per_point: int = 1500
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "learning_rates", tuple(sorted({float(v) for v in self.learning_rates})))
        object.__setattr__(self, "hidden_sizes", tuple(sorted({int(v) for v in self.hidden_sizes})))
        object.__setattr__(self, "batch_sizes", tuple(sorted({int(v) for v in self.batch_sizes})))

    def points(self) -> list[TuningPoint]:
        return [TuningPoint(lr, hidden, batch) for batch, lr, hidden in
                itertools.product(self.batch_sizes, self.learning_rates, self.hidden_sizes)]

    def sweep_config(self, point: TuningPoint) -> SweepConfig:
        return SweepConfig(task=self.task, lengths=(self.length,), archs=(TUNING_ARCH,), seeds=(self.seed,),
                           steps_per_point=self.steps_per_point, hidden_size=point.hidden_size,
                           learning_rate=point.learning_rate, batch_size=point.batch_size)

    def estimated_seconds(self, cache: PointCache | None = None) -> float:
        """Upper estimate on a quiet machine: every point's whole budget; points in `cache` cost nothing."""
        return sum(self.sweep_config(point).point_seconds(self.sweep_config(point).points()[0])
                   for point in self.points() if cached_row(self.sweep_config(point), cache) is None)

    def validate(self) -> "TuningConfig":
        for name, values, menu in (("learning rates", self.learning_rates, LAB_TUNE_LEARNING_RATES),
                                   ("hidden sizes", self.hidden_sizes, LAB_TUNE_HIDDEN_SIZES),
                                   ("batch sizes", self.batch_sizes, LAB_TUNE_BATCH_SIZES)):
            if not values:
                raise ConfigError(f"pick at least one of the {name}")
            if any(value not in menu for value in values):
                raise ConfigError(f"{name} must be among {', '.join(f'{v:g}' for v in menu)} (got {values})")
        low, high = LAB_TUNE_STEPS_RANGE
        if not low <= self.steps_per_point <= high:
            raise ConfigError(f"steps per point must be between {low:,} and {high:,} (got {self.steps_per_point})")
        count = len(self.points())
        if count > LAB_TUNE_MAX_POINTS:
            raise ConfigError(f"this grid has {count} points; the limit is {LAB_TUNE_MAX_POINTS}")
        for point in self.points():
            self.sweep_config(point).validate()  # the task's lengths, the ranges, the compute budget
        seconds = self.estimated_seconds()
        if seconds > MAX_ESTIMATED_SECONDS:
            raise ConfigError(f"this grid would train for up to about {format_duration(seconds)}; the limit is "
                              f"{format_duration(MAX_ESTIMATED_SECONDS)}: fewer points or fewer steps per point")
        return self


@dataclass(frozen=True)
class TuningResult:
    config: TuningConfig
    rows: tuple[SweepRow | None, ...]  # in the order of config.points(); None: not trained (stopped before it)
    # Seconds per training step by (hidden size, batch size), timed side by side in this run
    # (lstm_viz.practices.step_timing); the learning rate does not change a step's work.
    step_seconds: dict = field(default_factory=dict)

    def cells(self) -> list[tuple[TuningPoint, SweepRow]]:
        return [(point, row) for point, row in zip(self.config.points(), self.rows) if row is not None]

    def solve_seconds(self, point: TuningPoint, row: SweepRow) -> float | None:
        """The steps to the solve at the side-by-side measured time per step (training steps only); None: unsolved."""
        if row.solved_step is None:
            return None
        return row.solved_step * self.step_seconds[(point.hidden_size, point.batch_size)]


def iter_tuning(config: TuningConfig, should_stop: Callable[[], bool], scheduler: Scheduler | None = None,
                owner: Hashable = None, cache: PointCache | None = POINT_CACHE) -> Iterator[Update]:
    """First every (hidden size, batch size) pair's training step timed side by side (one short job), then each grid
    point in turn (batch size outermost, so a facet fills before the next); `partial` is a TuningResult of the points
    so far."""
    config.validate()
    points = config.points()
    configs = [config.sweep_config(point) for point in points]
    pairs = {}
    for point, sweep_config in zip(points, configs):
        pairs.setdefault((point.hidden_size, point.batch_size), point_run_config(sweep_config))
    step_seconds = yield from timed_job(pairs, "tuning: time per step", should_stop, scheduler, owner)
    if step_seconds is None:
        return
    for update in iter_points(configs, [point.label for point in points], cache, should_stop, scheduler, owner):
        yield replace(update, partial=TuningResult(config, tuple(update.partial), step_seconds))


def tuning_takeaway(result: TuningResult) -> str:
    """One sentence from the numbers. A point stops when it solves, so the solved points are ranked by their time to
    solve (steps x the side-by-side measured time per step; a solved point's final metric is only its first below
    the threshold); the points that did not solve, by their metric after the whole budget."""
    cells = [(point, row) for point, row in result.cells() if math.isfinite(row.final_metric)]
    if not cells:
        return "No grid point has finished yet."
    metric = cells[0][1].metric_name
    config = result.config
    task = f"{get_task(config.task).label.lower()} T={config.length} within {config.steps_per_point:,} steps"
    solved = [(point, row) for point, row in cells if row.solved_step is not None]
    unsolved = [(point, row) for point, row in cells if row.solved_step is None]
    if not solved:
        best_point, best = min(unsolved, key=lambda cell: cell[1].final_metric)
        worst_point, worst = max(unsolved, key=lambda cell: cell[1].final_metric)
        return (f"No point solved the {task}: the best reached {metric} {best.final_metric:.3g} ({best_point.label}), "
                f"the worst {worst.final_metric:.3g} ({worst_point.label}).")
    seconds = lambda cell: result.solve_seconds(*cell)  # noqa: E731
    fast = min(solved, key=seconds)
    text = f"Fastest to solve: {fast[0].label}, {fast[1].solved_step:,} steps in {seconds(fast):.1f} s"
    if len(solved) > 1:
        slow = max(solved, key=seconds)
        text += f"; the slowest solve took {seconds(slow):.1f} s ({slow[0].label})"
    text += f". {len(solved)} of {len(cells)} points solved the {task}"
    if unsolved:
        best_point, best = min(unsolved, key=lambda cell: cell[1].final_metric)
        text += f"; of the others the best reached {metric} {best.final_metric:.3g} ({best_point.label})"
    return text + "."
