"""Train in a background thread so that drawing never pauses training.

A page's script thread draws; this thread trains. They share one lock: the worker holds it for one
training step at a time, readers hold it only long enough to copy a snapshot (lists of numbers and
references to immutable checkpoints) and build their figures from the copy, outside the lock.
Nothing here knows about Streamlit; the worker never calls into the UI.

On a shared server a worker may first queue for one of a fixed number of training slots (TrainingSlots), is
limited to a number of torch threads, and stops itself after a wall-time cap.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import threading
import time
from typing import Callable, Iterator

import torch

from .trainer import RunConfig, Trainer

log = logging.getLogger(__name__)

# A reader waits at most about one training step for the lock; the worker checks for waiting readers
# after every step and steps aside, because CPython's lock is not fair to a waiting thread.
_READER_POLL_SECONDS = 0.001


def snapshot(trainer: Trainer) -> Trainer:
    """A consistent copy for reading in another thread: the per-step lists are copied, checkpoints are
    immutable once made and shared, the live models are shared and must not be read from the copy."""
    copied = copy.copy(trainer)
    copied.runs = {
        arch: dataclasses.replace(
            run,
            steps=list(run.steps),
            train_loss=list(run.train_loss),
            grad_norm=list(run.grad_norm),
            eval_steps=list(run.eval_steps),
            eval_metric=list(run.eval_metric),
            eval_elapsed=list(run.eval_elapsed),
            checkpoints=list(run.checkpoints),
        )
        for arch, run in trainer.runs.items()
    }
    return copied


class TrainingSlots:
    """A server-wide limit on concurrent trainings: at most `capacity` run, the rest wait first come, first served.

    Waiting costs no CPU (a condition variable); a waiter leaves the queue when `give_up()` turns true."""

    def __init__(self, capacity: int):
        if capacity < 1:
            raise ValueError("at least one training slot")
        self.capacity = capacity
        self._condition = threading.Condition()
        self._running: list[object] = []
        self._waiting: list[object] = []

    def enter(self, job: object, give_up: Callable[[], bool]) -> bool:
        """Block until `job` may train (True) or `give_up()` (False, and the job has left the queue)."""
        with self._condition:
            self._waiting.append(job)
            try:
                while not give_up():
                    if self._waiting[0] is job and len(self._running) < self.capacity:
                        self._waiting.pop(0)
                        self._running.append(job)
                        return True
                    self._condition.wait(0.25)  # also re-checks give_up(), e.g. nobody watching any more
                return False
            finally:
                if job in self._waiting:
                    self._waiting.remove(job)
                self._condition.notify_all()

    def leave(self, job: object) -> None:
        with self._condition:
            if job in self._running:
                self._running.remove(job)
            self._condition.notify_all()

    def wake(self) -> None:
        with self._condition:
            self._condition.notify_all()

    def position(self, job: object) -> int | None:
        """1 for the next in line; None when the job is not waiting."""
        with self._condition:
            return self._waiting.index(job) + 1 if job in self._waiting else None

    @property
    def waiting(self) -> int:
        with self._condition:
            return len(self._waiting)

    @property
    def running(self) -> int:
        with self._condition:
            return len(self._running)


class BackgroundTraining:
    def __init__(self, trainer: Trainer | RunConfig, unwatched_timeout: float | None = None, *,
                 slots: TrainingSlots | None = None, max_seconds: float | None = None,
                 torch_threads: int | None = None, on_exit: Callable[["BackgroundTraining"], None] | None = None):
        """`trainer`: a Trainer, or a RunConfig to build one in the worker thread once it holds a slot (building
        measures the initial state, which is work too); `trainer` stays None until then.
        `unwatched_timeout`: stop when nobody has called `snapshot()` for this many seconds, so a run
        whose browser went away without a clean disconnect does not train for nobody.
        `slots`: wait for a free training slot first. `max_seconds`: wall-time cap from the moment training
        starts. `torch_threads`: torch's thread count in the worker. `on_exit(worker)` runs in the worker at the end."""
        self.config = trainer.config if isinstance(trainer, Trainer) else trainer
        self.trainer: Trainer | None = trainer if isinstance(trainer, Trainer) else None
        self.unwatched_timeout = unwatched_timeout
        self.slots = slots
        self.max_seconds = max_seconds
        self.torch_threads = torch_threads
        self.on_exit = on_exit
        self.error: BaseException | None = None
        self.started_at: float | None = None  # monotonic time training began (after the queue)
        self._lock = threading.Lock()
        self._readers_waiting = 0
        self._readers_waiting_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._stop_reason = "stopped by the user"
        self._last_watched = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="lstm-viz-training", daemon=True)

    def start(self) -> "BackgroundTraining":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def queue_position(self) -> int | None:
        return self.slots.position(self) if self.slots is not None else None

    def _unwatched(self) -> bool:
        return self.unwatched_timeout is not None and time.monotonic() - self._last_watched > self.unwatched_timeout

    def _give_up_waiting(self) -> bool:
        return self._stop_requested.is_set() or self._unwatched()

    def _run(self) -> None:
        if self.torch_threads is not None:
            torch.set_num_threads(self.torch_threads)
        entered = False
        try:
            if self.slots is not None:
                entered = self.slots.enter(self, self._give_up_waiting)
                if not entered:
                    return
            self.started_at = time.monotonic()
            if self.trainer is None:
                trainer = Trainer(self.config)
                with self._lock:
                    self.trainer = trainer
            self._train()
        except Exception as error:  # noqa: BLE001 - reported to the page; the server must go on
            log.exception("training failed")
            self.error = error
            if self.trainer is not None:
                with self._lock:
                    if not self.trainer.finished:
                        self.trainer.stop("stopped by an error")
        finally:
            if entered:
                self.slots.leave(self)
            if self.on_exit is not None:
                try:
                    self.on_exit(self)
                except Exception:  # noqa: BLE001
                    log.exception("on_exit failed")

    def _train(self) -> None:
        while not self._stop_requested.is_set():
            with self._lock:
                if self.trainer.finished:
                    return
                self.trainer.train_step()
            while self._readers_waiting and not self._stop_requested.is_set():
                time.sleep(_READER_POLL_SECONDS)
            if self._unwatched():
                with self._lock:
                    self.trainer.stop(f"stopped after {self.unwatched_timeout:.0f} s with no page watching")
                return
            if self.max_seconds is not None and time.monotonic() - self.started_at > self.max_seconds:
                with self._lock:
                    self.trainer.stop(f"stopped: this server limits a run to {_duration(self.max_seconds)} "
                                      "of wall time")
                return
        with self._lock:
            if not self.trainer.finished:
                self.trainer.stop(self._stop_reason)

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Trainer | None]:
        # Counted under its own lock: a lost update would leave the worker waiting for a reader forever.
        with self._readers_waiting_lock:
            self._readers_waiting += 1
        with self._lock:
            with self._readers_waiting_lock:
                self._readers_waiting -= 1
            yield self.trainer

    def snapshot(self) -> Trainer | None:
        """A consistent copy of the run; None while it waits for a slot or builds its Trainer."""
        self._last_watched = time.monotonic()
        with self._reading() as trainer:
            return snapshot(trainer) if trainer is not None else None

    def stop(self, reason: str = "stopped by the user", timeout: float = 10.0) -> None:
        """Stop after the current step (a few tens of milliseconds) and mark the run as stopped."""
        self._stop_reason = reason
        self._stop_requested.set()
        if self.slots is not None:
            self.slots.wake()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        with self._reading() as trainer:
            if trainer is not None and not trainer.finished:
                trainer.stop(reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until training ends; True if it did within `timeout`."""
        self._thread.join(timeout)
        return not self._thread.is_alive()


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} s"
