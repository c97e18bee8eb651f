"""Train in a background thread so that drawing never pauses training.

A page's script thread draws; this thread trains. They share one lock: the worker holds it for one
training step at a time, readers hold it only long enough to copy a snapshot (lists of numbers and
references to immutable checkpoints) and build their figures from the copy, outside the lock.
Nothing here knows about Streamlit; the worker never calls into the UI.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import threading
import time
from typing import Iterator

from .trainer import Trainer

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


class BackgroundTraining:
    def __init__(self, trainer: Trainer, unwatched_timeout: float | None = None):
        """`unwatched_timeout`: stop when nobody has called `snapshot()` for this many seconds, so a run
        whose browser went away without a clean disconnect does not train for nobody."""
        self.trainer = trainer
        self.unwatched_timeout = unwatched_timeout
        self.error: BaseException | None = None
        self._lock = threading.Lock()
        self._readers_waiting = 0
        self._readers_waiting_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._last_watched = time.monotonic()
        self._thread = threading.Thread(target=self._run, name="lstm-viz-training", daemon=True)

    def start(self) -> "BackgroundTraining":
        self._thread.start()
        return self

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        try:
            while not self._stop_requested.is_set():
                with self._lock:
                    if self.trainer.finished:
                        return
                    self.trainer.train_step()
                while self._readers_waiting and not self._stop_requested.is_set():
                    time.sleep(_READER_POLL_SECONDS)
                if self.unwatched_timeout is not None and time.monotonic() - self._last_watched > self.unwatched_timeout:
                    with self._lock:
                        self.trainer.stop(f"stopped after {self.unwatched_timeout:.0f} s with no page watching")
                    return
        except Exception as error:  # noqa: BLE001 - reported to the page; the server must go on
            log.exception("training failed")
            self.error = error
            with self._lock:
                if not self.trainer.finished:
                    self.trainer.stop("stopped by an error")

    @contextlib.contextmanager
    def _reading(self) -> Iterator[Trainer]:
        # Counted under its own lock: a lost update would leave the worker waiting for a reader forever.
        with self._readers_waiting_lock:
            self._readers_waiting += 1
        with self._lock:
            with self._readers_waiting_lock:
                self._readers_waiting -= 1
            yield self.trainer

    def snapshot(self) -> Trainer:
        self._last_watched = time.monotonic()
        with self._reading() as trainer:
            return snapshot(trainer)

    def stop(self, reason: str = "stopped by the user", timeout: float = 10.0) -> None:
        """Stop after the current step (a few tens of milliseconds) and mark the run as stopped."""
        self._stop_requested.set()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        with self._reading() as trainer:
            if not trainer.finished:
                trainer.stop(reason)

    def wait(self, timeout: float | None = None) -> bool:
        """Block until training ends; True if it did within `timeout`."""
        self._thread.join(timeout)
        return not self._thread.is_alive()
