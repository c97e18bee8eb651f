"""Sequence-length sweep: train each architecture with the same small budget at several lengths and seeds.

A sweep is a grid of points (length, architecture, seed; lstm_viz.runs.sweep_config); each point is one
single-architecture RunConfig trained by the ordinary Trainer until it solves the task or uses its step budget.
Points run one at a time and report progress after every training step, so a caller can draw progress and stop
between steps; a stopped sweep keeps only the points it finished. Finished points are cached per process by their
RunConfig, so rerunning a sweep, or another session running the same one, trains nothing twice.

On a server, each point is a job of the server's scheduler (lstm_viz.runs.scheduler): it queues for a slot as a training
does, in turn with every other session's jobs, so a sweep never trains beside the server's limit.

Nothing here knows about Streamlit: `BackgroundSweep` runs a sweep in a thread and hands out snapshots.
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, replace
from typing import Callable, Generator, Hashable, Iterator

from lstm_viz.core.run_config import RunConfig
from lstm_viz.core.trainer import Trainer
from lstm_viz.rules.ranges import STEPS_PER_POINT_RANGE  # noqa: F401 - the pages read it here
from lstm_viz.runs.scheduler import Scheduler, Ticket
from lstm_viz.runs.sweep_remote import iter_sweep_remote
# The sweep's settings, rows and saved results live in their own modules; the pages and scripts import them from here.
from lstm_viz.runs.sweep_config import (  # noqa: F401
    DEFAULT_SWEEP, MAX_ESTIMATED_SECONDS, MAX_POINTS, MAX_SEEDS, SweepConfig, SweepPoint, SweepRow, format_duration,
    row_from_trainer,
)
from lstm_viz.runs.sweep_results import (  # noqa: F401
    PRECOMPUTED_SWEEPS, PUBLISHED_RESULTS_PATH, SWEEPS_DIR, TABLE_COLUMNS, PublishedResult, SavedSweep,
    load_precomputed_sweep, load_published_results, load_sweep, result_table, save_sweep,
)

log = logging.getLogger(__name__)


class PointCache:
    """Finished points by their RunConfig's JSON: bounded (least recently used goes first), thread-safe.
    One per server process, shared by every session; rows are a few hundred bytes each."""

    def __init__(self, max_entries: int = 4096):
        self.max_entries = max_entries
        self._rows: OrderedDict[str, SweepRow] = OrderedDict()
        self._in_flight: dict[str, threading.Event] = {}  # points some thread is training now
        self._lock = threading.Lock()

    def get(self, config: RunConfig) -> SweepRow | None:
        key = config.key()
        with self._lock:
            row = self._rows.get(key)
            if row is not None:
                self._rows.move_to_end(key)
            return row

    def claim(self, config: RunConfig) -> tuple[SweepRow | None, threading.Event | None]:
        """(row, None): the point is finished. (None, None): the caller now owns it, must train it and then
        `release` it. (None, event): another thread is training it; wait for the event, then claim again.
        So thirty sessions pressing Start on the same sweep train each point once, not thirty times."""
        key = config.key()
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
            event = self._in_flight.pop(config.key(), None)
        if event is not None:
            event.set()

    def put(self, config: RunConfig, row: SweepRow) -> None:
        key = config.key()
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
    if scheduler is not None and scheduler.backend is not None:  # on the cluster, several points at once
        yield from iter_sweep_remote(config, cache, should_stop, scheduler, owner, SweepEvent, SWEEP_POINT_KIND)
        return
    points = config.points()
    for index, point in enumerate(points):
        if should_stop():
            return
        run_config = config.run_config(point)

        def event(step: int, **details) -> SweepEvent:
            return SweepEvent(index, len(points), point, step, config.steps_per_point, **details)

        stopped, cached = yield from _claim_point(cache, run_config, event, should_stop)
        if stopped:
            return
        if cached is not None:
            yield event(cached.steps_trained, row=replace(cached, cached=True))
            continue
        trained = yield from _train_point(run_config, point, event, cache, should_stop, scheduler, owner)
        if not trained:
            return


def _claim_point(cache: PointCache | None, run_config: RunConfig, event: Callable[..., SweepEvent],
                 should_stop: Callable[[], bool]) -> Generator[SweepEvent, None, tuple[bool, SweepRow | None]]:
    """Claim a point in the cache, yielding `waiting` events while another thread trains it. Returns (stopped while
    waiting, the cached row or None when this thread now owns the point)."""
    while cache is not None:
        cached, busy = cache.claim(run_config)
        if busy is None:
            return False, cached
        yield event(0, waiting=True)
        while not busy.wait(_WAIT_POLL_SECONDS):
            if should_stop():
                return True, None
    return False, None


def _train_point(run_config: RunConfig, point: SweepPoint, event: Callable[..., SweepEvent], cache: PointCache | None,
                 should_stop: Callable[[], bool], scheduler: Scheduler | None, owner: Hashable) -> Generator[SweepEvent, None, bool]:
    """Train one claimed point (after a slot of the scheduler, if any), yielding progress and at last its row;
    the row goes into the cache. Returns False when stopped part-way: then nothing is cached."""
    steps_per_point = run_config.max_steps
    gflop = run_config.estimated_step_gflop()
    ticket = None
    completed = False
    try:
        if scheduler is not None:
            ticket = scheduler.submit(owner, SWEEP_POINT_KIND, gflop * steps_per_point, label=point.label)
            while not ticket.wait_admitted(_WAIT_POLL_SECONDS):
                if should_stop() or ticket.cancelled:
                    return False
                yield event(0, queued=ticket)
        yield event(0)  # building the run
        started = time.perf_counter()
        trainer = Trainer(run_config)
        while not trainer.finished:
            if should_stop() or (ticket is not None and ticket.should_stop()):
                return False
            trainer.train_step()
            if ticket is not None:
                ticket.progress(trainer.step * gflop)
            if not trainer.finished:
                yield event(trainer.step)
        row = row_from_trainer(trainer, time.perf_counter() - started)
        if cache is not None:
            cache.put(run_config, row)
        completed = True
    finally:
        if ticket is not None:
            ticket.finish(completed=completed)  # frees the slot (or the place in the queue) at once
        if cache is not None:
            cache.release(run_config)  # also when stopped or closed: a waiting thread then trains it
    yield event(trainer.step, row=row)
    return True


def run_sweep(config: SweepConfig, cache: PointCache | None = POINT_CACHE) -> list[SweepRow]:
    """Every point, in order: for scripts and tests."""
    return [event.row for event in iter_sweep(config, cache) if event.row is not None]


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
