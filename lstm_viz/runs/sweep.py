"""Sequence-length sweep: train each architecture with the same small budget at several lengths and seeds.

A sweep is a grid of points (length, architecture, seed); each point is one single-architecture RunConfig
trained by the ordinary Trainer until it solves the task or uses its step budget. Points run one at a time
and report progress after every training step, so a caller can draw progress and stop between steps; a
stopped sweep keeps only the points it finished. Finished points are cached per process by their RunConfig,
so rerunning a sweep, or another session running the same one, trains nothing twice.

A single-architecture run equals that architecture's part of a multi-architecture run: the Trainer draws
every batch from one seeded generator and seeds each model by the run's seed alone.

On a server, each point is a job of the server's scheduler (lstm_viz.runs.scheduler): it queues for a slot as a training
does, in turn with every other session's jobs, so a sweep never trains beside the server's limit.

Nothing here knows about Streamlit: `BackgroundSweep` runs a sweep in a thread and hands out snapshots.
"""
from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Hashable, Iterator

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.rules.errors import ConfigError
from lstm_viz.runs.scheduler import Scheduler, Ticket
from lstm_viz.core.tasks import TASKS, get_task
from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.rules import paths

log = logging.getLogger(__name__)

ASSETS = paths.ASSETS_DIR
PUBLISHED_RESULTS_PATH = ASSETS / "published_results.json"
SWEEPS_DIR = ASSETS / "sweeps"

STEPS_PER_POINT_RANGE = (1, 20_000)
MAX_POINTS = 60
MAX_SEEDS = 5
# A sweep expected to train longer than this is refused: it would hold a core of a shared server for ages.
MAX_ESTIMATED_SECONDS = 30 * 60

# Seconds per training step, measured on this project's 2-core machine (one torch thread, batch 64, H 32,
# adding problem, evaluation every 25 steps included): about OVERHEAD + T * PER_STEP_OF_T[arch].
# rnn 1.9 / 8.4 / 16 ms at T = 10 / 100 / 200; lstm 2.5 / 11 / 20.5 ms; gru 2.9 / 29 / 56 ms.
_STEP_OVERHEAD_SECONDS = 1.2e-3
_SECONDS_PER_TIME_STEP = {"rnn": 0.075e-3, "lstm": 0.095e-3, "gru": 0.28e-3}
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
        return self.steps_per_point * (_STEP_OVERHEAD_SECONDS + steps * per_time_step * max(1.0, work))

    def estimated_seconds(self, cache: "PointCache | None" = None) -> float:
        """Upper estimate of the whole sweep (points solved early take less; cached points take nothing)."""
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


def _json_number(value: float) -> float | None:
    return value if math.isfinite(value) else None


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


def config_key(config: RunConfig) -> str:
    return json.dumps(config.to_dict(), sort_keys=True, default=str)


class PointCache:
    """Finished points by their RunConfig's JSON: bounded (least recently used goes first), thread-safe.
    One per server process, shared by every session; rows are a few hundred bytes each."""

    def __init__(self, max_entries: int = 4096):
        self.max_entries = max_entries
        self._rows: OrderedDict[str, SweepRow] = OrderedDict()
        self._in_flight: dict[str, threading.Event] = {}  # points some thread is training now
        self._lock = threading.Lock()

    def get(self, config: RunConfig) -> SweepRow | None:
        key = config_key(config)
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
            return row

    def claim(self, config: RunConfig) -> tuple[SweepRow | None, threading.Event | None]:
        """(row, None): the point is finished. (None, None): the caller now owns it, must train it and then
        `release` it. (None, event): another thread is training it; wait for the event, then claim again.
        So thirty sessions pressing Start on the same sweep train each point once, not thirty times."""
        key = config_key(config)
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
                return row, None
            if key in self._in_flight:
                return None, self._in_flight[key]
            self._in_flight[key] = threading.Event()
            return None, None

    def release(self, config: RunConfig) -> None:
        """The owner is done with a point (finished and put, or stopped): wake the threads waiting for it."""
        with self._lock:
            event = self._in_flight.pop(config_key(config), None)
        if event is not None:
            event.set()

    def put(self, config: RunConfig, row: SweepRow) -> None:
        key = config_key(config)
        with self._lock:
            self._rows[key] = replace(row, cached=False)
            self._rows.move_to_end(key)
            while len(self._rows) > self.max_entries:
                self._rows.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._rows.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._rows)


POINT_CACHE = PointCache()


@dataclass(frozen=True)
class SweepEvent:
    point_index: int  # 0-based index of the point this event is about
    point_count: int
    point: SweepPoint
    step: int  # training step reached within the point
    max_steps: int
    row: SweepRow | None = None  # set when the point finished (trained or taken from the cache)
    waiting: bool = False  # another thread (session) is training this point; its result will be used
    queued: Ticket | None = None  # set while the point waits for one of the server's slots


_WAIT_POLL_SECONDS = 0.25  # how often a thread waiting for another's point checks for Stop


SWEEP_POINT_KIND = "sweep point"


def iter_sweep(
    config: SweepConfig,
    cache: PointCache | None = POINT_CACHE,
    should_stop: Callable[[], bool] = lambda: False,
    scheduler: Scheduler | None = None,
    owner: Hashable = None,
) -> Iterator[SweepEvent]:
    """Train the points one at a time, yielding after every training step and when a point finishes.
    `should_stop` is checked between steps; a point stopped part-way is dropped, never cached. With a `scheduler`,
    each point first waits for a slot there (queued under `owner`), yielding `queued` events meanwhile; a point the
    scheduler stops (its wall-time cap, a shutdown) ends the sweep as a stop does."""
    config.validate()
    points = config.points()
    for index, point in enumerate(points):
        if should_stop():
            return
        run_config = config.run_config(point)
        cached = None
        while cache is not None:
            cached, busy = cache.claim(run_config)
            if busy is None:
                break
            yield SweepEvent(index, len(points), point, 0, config.steps_per_point, waiting=True)
            while not busy.wait(_WAIT_POLL_SECONDS):
                if should_stop():
                    return
        if cached is not None:
            yield SweepEvent(index, len(points), point, cached.steps_trained, config.steps_per_point,
                             row=replace(cached, cached=True))
            continue
        gflop = run_config.estimated_step_gflop()
        ticket = None
        completed = False
        try:
            if scheduler is not None:
                ticket = scheduler.submit(owner, SWEEP_POINT_KIND, gflop * config.steps_per_point, label=point.label)
                while not ticket.wait_admitted(_WAIT_POLL_SECONDS):
                    if should_stop() or ticket.cancelled:
                        return
                    yield SweepEvent(index, len(points), point, 0, config.steps_per_point, queued=ticket)
            yield SweepEvent(index, len(points), point, 0, config.steps_per_point)  # building the run
            started = time.perf_counter()
            trainer = Trainer(run_config)
            while not trainer.finished:
                if should_stop() or (ticket is not None and ticket.should_stop()):
                    return
                trainer.train_step()
                if ticket is not None:
                    ticket.progress(trainer.step * gflop)
                if not trainer.finished:
                    yield SweepEvent(index, len(points), point, trainer.step, config.steps_per_point)
            row = row_from_trainer(trainer, time.perf_counter() - started)
            if cache is not None:
                cache.put(run_config, row)
            completed = True
        finally:
            if ticket is not None:
                ticket.finish(completed=completed)  # frees the slot (or the place in the queue) at once
            if cache is not None:
                cache.release(run_config)  # also when stopped or closed: a waiting thread then trains it
        yield SweepEvent(index, len(points), point, trainer.step, config.steps_per_point, row=row)


def run_sweep(config: SweepConfig, cache: PointCache | None = POINT_CACHE) -> list[SweepRow]:
    """Every point, in order: for scripts and tests."""
    return [event.row for event in iter_sweep(config, cache) if event.row is not None]


# ----- the result table -----
TABLE_COLUMNS = ("task", "arch", "length", "seed", "final_metric", "best_metric", "baseline", "solved_step",
                 "wall_seconds")


def result_table(rows: list[SweepRow]):
    """A pandas DataFrame, one row per finished point, with the columns of TABLE_COLUMNS and a few more."""
    import pandas as pd

    columns = list(TABLE_COLUMNS) + ["steps_trained", "status", "beats_baseline", "cached"]
    records = [{**row.to_dict(), "beats_baseline": row.beats_baseline} for row in rows]
    return pd.DataFrame.from_records(records, columns=columns)


# ----- saved sweeps (the precomputed default) -----
@dataclass(frozen=True)
class SavedSweep:
    config: SweepConfig
    rows: list[SweepRow]
    info: dict = field(default_factory=dict)  # when, where, how long: shown with the chart


def save_sweep(path: Path, config: SweepConfig, rows: list[SweepRow], info: dict | None = None) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = []
    for row in rows:
        record = row.to_dict()
        record["final_metric"] = _json_number(row.final_metric)
        record["best_metric"] = _json_number(row.best_metric)
        records.append(record)
    payload = {"config": config.to_dict(), "info": info or {}, "rows": records}
    path.write_text(json.dumps(payload, indent=1) + "\n")
    return path


def load_sweep(path: Path) -> SavedSweep:
    payload = json.loads(Path(path).read_text())
    return SavedSweep(
        config=SweepConfig.from_dict(payload["config"]),
        rows=[SweepRow.from_dict(record) for record in payload["rows"]],
        info=payload.get("info", {}),
    )


PRECOMPUTED_SWEEPS = {"adding-default": SWEEPS_DIR / "adding-default.json"}


def load_precomputed_sweep(name: str = "adding-default") -> SavedSweep:
    return load_sweep(PRECOMPUTED_SWEEPS[name])


# ----- published results -----
@dataclass(frozen=True)
class PublishedResult:
    source: str  # key into the file's sources
    short: str  # "Arjovsky, Shah & Bengio 2016"
    citation: str  # the full reference
    url: str
    task: str
    arch: str  # "rnn", "lstm", or a cell this app does not have ("irnn")
    cell: str
    length: int
    beats_baseline: bool
    note: str
    setup: str  # hidden units, optimiser, iterations: how the published run differs from this app's


def load_published_results(path: Path = PUBLISHED_RESULTS_PATH) -> list[PublishedResult]:
    payload = json.loads(Path(path).read_text())
    sources, setups = payload["sources"], payload["setups"]
    return [
        PublishedResult(
            source=row["source"],
            short=sources[row["source"]]["short"],
            citation=sources[row["source"]]["citation"],
            url=sources[row["source"]]["url"],
            task=row["task"],
            arch=row["arch"],
            cell=row["cell"],
            length=int(row["length"]),
            beats_baseline=bool(row["beats_baseline"]),
            note=row["note"],
            setup=setups[row["setup"]],
        )
        for row in payload["results"]
    ]


def format_duration(seconds: float) -> str:
    if seconds < 1:
        return "under a second"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(int(round(seconds)), 60)
    return f"{minutes} min {rest:02d} s"


# ----- running in a background thread -----
@dataclass(frozen=True)
class SweepSnapshot:
    config: SweepConfig
    rows: tuple[SweepRow, ...]
    point_count: int
    current: SweepEvent | None  # the latest progress event
    status: str  # running | finished | stopped | error
    elapsed: float  # wall seconds since the start
    error: str | None = None
    queue_position: int | None = None  # the current point waits for a slot of the server: its place
    queue_wait: float | None = None  # and the estimated seconds until it starts

    @property
    def finished_count(self) -> int:
        return len(self.rows)

    def remaining_seconds(self) -> float:
        """Upper estimate of the time left: the model estimate of the unfinished points, scaled by how fast
        the work so far actually went on this server (a busy server runs several times slower)."""
        if self.status != "running":
            return 0.0
        key = lambda item: (item.length, item.arch, item.seed)  # noqa: E731
        finished = {key(row): row for row in self.rows}
        partial = 0.0
        if self.current is not None and self.current.row is None:
            share = min(1.0, self.current.step / max(1, self.current.max_steps))
            partial = self.config.point_seconds(self.current.point) * share
        points = self.config.points()
        planned_done = partial + sum(self.config.point_seconds(point) for point in points
                                     if key(point) in finished and not finished[key(point)].cached)
        left = sum(self.config.point_seconds(point) for point in points if key(point) not in finished) - partial
        speed = self.elapsed / planned_done if planned_done > 0.5 else 1.0
        return max(0.0, left * max(speed, 0.1)) + (self.queue_wait or 0.0)

    @property
    def fraction(self) -> float:
        """Points done plus the current point's share of its step budget, over all points."""
        if self.point_count == 0:
            return 1.0
        done = float(len(self.rows))
        if self.status == "running" and self.current is not None and self.current.row is None:
            done += min(1.0, self.current.step / max(1, self.current.max_steps))
        return min(1.0, done / self.point_count)


class BackgroundSweep:
    """Runs `iter_sweep` in a daemon thread; readers take snapshots under a short lock. Never calls a UI."""

    def __init__(self, config: SweepConfig, cache: PointCache | None = POINT_CACHE,
                 unwatched_timeout: float | None = None, scheduler: Scheduler | None = None, owner: Hashable = None,
                 torch_threads: int | None = None):
        """`unwatched_timeout`: stop when nobody asked for a snapshot for this many seconds (tab closed).
        `scheduler`: the server's; each point waits there for a slot, queued under `owner` (the session)."""
        self.config = config.validate()
        self.scheduler, self.owner, self.torch_threads = scheduler, owner, torch_threads
        self.cache = cache
        self.unwatched_timeout = unwatched_timeout
        self.error: BaseException | None = None
        self._rows: list[SweepRow] = []
        self._current: SweepEvent | None = None
        self._status = "running"
        self._lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._started = time.monotonic()
        self._ended: float | None = None
        self._last_watched = time.monotonic()
        self._point_count = len(config.points())
        self._thread = threading.Thread(target=self._run, name="lstm-viz-sweep", daemon=True)

    def start(self) -> "BackgroundSweep":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _should_stop(self) -> bool:
        if self._stop_requested.is_set():
            return True
        if self.unwatched_timeout is not None and time.monotonic() - self._last_watched > self.unwatched_timeout:
            self._stop_requested.set()
            return True
        return False

    def _run(self) -> None:
        if self.torch_threads is not None:
            import torch

            torch.set_num_threads(self.torch_threads)
        status = "finished"
        try:
            for event in iter_sweep(self.config, self.cache, self._should_stop, self.scheduler, self.owner):
                with self._lock:
                    self._current = event
                    if event.row is not None:
                        self._rows.append(event.row)
            if len(self._rows) < self._point_count:  # stopped by the user, unwatched, or by the scheduler
                status = "stopped"
        except Exception as error:  # noqa: BLE001 - reported to the page; the server must go on
            log.exception("sweep failed")
            self.error = error
            status = "error"
        with self._lock:
            self._status = status
            self._ended = time.monotonic()

    def snapshot(self) -> SweepSnapshot:
        self._last_watched = time.monotonic()
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            queued = self._current.queued if self._current is not None and self._status == "running" else None
            return SweepSnapshot(
                queue_position=queued.position if queued is not None else None,
                queue_wait=queued.estimated_wait() if queued is not None else None,
                config=self.config,
                rows=tuple(self._rows),
                point_count=self._point_count,
                current=self._current,
                status=self._status,
                elapsed=end - self._started,
                error=None if self.error is None else f"{type(self.error).__name__}: {self.error}",
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the current training step (a few milliseconds); the finished points stay."""
        self._stop_requested.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()
