"""A lab experiment in a background thread: a generator of progress updates, run by a daemon thread that the page
reads snapshots of. The generator does the scheduler's part itself (each of its jobs queues for a slot of the
server's one scheduler, lstm_viz.runs.scheduler), so this thread only drives it, keeps the latest update and says
how long is left. Nothing here imports Streamlit.

Experiments are shared by their settings (SharedExperiments): a second session asking for the very experiment that
is running watches that thread instead of training it again, and the thread stops only when its last watcher
lets go (Stop, a closed tab) or nobody polled it for a while.

The time left is measured, never a fixed guess: the seconds the experiment has spent computing (not queueing),
scaled by the share of its planned work still to do; before one second of computing it says nothing, and a queued
job adds the scheduler's own estimate of its wait.
"""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import Any, Callable, Iterator

from lstm_viz.runs.scheduler import Ticket

log = logging.getLogger(__name__)

MEASURE_AFTER_SECONDS = 1.0  # computing time before the rate so far is trusted for a time left


@dataclass(frozen=True)
class Update:
    """One step of an experiment: how much of its planned work is done (in its own units), what it does, and what
    can be shown so far (the finished points; at the end, the whole result)."""
    done: float
    total: float
    message: str
    partial: Any = None
    queued: Ticket | None = None  # set while a job of the experiment waits for one of the server's slots


@dataclass(frozen=True)
class ExperimentSnapshot:
    status: str  # running | finished | stopped | error
    update: Update | None
    elapsed: float  # wall seconds since the start
    computing: float  # of them, seconds not spent waiting for a slot
    error: str | None = None
    queue_position: int | None = None
    queue_wait: float | None = None

    @property
    def fraction(self) -> float:
        if self.update is None or self.update.total <= 0:
            return 1.0 if self.status != "running" else 0.0
        return min(1.0, max(0.0, self.update.done / self.update.total))

    @property
    def partial(self) -> Any:
        return None if self.update is None else self.update.partial

    def seconds_left(self) -> float | None:
        """Measured: computing seconds so far x work left / work done, plus the wait of a queued job; None while
        there is nothing to measure yet."""
        if self.status != "running":
            return 0.0
        update = self.update
        queue = self.queue_wait or 0.0
        if update is None or update.done <= 0 or self.computing < MEASURE_AFTER_SECONDS:
            return queue if self.queue_wait is not None else None
        return self.computing * max(0.0, update.total - update.done) / update.done + queue


class BackgroundExperiment:
    """Runs `steps(should_stop)` (a generator of Updates) in a daemon thread. `stop()` ends it at its next update;
    a page that stopped asking for snapshots for `unwatched_timeout` seconds stops it too (a closed tab)."""

    def __init__(self, steps: Callable[[Callable[[], bool]], Iterator[Update]], *, name: str = "lab",
                 unwatched_timeout: float | None = None, torch_threads: int | None = None):
        self._steps = steps
        self.unwatched_timeout, self.torch_threads = unwatched_timeout, torch_threads
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._update: Update | None = None
        self._status = "running"
        self._started = time.monotonic()
        self._ended: float | None = None
        self._queued_seconds = 0.0
        self._last_watched = time.monotonic()
        self._thread = threading.Thread(target=self._run, name=f"lstm-viz-{name}", daemon=True)

    def start(self) -> "BackgroundExperiment":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested.is_set()

    def should_stop(self) -> bool:
        if self.unwatched_timeout is not None and time.monotonic() - self._last_watched > self.unwatched_timeout:
            self._stop_requested.set()
        return self._stop_requested.is_set()

    def _run(self) -> None:
        if self.torch_threads is not None:
            import torch

            torch.set_num_threads(self.torch_threads)
        status, last = "finished", time.monotonic()
        try:
            for update in self._steps(self.should_stop):
                now = time.monotonic()
                with self._lock:
                    if self._update is not None and self._update.queued is not None:
                        self._queued_seconds += now - last  # the time since the last update was spent queueing
                    self._update, last = update, now
            if self._stop_requested.is_set():
                status = "stopped"
        except Exception as error:  # noqa: BLE001 - reported to the page; the server must go on
            log.exception("lab experiment failed")
            self.error, status = error, "error"
        with self._lock:
            self._status, self._ended = status, time.monotonic()

    def snapshot(self) -> ExperimentSnapshot:
        self._last_watched = time.monotonic()
        with self._lock:
            end = self._ended if self._ended is not None else time.monotonic()
            update, status = self._update, self._status
            queued = update.queued if update is not None and status == "running" else None
            elapsed = end - self._started
            return ExperimentSnapshot(
                status=status, update=update, elapsed=elapsed, computing=max(0.0, elapsed - self._queued_seconds),
                error=None if self.error is None else f"{type(self.error).__name__}: {self.error}",
                queue_position=queued.position if queued is not None else None,
                queue_wait=queued.estimated_wait() if queued is not None else None,
            )

    def stop(self, timeout: float = 10.0) -> None:
        """Stop at the next update (one training step); what finished stays in the last snapshot."""
        self._stop_requested.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)

    def wait(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()


class Lease:
    """One watcher's hold on a shared experiment; `release` is idempotent (Stop, then a closed tab, let go once)."""

    def __init__(self, owner: "SharedExperiments", key: Any, experiment: BackgroundExperiment, joined: bool):
        self._owner, self.key, self.experiment, self.joined = owner, key, experiment, joined
        self._released = False

    @property
    def alive(self) -> bool:
        return not self._released and self.experiment.alive

    def release(self, timeout: float = 10.0) -> None:
        if not self._released:
            self._released = True
            self._owner._detach(self.key, self.experiment, timeout)


class SharedExperiments:
    """The server's running experiments by key (the experiment's name and its settings): `attach` starts one or
    joins the one already running with that key; releasing the last lease stops the thread."""

    def __init__(self):
        self._lock = threading.Lock()
        self._running: dict[Any, tuple[BackgroundExperiment, int]] = {}

    def attach(self, key: Any, make: Callable[[], BackgroundExperiment]) -> Lease:
        """A lease on the experiment for `key`, joined if one is running. `make()` builds one that is not started."""
        with self._lock:
            held = self._running.get(key)
            if held is not None and held[0].alive and not held[0].stop_requested:
                self._running[key] = (held[0], held[1] + 1)
                return Lease(self, key, held[0], joined=True)
            experiment = make().start()
            self._running[key] = (experiment, 1)
            return Lease(self, key, experiment, joined=False)

    def _detach(self, key: Any, experiment: BackgroundExperiment, timeout: float) -> None:
        with self._lock:
            held = self._running.get(key)
            if held is None or held[0] is not experiment:
                last = True  # ended and replaced by a new run: this watcher was its last
            else:
                last = held[1] <= 1
                if last:
                    del self._running[key]
                else:
                    self._running[key] = (experiment, held[1] - 1)
        if last:
            experiment.stop(timeout)

    def watchers(self, key: Any) -> int:
        with self._lock:
            held = self._running.get(key)
            return held[1] if held is not None and held[0].alive else 0
