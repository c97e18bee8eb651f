"""Stacking: the same cell, task, seed and width with 1, 2 or 3 layers, each one training run through the server's
scheduler and the sweep's per-server point cache (lstm_viz.practices.grid_points). Its result per depth: the final
test metric, the measured training time per step and the parameter count; and a takeaway computed from them."""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Callable, Hashable, Iterator

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.tasks import get_task
from lstm_viz.practices.experiment_thread import Update
from lstm_viz.practices.grid_points import iter_points, point_run_config
from lstm_viz.practices.step_timing import timed_job
from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules.ranges import LAB_STACK_LAYERS, LAB_STACK_STEPS_RANGE
from lstm_viz.runs.scheduler import Scheduler
from lstm_viz.runs.sweep import POINT_CACHE, PointCache, SweepConfig, SweepRow

SAME_METRIC_SHARE = 0.10  # metrics (or times to solve) within 10% count as the same result: the fewer layers win


@dataclass(frozen=True)
class StackingConfig:
    task: str = "adding"
    length: int = 50
    arch: str = "lstm"
    layers: tuple[int, ...] = LAB_STACK_LAYERS
    hidden_size: int = 32
    learning_rate: float = 1e-2
    batch_size: int = 64
    steps: int = 1500  # at 600 the 3-layer LSTM had not solved T=50 yet (MSE 0.15): deeper stacks start slower
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "layers", tuple(sorted({int(v) for v in self.layers})))

    def sweep_config(self, layers: int) -> SweepConfig:
        return SweepConfig(task=self.task, lengths=(self.length,), archs=(self.arch,), seeds=(self.seed,),
                           steps_per_point=self.steps, hidden_size=self.hidden_size, num_layers=layers,
                           learning_rate=self.learning_rate, batch_size=self.batch_size)

    def validate(self) -> "StackingConfig":
        if not self.layers or any(layers not in LAB_STACK_LAYERS for layers in self.layers):
            raise ConfigError(f"layers must be among {LAB_STACK_LAYERS} (got {self.layers})")
        if self.arch not in ARCHITECTURES or not ARCHITECTURES[self.arch].recurrent:
            raise ConfigError(f"stacking compares recurrent cells: rnn, gru or lstm (got {self.arch!r})")
        low, high = LAB_STACK_STEPS_RANGE
        if not low <= self.steps <= high:
            raise ConfigError(f"steps must be between {low:,} and {high:,} (got {self.steps})")
        for layers in self.layers:
            self.sweep_config(layers).validate()
        return self

    def solved_threshold(self) -> float:
        return get_task(self.task).solved_threshold(self.length)

    def parameter_count(self, layers: int) -> int:
        """From the model's parameter shapes (computed without allocating a weight)."""
        shapes = point_run_config(self.sweep_config(layers)).model_config(self.arch).parameter_shapes()
        return sum(math.prod(shape) for shape in shapes.values())


@dataclass(frozen=True)
class StackingRow:
    layers: int
    metric_name: str
    final_metric: float
    solved_step: int | None
    steps_trained: int
    # Measured side by side: every depth's training step (forward, backward, clipping, Adam) timed in turns on one
    # batch in the same job, so all depths run under the same load (the runs' own wall times are not comparable: a
    # depth may come from the cache, trained while the server was busier or quieter).
    seconds_per_step: float
    parameters: int
    cached: bool  # this depth's run was taken from the server's point cache


@dataclass(frozen=True)
class StackingResult:
    config: StackingConfig
    rows: tuple[StackingRow, ...]  # the depths finished so far, fewest layers first


def stacking_row(config: StackingConfig, layers: int, row: SweepRow, seconds_per_step: float) -> StackingRow:
    return StackingRow(layers=layers, metric_name=row.metric_name, final_metric=row.final_metric,
                       solved_step=row.solved_step, steps_trained=row.steps_trained,
                       seconds_per_step=seconds_per_step, parameters=config.parameter_count(layers),
                       cached=row.cached)


def iter_stacking(config: StackingConfig, should_stop: Callable[[], bool], scheduler: Scheduler | None = None,
                  owner: Hashable = None, cache: PointCache | None = POINT_CACHE) -> Iterator[Update]:
    """First the time per step of every depth, side by side (one short job), then each depth's run (a sweep point,
    maybe from the cache); `partial` is a StackingResult of the depths finished so far."""
    config.validate()
    runs = {layers: point_run_config(config.sweep_config(layers)) for layers in config.layers}
    timings = yield from timed_job(runs, "stacking: time per step", should_stop, scheduler, owner)
    if timings is None:
        return
    configs = [config.sweep_config(layers) for layers in config.layers]
    labels = [f"{layers} layer{'s' if layers > 1 else ''}" for layers in config.layers]
    for update in iter_points(configs, labels, cache, should_stop, scheduler, owner):
        rows = tuple(stacking_row(config, layers, row, timings[layers])
                     for layers, row in zip(config.layers, update.partial) if row is not None)
        yield replace(update, partial=StackingResult(config, rows))


def _layers(count: int) -> str:
    return f"{count} layer{'s' if count > 1 else ''}"


def _solve_seconds(row: StackingRow) -> float:
    """Steps to the solve (the run stopped there) at the depth's side-by-side measured time per step."""
    return row.seconds_per_step * row.steps_trained


def _cost(row: StackingRow, shallow: StackingRow) -> str:
    return (f"{row.seconds_per_step / shallow.seconds_per_step:.1f}x the time per step and "
            f"{row.parameters / shallow.parameters:.1f}x the parameters")


def _outcome(row: StackingRow) -> str:
    if row.solved_step is not None:
        return f"took {row.solved_step:,} steps ({_solve_seconds(row):.1f} s)"
    return f"did not solve it in {row.steps_trained:,} steps ({row.metric_name} {row.final_metric:.3g})"


def stacking_takeaway(result: StackingResult) -> str:
    """One sentence from the numbers. A depth stops when it solves, so solved depths are compared by their
    measured time to solve; when none solved, by the metric after the same budget (a deeper one counts as better
    only if it beat the shallowest by more than SAME_METRIC_SHARE)."""
    rows = [row for row in result.rows if math.isfinite(row.final_metric)]
    if not rows:
        return "No depth has finished yet."
    shallow = min(rows, key=lambda row: row.layers)
    if len(rows) == 1:
        return f"Only {_layers(shallow.layers)} finished: {shallow.metric_name} {shallow.final_metric:.3g}."
    name, deepest = shallow.metric_name, max(rows, key=lambda row: row.layers)
    solved = [row for row in rows if row.solved_step is not None]
    if solved:
        fastest = min(solved, key=_solve_seconds)
        if shallow.solved_step is not None and _solve_seconds(fastest) >= (1 - SAME_METRIC_SHARE) * _solve_seconds(
                shallow):  # a deeper stack less than 10% quicker to solve does not count as better
            others = ", ".join(f"{_layers(row.layers)} {_outcome(row)}" for row in rows if row is not shallow)
            return (f"Stacking did not help: {_layers(shallow.layers)} solved in {shallow.solved_step:,} steps "
                    f"({_solve_seconds(shallow):.1f} s); {others}, at up to {_cost(deepest, shallow)}.")
        return (f"{_layers(fastest.layers)} solved fastest: {fastest.solved_step:,} steps "
                f"({_solve_seconds(fastest):.1f} s), where {_layers(shallow.layers)} {_outcome(shallow)}; at "
                f"{_cost(fastest, shallow)}.")
    best = min(rows, key=lambda row: row.final_metric)
    if best is shallow or best.final_metric >= (1 - SAME_METRIC_SHARE) * shallow.final_metric:
        others = " and ".join(f"{row.final_metric:.3g} with {row.layers}" for row in rows if row is not shallow)
        return (f"Stacking did not help: no depth solved it; {_layers(shallow.layers)} reached {name} "
                f"{shallow.final_metric:.3g}, against {others} layers, at up to {_cost(deepest, shallow)}.")
    return (f"No depth solved it, but {_layers(best.layers)} came closest: {name} {best.final_metric:.3g} against "
            f"{shallow.final_metric:.3g} with {_layers(shallow.layers)}, at {_cost(best, shallow)} "
            f"({best.seconds_per_step * 1e3:.1f} ms against {shallow.seconds_per_step * 1e3:.1f} ms per step, "
            f"{best.parameters:,} against {shallow.parameters:,} parameters).")
