"""What a length sweep trains and what it gives back: its grid of points (SweepConfig, SweepPoint), the
one-architecture RunConfig behind each point, the estimate of its training time, and one finished point's result
(SweepRow). Running a sweep is lstm_viz.runs.sweep's; saved and published results are lstm_viz.runs.sweep_results'.

A single-architecture run equals that architecture's part of a multi-architecture run: the Trainer draws
every batch from one seeded generator and seeds each model by the run's seed alone.
"""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.run_config import RunConfig
from lstm_viz.core.tasks import TASKS, get_task
from lstm_viz.core.trainer import Trainer
from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules.ranges import STEPS_PER_POINT_RANGE

MAX_POINTS = 60
MAX_SEEDS = 5
# A sweep expected to train longer than this is refused: it would hold a core of a shared server for ages.
MAX_ESTIMATED_SECONDS = 30 * 60

# Seconds per training step, measured on this project's 2-core machine (one torch thread, batch 64, H 32,
# adding problem, evaluation every 25 steps included): about OVERHEAD + T * PER_STEP_OF_T[arch].
# rnn 1.9 / 8.4 / 16 ms at T = 10 / 100 / 200; lstm 2.5 / 11 / 20.5 ms; gru 2.9 / 29 / 56 ms.
_STEP_OVERHEAD_SECONDS = 1.2e-3
_SECONDS_PER_TIME_STEP = {"rnn": 0.075e-3, "lstm": 0.095e-3, "gru": 0.28e-3, "transformer": 0.22e-3}
# The Transformer's attention also costs per pair of positions: T^2 x this. Its two figures are a least-squares fit
# (on relative error) to its measured CPU time per step, same settings: 3.8 / 26 / 73 / 202 ms at T = 10 / 100 / 200
# / 400 (2026-12-02).
_SECONDS_PER_PAIR = {"transformer": 0.62e-6}
_REFERENCE_BATCH, _REFERENCE_HIDDEN = 64, 32


@dataclass(frozen=True)
class SweepPoint:
    length: int
    arch: str
    seed: int

    @property
    def label(self) -> str:
        return f"{ARCHITECTURES[self.arch].label}, T={self.length}, seed {self.seed}"


@dataclass(frozen=True)
class SweepConfig:
    task: str = "adding"
    task_options: tuple[tuple[str, object], ...] = ()
    lengths: tuple[int, ...] = (10, 25, 50, 100)
    archs: tuple[str, ...] = ("rnn", "lstm")
    seeds: tuple[int, ...] = (0,)
    # The budget of every point. LSTM H=32 solves adding T=50 in about 450 steps here, T=100 in 650-1150;
    # 600 keeps the default sweep near half a minute of training on this machine.
    steps_per_point: int = 600
    hidden_size: int = 32  # small: the sweep trains many models; H=32 solves adding T=100 as H=64 does
    num_layers: int = 1
    learning_rate: float = 1e-2  # Adam: 1e-3 needs 3-5x more steps
    batch_size: int = 64
    optimizer: str = "adam"
    clip_grad_norm: float | None = 1.0
    forget_bias: float = 0.0
    eval_every: int = 25
    eval_size: int = 256

    def __post_init__(self) -> None:
        options = self.task_options.items() if isinstance(self.task_options, dict) else self.task_options
        object.__setattr__(self, "task_options", tuple(sorted((str(name), value) for name, value in options)))
        object.__setattr__(self, "lengths", tuple(int(length) for length in self.lengths))
        object.__setattr__(self, "archs", tuple(self.archs))
        object.__setattr__(self, "seeds", tuple(int(seed) for seed in self.seeds))

    def make_task(self):
        return get_task(self.task).with_options(**dict(self.task_options))

    def points(self) -> list[SweepPoint]:
        """Short lengths first, so the chart fills from the left; every architecture at a length together."""
        return [
            SweepPoint(length=length, arch=arch, seed=seed)
            for length in sorted(set(self.lengths))
            for seed in self.seeds
            for arch in self.archs
        ]

    def run_config(self, point: SweepPoint) -> RunConfig:
        """The one-architecture run behind a point. Gradient probes only at the start and the end: a sweep
        reports metrics, and each probe is an unrolled float64 pass."""
        return RunConfig(
            task=self.task,
            task_options=self.task_options,
            length=point.length,
            archs=(point.arch,),
            hidden_size=self.hidden_size,
            num_layers=self.num_layers,
            forget_bias=self.forget_bias,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            batch_size=self.batch_size,
            clip_grad_norm=self.clip_grad_norm,
            seed=point.seed,
            max_steps=self.steps_per_point,
            eval_every=self.eval_every,
            eval_size=self.eval_size,
            probe_every=self.steps_per_point,
            probe_size=4,
            trace_examples=1,
            stop_when_solved=True,
            # A point's result is its metric after the whole budget (or its solve): the length sweep asks whether
            # more training would help, and the shipped sweep results were trained this way.
            train_to_budget=True,
            max_checkpoints=2,
        )

    def validate(self) -> "SweepConfig":
        if self.task not in TASKS:
            raise ConfigError(f"unknown task {self.task!r}; known: {', '.join(TASKS)}")
        if not self.lengths:
            raise ConfigError("pick at least one sequence length")
        if not self.archs:
            raise ConfigError("pick at least one architecture")
        if not self.seeds:
            raise ConfigError("pick at least one seed")
        if len(set(self.seeds)) > MAX_SEEDS:
            raise ConfigError(f"at most {MAX_SEEDS} seeds per sweep (got {len(set(self.seeds))})")
        low, high = STEPS_PER_POINT_RANGE
        if not low <= self.steps_per_point <= high:
            raise ConfigError(f"steps per point must be between {low:,} and {high:,} (got {self.steps_per_point})")
        count = len(self.points())
        if count > MAX_POINTS:
            raise ConfigError(f"this sweep has {count} points; the limit is {MAX_POINTS}: pick fewer lengths, "
                              "architectures or seeds")
        for point in self.points():
            self.run_config(point).validate()  # lengths per task, architectures, ranges, compute budget
        seconds = self.estimated_seconds()
        if seconds > MAX_ESTIMATED_SECONDS:
            raise ConfigError(
                f"this sweep would train for up to about {format_duration(seconds)} on this machine; the limit is "
                f"{format_duration(MAX_ESTIMATED_SECONDS)}. Lower the steps per point, the hidden size or the "
                "longest length, or pick fewer points"
            )
        return self

    def point_seconds(self, point: SweepPoint) -> float:
        """Upper estimate of one point's training time on this machine: its whole step budget."""
        task = self.make_task()
        steps = task.sequence_length(point.length)
        # Above the measured size the work grows with the multiply-adds (batch x hidden x (hidden + input)).
        work = (self.batch_size * self.hidden_size * (self.hidden_size + task.input_size) * self.num_layers) / (
            _REFERENCE_BATCH * _REFERENCE_HIDDEN * (_REFERENCE_HIDDEN + task.input_size))
        per_time_step = _SECONDS_PER_TIME_STEP.get(point.arch, max(_SECONDS_PER_TIME_STEP.values()))
        per_step = steps * per_time_step + steps * steps * _SECONDS_PER_PAIR.get(point.arch, 0.0)
        return self.steps_per_point * (_STEP_OVERHEAD_SECONDS + per_step * max(1.0, work))

    def estimated_seconds(self, cache=None) -> float:
        """Upper estimate of the whole sweep (points solved early take less; points in `cache`, a PointCache, take
        nothing)."""
        return sum(
            self.point_seconds(point) for point in self.points()
            if cache is None or cache.get(self.run_config(point)) is None
        )

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "SweepConfig":
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        for name in ("lengths", "archs", "seeds"):
            if name in known:
                known[name] = tuple(known[name])
        if "task_options" in known:
            options = known["task_options"]
            known["task_options"] = tuple(options.items()) if isinstance(options, dict) else tuple(map(tuple, options))
        return cls(**known)


DEFAULT_SWEEP = SweepConfig()


@dataclass(frozen=True)
class SweepRow:
    """One finished point: what the result table and the chart show."""
    task: str
    arch: str
    label: str
    length: int
    seed: int
    metric_name: str
    final_metric: float  # test metric at the last evaluation (when solved, at the step it was solved)
    best_metric: float  # lowest test metric over the evaluations after step 0
    baseline: float  # the task's no-memory baseline at this length
    solved_threshold: float
    solved_step: int | None
    steps_trained: int
    status: str  # solved | budget | diverged
    wall_seconds: float  # building the run, training and evaluating, on the machine that ran it
    train_seconds: float
    cached: bool = False  # taken from the cache, not trained in this sweep

    @property
    def beats_baseline(self) -> bool:
        """Below 90% of the baseline: the same margin as the Trainer's verdict."""
        return math.isfinite(self.final_metric) and self.final_metric < 0.9 * self.baseline

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> "SweepRow":
        known = {k: v for k, v in values.items() if k in cls.__dataclass_fields__}
        for name in ("final_metric", "best_metric"):
            known[name] = math.nan if known.get(name) is None else float(known[name])
        return cls(**known)


def row_from_trainer(trainer: Trainer, wall_seconds: float) -> SweepRow:
    (arch, run), = trainer.runs.items()
    config = trainer.config
    later = [value for step, value in zip(run.eval_steps, run.eval_metric) if step > 0 and math.isfinite(value)]
    return SweepRow(
        task=config.task,
        arch=arch,
        label=run.label,
        length=config.length,
        seed=config.seed,
        metric_name=trainer.task.metric_name,
        final_metric=run.last_metric if run.last_metric is not None else math.nan,
        best_metric=min(later) if later else math.nan,
        baseline=trainer.baseline,
        solved_threshold=trainer.solved_threshold,
        solved_step=run.solved_step,
        steps_trained=run.steps[-1] if run.steps else 0,
        status=run.status,
        wall_seconds=wall_seconds,
        train_seconds=trainer.elapsed,
    )


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"
