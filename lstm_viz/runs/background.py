"""Train in a background thread so that drawing never pauses training.

A page's script thread draws; this thread trains. They share one lock: the worker holds it for one
training step at a time, readers hold it only long enough to copy a snapshot (lists of numbers and
references to immutable checkpoints) and build their figures from the copy, outside the lock.
Nothing here knows about Streamlit; the worker never calls into the UI.

On a shared server a worker first queues for one of the server's slots (lstm_viz.runs.scheduler, shared with every
other kind of job), is limited to a number of torch threads, and stops itself after the scheduler's wall-time cap.
"""
from __future__ import annotations

import contextlib
import copy
import dataclasses
import logging
import threading
import time
from typing import Callable, Hashable, Iterator

import torch

from lstm_viz.runs.scheduler import Scheduler, Ticket
from lstm_viz.core.trainer import RunConfig, Trainer

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


def mark_stopped(trainer: Trainer, reason: str) -> Trainer:
    """Mark a snapshot's active runs stopped, without Trainer.stop's final checkpoint (a snapshot shares its
    models with a training thread or with other sessions, so nothing may be computed on them here)."""
    for run in trainer.runs.values():
        if run.active:
            run.status, run.status_detail = "stopped", f"{reason} at step {trainer.step}"
    trainer.stop_reason = reason
    return trainer


class BackgroundTraining:
    KIND = "training"

    def __init__(self, trainer: Trainer | RunConfig, unwatched_timeout: float | None = None, *,
                 scheduler: Scheduler | None = None, owner: Hashable = None, max_seconds: float | None = None,
                 torch_threads: int | None = None, on_exit: Callable[["BackgroundTraining"], None] | None = None,
                 lend_idle_cores: bool = True):
        """`trainer`: a Trainer, or a RunConfig to build one in the worker thread once it holds a slot (building
        measures the initial state, which is work too); `trainer` stays None until then.
        `unwatched_timeout`: stop when nobody has called `snapshot()` for this many seconds, so a run
        whose browser went away without a clean disconnect does not train for nobody.
        `scheduler`: wait for one of its slots first (queued fairly under `owner`, the session). `max_seconds`: wall-time
        cap from the moment training starts (default: the scheduler's). `torch_threads`: torch's thread count in the
        worker. `on_exit(worker)` runs in the worker at the end. `lend_idle_cores`: with a scheduler, train the
        architectures on slots nobody waits for (lstm_viz.runs.scheduler.Ticket.borrow), one torch thread each."""
        self.config = trainer.config if isinstance(trainer, Trainer) else trainer
        self.trainer: Trainer | None = trainer if isinstance(trainer, Trainer) else None
        self.unwatched_timeout = unwatched_timeout
        self.scheduler = scheduler
        self.owner = owner
        self.max_seconds = max_seconds if max_seconds is not None else (
            scheduler.max_seconds if scheduler is not None else None)
        self.torch_threads = torch_threads
        self.on_exit = on_exit
        self.lend_idle_cores = lend_idle_cores
        self.error: BaseException | None = None
        self.started_at: float | None = None  # monotonic time training began (after the queue)
        self.ticket: Ticket | None = None
        self._lock = threading.Lock()
        self._readers_waiting = 0
        self._readers_waiting_lock = threading.Lock()
        self._stop_requested = threading.Event()
        self._stop_reason = "stopped by the user"
        self._last_watched = time.monotonic()
        self._built = threading.Event()  # set once the Trainer exists, or the run ended without one
        self._initial: Trainer | None = None  # a snapshot at step 0, for readers during the first step
        self._gflop = {arch: dataclasses.replace(self.config, archs=(arch,)).estimated_step_gflop()
                       for arch in self.config.archs}
        self._thread = threading.Thread(target=self._run, name="lstm-viz-training", daemon=True)

    def start(self) -> "BackgroundTraining":
        if self.scheduler is not None:
            # Queued at once, in the caller's order, so the page can show the place before the thread runs.
            self.ticket = self.scheduler.submit(self.owner, self.KIND, self.planned_units(), label=self.config.task,
                                                max_seconds=self.max_seconds)
        self._thread.start()
        return self

    def planned_units(self) -> float:
        """GFLOP of the whole step budget: what the scheduler's wait estimates weigh this run by."""
        return self.config.max_steps * sum(self._gflop.values())

    def _done_units(self) -> float:
        return sum(len(run.steps) * self._gflop[arch] for arch, run in self.trainer.runs.items())

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    @property
    def placement(self) -> str:
        """Where the run computes, for the page."""
        return "this server"

    @property
    def queue_position(self) -> int | None:
        return self.ticket.position if self.ticket is not None else None

    def estimated_wait(self) -> float | None:
        return self.ticket.estimated_wait() if self.ticket is not None else None

    def _unwatched(self) -> bool:
        return self.unwatched_timeout is not None and time.monotonic() - self._last_watched > self.unwatched_timeout

    def _give_up_waiting(self) -> bool:
        return self._stop_requested.is_set() or self._unwatched()

    def _run(self) -> None:
        if self.torch_threads is not None:
            torch.set_num_threads(self.torch_threads)
        ticket = self.ticket
        completed = False
        try:
            if not self._wait_for_slot(ticket):
                return
            self.started_at = time.monotonic()
            if self.trainer is None:
                trainer = Trainer(self.config)
                with self._lock:
                    self.trainer = trainer
                    self._initial = snapshot(trainer)
            self._built.set()
            self._train()
            completed = self.error is None and all(run.status != "stopped" for run in self.trainer.runs.values())
        except Exception as error:  # noqa: BLE001 - reported to the page; the server must go on
            log.exception("training failed")
            self.error = error
            if self.trainer is not None:
                with self._lock:
                    if not self.trainer.finished:
                        self.trainer.stop("stopped by an error")
        finally:
            self._end(ticket, completed)

    def _wait_for_slot(self, ticket: Ticket | None) -> bool:
        """Queue for one of the scheduler's slots (none needed without a ticket); False if the page left or the
        ticket was cancelled meanwhile (the ticket is then cancelled, so it leaves the queue)."""
        if ticket is not None:
            while not ticket.wait_admitted(0.25):
                if self._give_up_waiting() or ticket.cancelled:
                    ticket.cancel()
                    return False
        return True

    def _end(self, ticket: Ticket | None, completed: bool) -> None:
        """The thread's last act, wherever the run trained: readers stop waiting for a Trainer, the slot goes back
        with the work done counted, and on_exit runs (its failure logged, never raised into the thread)."""
        self._built.set()
        if ticket is not None:
            if self.trainer is not None:
                ticket.progress(self._done_units())
            ticket.finish(completed=completed)
        if self.on_exit is not None:
            try:
                self.on_exit(self)
            except Exception:  # noqa: BLE001
                log.exception("on_exit failed")

    def _over_time(self) -> bool:
        return self.max_seconds is not None and time.monotonic() - self.started_at > self.max_seconds

    def _share_idle_cores(self) -> None:
        """Between steps: step the architectures on borrowed slots while the server has idle ones (a student alone
        on it sees the headline run's RNN and LSTM train at once), and give them back as soon as a job queues."""
        ticket, trainer = self.ticket, self.trainer
        if ticket is None or not self.lend_idle_cores:
            return
        training = sum(run.active for run in trainer.runs.values())
        if ticket.must_give_back or ticket.borrowed > training - 1:  # wanted elsewhere, or a cell has ended
            trainer.set_cell_threads(1)
            ticket.give_back()
            return
        # Asked of the scheduler (its lock) only while the run could use more than it holds.
        borrowed = ticket.borrow(training - 1) if training - 1 > ticket.borrowed else ticket.borrowed
        if 1 + borrowed == trainer.cell_threads:
            return
        used = trainer.set_cell_threads(1 + borrowed)
        if used - 1 < ticket.borrowed:  # a run whose cells cannot run apart (dropout between layers) keeps none
            ticket.give_back()

    def _train(self) -> None:
        ticket = self.ticket
        try:
            self._train_steps(ticket)
        finally:
            if self.trainer is not None:
                self.trainer.close()  # the cell threads end with the run, and so do borrowed slots
            if ticket is not None:
                ticket.give_back()

    def _train_steps(self, ticket: Ticket | None) -> None:
        while not self._stop_requested.is_set():
            with self._lock:
                if self.trainer.finished:
                    return
                self._share_idle_cores()
                self.trainer.train_step()
            if ticket is not None:
                ticket.progress(self._done_units())
                if ticket.cancelled:
                    self._stop_reason = "stopped: the server is shutting down"
                    break
            while self._readers_waiting and not self._stop_requested.is_set():
                time.sleep(_READER_POLL_SECONDS)
            if self._unwatched():
                with self._lock:
                    self.trainer.stop(f"stopped after {self.unwatched_timeout:.0f} s with no page watching")
                return
            if self._over_time():
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

    def wait_built(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the Trainer to exist (built, its step-0 evaluation done); True if it
        does. Returns at once while the run waits for a slot, which can take far longer."""
        if self.trainer is None and self.ticket is not None and not self.ticket.admitted:
            return False
        if self.trainer is None:
            self._built.wait(timeout)
        return self.trainer is not None

    def snapshot(self) -> Trainer | None:
        """A consistent copy of the run; None while it waits for a slot or builds its Trainer."""
        self._last_watched = time.monotonic()
        initial = self._initial
        if initial is not None:
            # The first training step is the slowest (about 0.1 s: buffers and kernels are set up): a page asking
            # while it runs gets the state before it, with the step-0 evaluation, instead of waiting for it.
            if self.trainer.step <= 1 and self._lock.locked():
                return snapshot(initial)
            self._initial = None
        with self._reading() as trainer:
            return snapshot(trainer) if trainer is not None else None

    def stop(self, reason: str = "stopped by the user", timeout: float = 10.0) -> None:
        """Stop after the current step (a few tens of milliseconds) and mark the run as stopped."""
        self._stop_reason = reason
        self._stop_requested.set()
        if self.ticket is not None and not self.ticket.admitted:
            self.ticket.cancel()
        if self._thread.is_alive() and threading.current_thread() is not self._thread:
            self._thread.join(timeout)
        with self._reading() as trainer:
            if trainer is not None and not trainer.finished:
                self._mark_stopped(trainer, reason)

    def _mark_stopped(self, trainer: Trainer, reason: str) -> None:
        """Stop's last step on the Trainer the pages read: here it trained, so it stops itself."""
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
