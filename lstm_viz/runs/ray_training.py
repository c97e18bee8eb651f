"""A training of the Train page computed on the Ray cluster (lstm_viz.runs.ray_backend), seen by the replica as a
BackgroundTraining: the same queue for one of the scheduler's slots first, the same snapshots, Stop and errors. Its
thread holds the slot while the run trains on a worker, follows the worker's posts (lstm_viz.runs.ray_posts) and
keeps a copy of the Trainer that grows as the worker's does, so the pages cannot tell where it trained.

A replica whose run another replica already trains on the cluster watches that one instead: it takes no slot, and
its Stop only lets go (the run goes on while anyone on the cluster watches it).
"""
from __future__ import annotations

import logging
import time
from typing import Callable

from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.runs.background import BackgroundTraining, mark_stopped
from lstm_viz.runs.ray_backend import POLL_SECONDS, RayBackend, RemoteRun, RemoteRunError
from lstm_viz.runs.ray_posts import apply_delta, load_latest_weights

log = logging.getLogger(__name__)

# After asking the cluster to stop a run for everyone (the wall-time cap, a shutdown), wait this long for its
# worker's last post (the stopped statuses and final checkpoint) before marking the copy stopped here.
STOP_WAIT_SECONDS = 15.0


class RayTraining(BackgroundTraining):
    def __init__(self, config: RunConfig, backend: RayBackend, *, watch: bool = False,
                 on_exit: Callable[["BackgroundTraining"], None] | None = None, **kwargs):
        """`watch`: another replica trains this run on the cluster; follow it, without a slot (`scheduler` None)."""
        super().__init__(config, on_exit=on_exit, lend_idle_cores=False, **kwargs)
        self.backend, self.watch = backend, watch
        self.remote: RemoteRun | None = None
        self.restarts = 0  # how often the cluster restarted the run after its worker died

    @property
    def placement(self) -> str:
        pid = self.worker_pid
        return "the Ray cluster" + (f" (worker process {pid})" if pid is not None else "")

    @property
    def worker_pid(self) -> int | None:
        return self.remote.pid if self.remote is not None else None

    def _run(self) -> None:
        ticket = self.ticket
        completed = False
        try:
            if not self._wait_for_slot(ticket):
                return
            self.started_at = time.monotonic()
            self.remote = self.backend.run(self.KIND, self.config)
            role = self.remote.claim(start=not self.watch)
            if role == "absent":
                raise RemoteRunError("The run this page joined on the cluster ended before it could be watched; "
                                     "press Start again.")
            if role == "watch" and ticket is not None:
                ticket.finish(completed=False)  # another replica trains it: watching takes no slot here
                ticket = None
            self._follow(ticket)
            completed = self.error is None and self.remote.state == "finished"
        except Exception as error:  # noqa: BLE001 - reported to the page; the server must go on
            log.exception("training on the cluster failed")
            self.error = error
        finally:
            if self.remote is not None:
                self.remote.release(self._stop_reason)
            with self._lock:
                if self.trainer is not None and not self.trainer.finished:
                    mark_stopped(self.trainer, "stopped by an error" if self.error is not None else self._stop_reason)
            self._end(ticket, completed)

    def _take(self, restarted: bool, posts: list[dict]) -> None:
        if restarted:
            self.restarts += 1
            log.warning("the worker of %s died; Ray restarted the run from step 0", self.config.task)
        if not posts:
            return
        fresh = Trainer(self.config, measure_initial_state=False) if restarted or self.trainer is None else None
        with self._lock:
            if fresh is not None:
                self.trainer = fresh
            for post in posts:
                apply_delta(self.trainer, post)
        if all(run.checkpoints for run in self.trainer.runs.values()):
            self._built.set()

    def _stop_wanted(self, ticket) -> tuple[str | None, bool]:
        """(why this replica stops following, whether the run should stop for everyone)."""
        if self._stop_requested.is_set():
            return self._stop_reason, False
        if self._unwatched():
            return f"stopped after {self.unwatched_timeout:.0f} s with no page watching", False
        if ticket is not None and ticket.cancelled:
            return "stopped: the server is shutting down", True
        if ticket is not None and self._over_time():
            return f"stopped: this server limits a run to {self.max_seconds:g} s of wall time", True
        return None, False

    def _follow(self, ticket) -> None:
        remote, stopping_since = self.remote, None
        while True:
            self._take(*remote.poll())
            if ticket is not None and self.trainer is not None:
                ticket.progress(self._done_units())
            if remote.ended:
                break
            if stopping_since is None:
                reason, for_everyone = self._stop_wanted(ticket)
                if reason is not None and not for_everyone:
                    self._stop_reason = reason
                    return  # released in _run: the worker stops unless another replica watches
                if reason is not None:
                    self._stop_reason, stopping_since = reason, time.monotonic()
                    remote.stop(reason)
            elif time.monotonic() - stopping_since > STOP_WAIT_SECONDS:
                return
            self._stop_requested.wait(POLL_SECONDS)
        if remote.state == "failed":
            raise RemoteRunError(remote.message or "The run failed on the cluster.")
        if remote.state == "finished" and self.trainer is not None:
            with self._lock:
                load_latest_weights(self.trainer)

    def _mark_stopped(self, trainer: Trainer, reason: str) -> None:
        """A copy of a run the cluster trains: marked stopped here, nothing computed on it (Stop itself is the
        base class's: stop following after the current poll)."""
        mark_stopped(trainer, reason)
