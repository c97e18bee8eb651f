"""A background job of the scheduler that runs in its own thread and is shared by the callers that wait for it (the
Gradient lab's what-if runs, an imported model's evaluation): `Scheduler.spawn` makes one, each caller holds a
JobView and releases it when it no longer waits; the job is cancelled when the last one lets go.

The scheduler (lstm_viz.runs.scheduler) imports this module, so nothing here imports it: a SharedJob is handed its
Scheduler and Ticket and uses only their public methods.
"""
from __future__ import annotations

import logging
import threading
import time
from typing import Any, Callable, Hashable

log = logging.getLogger(__name__)

_ADMISSION_POLL_SECONDS = 0.25  # a job waiting for its slot checks this often whether anyone still watches it


class SharedJob:
    """A job running in its own thread (named lstm-viz-<kind>), watched by one or more callers."""

    def __init__(self, scheduler, key: Hashable | None, ticket, work: Callable[[Any], Any], lock: threading.Condition):
        """`scheduler` and `ticket`: the Scheduler that spawned the job and its Ticket there; `lock`: the scheduler's
        own, under which the watchers are counted, so a job is never shared while its last watcher lets go."""
        self.scheduler, self.key, self.ticket = scheduler, key, ticket
        self._lock = lock
        self.result: Any = None
        self.error: BaseException | None = None
        self._work = work
        self._watchers = 0
        self._unwatched_since: float | None = None  # monotonic time the last watcher let go
        ticket.abandoned = self._abandoned
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, name=f"lstm-viz-{ticket.kind}", daemon=True)

    @property
    def ended(self) -> bool:
        return self._done.is_set()

    def add_watcher(self) -> "JobView":
        """Under the scheduler's lock: one more caller waits for this job; its hold on it."""
        self._watchers += 1
        self._unwatched_since = None
        return JobView(self)

    def start(self) -> None:
        self._thread.start()

    def _abandoned(self) -> bool:
        since = self._unwatched_since
        return since is not None and time.monotonic() - since >= self.scheduler.release_grace

    def _run(self) -> None:
        ticket = self.ticket
        try:
            while not ticket.wait_admitted(_ADMISSION_POLL_SECONDS):
                if ticket.should_stop():  # cancelled, or nobody has watched it for the grace period
                    return
            if ticket.should_stop():
                return
            self.result = self._work(ticket)
        except Exception as error:  # noqa: BLE001 - reported to the watchers; the server must go on
            log.exception("%s job failed", ticket.kind)
            self.error = error
        finally:
            ticket.finish(completed=self.error is None and not ticket.should_stop())
            self.scheduler.drop_shared(self)
            self._done.set()


class JobView:
    """One caller's hold on a SharedJob."""

    def __init__(self, job: SharedJob):
        self.job = job
        self._released = False

    @property
    def ticket(self):
        return self.job.ticket

    @property
    def done(self) -> bool:
        return self.job.ended

    @property
    def result(self) -> Any:
        return self.job.result

    @property
    def error(self) -> BaseException | None:
        return self.job.error

    @property
    def watchers(self) -> int:
        return self.job._watchers

    def wait(self, timeout: float | None = None) -> bool:
        return self.job._done.wait(timeout)

    def release(self) -> None:
        """This caller no longer waits; the job is cancelled when nobody else does."""
        if self._released:
            return
        self._released = True
        scheduler = self.job.scheduler
        with self.job._lock:
            self.job._watchers -= 1
            last = self.job._watchers <= 0
            if last:
                self.job._unwatched_since = time.monotonic()
        if last and not self.job.ended and (self.job.key is None or scheduler.release_grace <= 0):
            self.job.ticket.cancel()  # nobody can ask for it again: no need to wait

    def join(self, timeout: float | None = None) -> bool:
        self.job._thread.join(timeout)
        return not self.job._thread.is_alive()


def wait_for(view: JobView, on_wait: Callable[[JobView], None] | None = None, poll: float = 0.25) -> Any:
    """Block the calling thread until the job ends, calling `on_wait(view)` every `poll` seconds (e.g. to show the
    queue position); release the view whatever happens (an exception in `on_wait`, e.g. the page being left, lets go
    of the job, which is cancelled if nobody else waits for it). Returns the result; re-raises the job's error."""
    try:
        while not view.wait(poll):
            if on_wait is not None:
                on_wait(view)
    finally:
        view.release()
    if view.error is not None:
        raise view.error
    return view.result
