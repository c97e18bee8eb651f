"""One scheduler for every background job of a server: trainings, sweep points, the Gradient lab's what-if and
clipping runs, imported-model evaluations.

A fixed number of slots (LSTM_VIZ_MAX_TRAININGS, one per core by default) is shared by every kind of job; a job
holds a slot while it computes and waits without CPU (a condition variable) before. Nothing here imports Streamlit.

- **Fair queueing.** Jobs are admitted by session ("owner"), not first come, first served: among the waiting jobs
  the next is the one whose owner has the fewest jobs running, then whose owner was admitted longest ago (an owner
  with nothing queued or running is forgotten), then the earliest. So a 12-point sweep takes its turn between 20
  students' single runs instead of in front of them.
- **A wall-time cap per job** (LSTM_VIZ_RUN_SECONDS): `Ticket.should_stop()` turns true after it; jobs check it
  between steps.
- **Honest waits.** Every job says how much work it plans (`units`, e.g. GFLOP) and reports what it has done
  (`Ticket.progress`). The scheduler measures, per kind of job, the units per second running jobs actually achieve
  on this server and the share of their plan finished jobs actually used (a run that stops when solved uses less
  than its budget); `estimated_wait` plays the queue forward on the slots with those measurements.
- **Idle cores are lent.** A running job may borrow slots that nobody waits for (`Ticket.borrow`), e.g. a training
  that steps its RNN and LSTM on two threads at once when it is alone on the server; it gives them back at its next
  step once any job queues (`Ticket.must_give_back`), so a borrowed slot delays the next job by one step at most.
- **Cancellation.** A waiting job leaves the queue when cancelled (its owner's thread stops waiting: Stop, a closed
  tab, nobody watching); a running one sees `should_stop()`. `spawn` runs a job in its own thread, shared by a key
  between the sessions that watch it: it is cancelled when the last watcher lets go (after RELEASE_GRACE_SECONDS,
  so a page that reruns and asks again keeps its place).
"""
from __future__ import annotations

import collections
import heapq
import itertools
import math
import os
import threading
import time
from typing import Any, Callable, Hashable

# Jobs in their own threads and the wait estimates have modules of their own; the pages import them from here too.
from lstm_viz.runs.shared_jobs import JobView, SharedJob, wait_for  # noqa: F401
from lstm_viz.runs.wait_estimates import (  # noqa: F401
    PRIOR_UNITS_PER_SECOND, Throughput, describe_wait, format_wait,
)

# Defaults for a 2-core server; each can be set by an environment variable of the same name.
LSTM_VIZ_MAX_TRAININGS = 2  # jobs at once, of every kind: one per core, each on one torch thread
LSTM_VIZ_RUN_SECONDS = 600  # wall-time cap per job, from the moment it leaves the queue

# A running job's own rate is trusted once it has run this long (its first steps include building the models),
# and is measured over its last RATE_WINDOW_SECONDS: a server that just became busier is seen within seconds.
RATE_AFTER_SECONDS = 1.0
RATE_WINDOW_SECONDS = 5.0
_SAMPLE_SECONDS = 0.25
_POLL_SECONDS = 0.25  # a waiter re-checks give_up() this often
# A shared job whose last watcher let go is kept this long before it is cancelled: a page that reruns (a click while
# it waits) asks for the same key again at once and keeps its place in the queue instead of going to the back.
RELEASE_GRACE_SECONDS = 2.0


def env_setting(name: str, default: float, cast: Callable = int) -> float:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    try:
        parsed = cast(value)
    except ValueError:
        raise ValueError(f"{name} must be a number (got {value!r})") from None
    if parsed <= 0:
        raise ValueError(f"{name} must be positive (got {value!r})")
    return parsed


class Ticket:
    """One job's place in the scheduler: queued, then running (holding a slot), then done."""

    def __init__(self, scheduler: "Scheduler", owner: Hashable, kind: str, units: float, label: str,
                 max_seconds: float | None):
        self.scheduler, self.owner, self.kind, self.label = scheduler, owner, kind, label
        self.units = max(float(units), 1e-9)  # planned work
        self.max_seconds = max_seconds
        self.done_units = 0.0
        self.enqueued_at = scheduler.clock()
        self.started_at: float | None = None
        self.ended_at: float | None = None
        self.state = "queued"  # queued | running | done | cancelled
        self.completed = False  # finished its work (not cancelled, capped or failed): its measurements count
        self.estimate_is_guess = False  # the last estimated_wait had no measured speed to go on (a fresh server)
        self._order = next(scheduler._counter)
        self._cancelled = threading.Event()
        self._samples: collections.deque = collections.deque()  # (time, done units), for the recent rate
        self._samples_lock = threading.Lock()
        self.abandoned: Callable[[], bool] | None = None  # set by SharedJob: nobody has watched it for a while
        self.borrowed = 0  # slots lent to this running job beside its own, while nobody waits for one
        self.ever_borrowed = False  # its speed was not one slot's: kept out of the per-slot rate measurements

    # ----- for the job -----
    @property
    def admitted(self) -> bool:
        return self.state in ("running", "done")

    def wait_admitted(self, timeout: float | None = None) -> bool:
        """Block until the job holds a slot (True), for at most `timeout` seconds (False: still queued, or cancelled)."""
        return self.scheduler._wait_admitted(self, timeout)

    def progress(self, done_units: float) -> None:
        """Work done so far, in the units of `units`: what the wait estimates of everyone behind are computed from."""
        self.done_units = float(done_units)
        now = self.scheduler.clock()
        with self._samples_lock:  # the pages read them from other threads
            if not self._samples or now - self._samples[-1][0] >= _SAMPLE_SECONDS:
                self._samples.append((now, self.done_units))
                while len(self._samples) > 2 and now - self._samples[1][0] >= RATE_WINDOW_SECONDS:
                    self._samples.popleft()

    def recent_rate(self, now: float) -> float | None:
        """Units per second over about the last RATE_WINDOW_SECONDS; None until the job has run RATE_AFTER_SECONDS."""
        if self.started_at is None or now - self.started_at < RATE_AFTER_SECONDS or self.done_units <= 0:
            return None
        with self._samples_lock:
            samples = list(self._samples)
        if len(samples) < 2 or now - samples[0][0] < RATE_AFTER_SECONDS:
            return self.done_units / (now - self.started_at)
        then, units = samples[0]
        return (self.done_units - units) / (now - then) if self.done_units > units else None

    @property
    def over_time(self) -> bool:
        return (self.max_seconds is not None and self.started_at is not None
                and self.scheduler.clock() - self.started_at > self.max_seconds)

    def should_stop(self) -> bool:
        if self.abandoned is not None and self.abandoned():
            self.cancel()
        return self._cancelled.is_set() or self.over_time

    def borrow(self, wanted: int) -> int:
        """Ask for up to `wanted` slots beside this job's own; returns how many it holds now. Slots are lent only
        while no job waits, and none to a job that is not running."""
        return self.scheduler._borrow(self, wanted)

    @property
    def must_give_back(self) -> bool:
        """A job waits for a slot while this one holds borrowed ones: call give_back() before the next step."""
        return self.borrowed > 0 and self.scheduler.waiting > 0

    def give_back(self) -> None:
        """Return every borrowed slot (the fairest waiting jobs are admitted into them at once)."""
        self.scheduler._give_back(self)

    def finish(self, completed: bool = True) -> None:
        """The job is over: free its slot (or its place in the queue). `completed`: it did its whole work."""
        self.scheduler._finish(self, completed)

    def cancel(self) -> None:
        """Leave the queue, or ask a running job to stop (it frees its slot when it sees should_stop)."""
        self._cancelled.set()
        self.scheduler._cancel(self)

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()

    # ----- for the page -----
    @property
    def position(self) -> int | None:
        """1 for the next to be admitted; None once admitted."""
        return self.scheduler.position(self)

    def estimated_wait(self) -> float | None:
        """Seconds until this job is admitted, from the server's measured throughput; None once admitted."""
        return self.scheduler.estimated_wait(self)

    def __enter__(self) -> "Ticket":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self.finish(completed=exc_type is None and not self.should_stop())


class Scheduler:
    """The server's slots, queue and measurements. Thread-safe. `backend`: where admitted trainings and sweep points
    compute: None in this process, or a cluster (lstm_viz.runs.ray_backend.RayBackend, LSTM_VIZ_RAY_ADDRESS)."""

    def __init__(self, capacity: int | None = None, max_seconds: float | None = None,
                 clock: Callable[[], float] = time.monotonic, prior_rate: float = PRIOR_UNITS_PER_SECOND,
                 release_grace: float = RELEASE_GRACE_SECONDS, backend=None):
        self.capacity = int(capacity or env_setting("LSTM_VIZ_MAX_TRAININGS", LSTM_VIZ_MAX_TRAININGS))
        if self.capacity < 1:
            raise ValueError("at least one slot")
        self.max_seconds = max_seconds or env_setting("LSTM_VIZ_RUN_SECONDS", LSTM_VIZ_RUN_SECONDS, float)
        self.clock = clock
        self.release_grace, self.backend = release_grace, backend
        self._condition = threading.Condition()
        self._counter = itertools.count()
        self._waiting: list[Ticket] = []
        self._running: list[Ticket] = []
        self._last_admitted: dict[Hashable, float] = {}  # owner -> when its latest job was admitted
        self._throughput = Throughput(prior_rate)
        self._shared: dict[Hashable, SharedJob] = {}
        self._closed = False
        self.admissions: list[Ticket] = []  # the order jobs were admitted in (bounded; the tests read it)

    # ----- queueing -----
    def submit(self, owner: Hashable, kind: str, units: float, label: str = "",
               max_seconds: float | None = None) -> Ticket:
        """Queue a job; it is admitted as soon as fairness and a free slot allow (maybe at once)."""
        ticket = Ticket(self, owner, kind, units, label, max_seconds if max_seconds is not None else self.max_seconds)
        with self._condition:
            if self._closed:
                ticket._cancelled.set()
                ticket.state = "cancelled"
                return ticket
            self._waiting.append(ticket)
            self._admit()
        return ticket

    def _key(self, ticket: Ticket, running: dict[Hashable, int]) -> tuple:
        return (running.get(ticket.owner, 0), self._last_admitted.get(ticket.owner, -math.inf), ticket._order)

    def _running_per_owner(self) -> dict[Hashable, int]:
        counts: dict[Hashable, int] = {}
        for ticket in self._running:
            counts[ticket.owner] = counts.get(ticket.owner, 0) + 1
        return counts

    def _in_use(self) -> int:
        """Under the lock: slots held, by running jobs and the slots lent to them."""
        return len(self._running) + sum(ticket.borrowed for ticket in self._running)

    def _admit(self) -> None:
        """Under the lock: fill the free slots with the fairest waiting jobs."""
        while self._waiting and self._in_use() < self.capacity:
            running = self._running_per_owner()
            chosen = min(self._waiting, key=lambda ticket: self._key(ticket, running))
            self._waiting.remove(chosen)
            chosen.state = "running"
            chosen.started_at = self.clock()
            self._running.append(chosen)
            self._last_admitted[chosen.owner] = chosen.started_at
            self.admissions.append(chosen)
            del self.admissions[:-1000]
        self._condition.notify_all()

    def _order(self) -> list[Ticket]:
        """The waiting jobs in the order they would be admitted if nothing else changed: the admission rule replayed,
        each admission making its owner the most recently served."""
        running = self._running_per_owner()
        last = dict(self._last_admitted)
        pending = list(self._waiting)
        order: list[Ticket] = []
        for turn in itertools.count():
            if not pending:
                return order
            chosen = min(pending, key=lambda t: (running.get(t.owner, 0), last.get(t.owner, -math.inf), t._order))
            pending.remove(chosen)
            order.append(chosen)
            last[chosen.owner] = 2.0 ** 52 + turn  # later than any clock reading, and still exact
        return order

    def _wait_admitted(self, ticket: Ticket, timeout: float | None) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._condition:
            while ticket.state == "queued" and not ticket.cancelled:
                remaining = _POLL_SECONDS if deadline is None else min(_POLL_SECONDS, deadline - time.monotonic())
                if remaining <= 0:
                    break
                self._condition.wait(remaining)
            return ticket.state == "running"

    def _borrow(self, ticket: Ticket, wanted: int) -> int:
        with self._condition:
            if ticket.state != "running" or ticket.cancelled or self._waiting or self._closed:
                return ticket.borrowed
            granted = max(0, min(int(wanted) - ticket.borrowed, self.capacity - self._in_use()))
            if granted:
                ticket.borrowed += granted
                ticket.ever_borrowed = True
            return ticket.borrowed

    def _give_back(self, ticket: Ticket) -> None:
        with self._condition:
            if ticket.borrowed:
                ticket.borrowed = 0
                self._admit()

    def _cancel(self, ticket: Ticket) -> None:
        with self._condition:
            if ticket.state == "queued":
                self._waiting.remove(ticket)
                ticket.state = "cancelled"
                ticket.ended_at = self.clock()
                self._forget_idle(ticket.owner)
                self._admit()
            self._condition.notify_all()

    def _finish(self, ticket: Ticket, completed: bool) -> None:
        with self._condition:
            if ticket.state == "queued":
                self._waiting.remove(ticket)
                ticket.state = "cancelled"
            elif ticket.state == "running":
                self._running.remove(ticket)
                ticket.borrowed = 0
                ticket.state = "done"
                ticket.completed = completed
                ticket.ended_at = self.clock()
                self._throughput.record(ticket)
            else:
                return
            self._forget_idle(ticket.owner)
            self._admit()

    def _forget_idle(self, owner: Hashable) -> None:
        if not any(t.owner == owner for t in itertools.chain(self._waiting, self._running)):
            self._last_admitted.pop(owner, None)

    # ----- estimates -----
    def estimated_wait(self, ticket: Ticket) -> float | None:
        """Seconds until a queued job is admitted: the queue played forward on the slots, each job ahead taking its
        expected work at its kind's measured rate; None once admitted."""
        with self._condition:
            if ticket.state != "queued":
                return None
            now = self.clock()
            throughput = self._throughput
            throughput.guessed = False
            order = self._order()
            slots = sorted(throughput.remaining_seconds(t, self._running, now) for t in self._running)
            slots += [0.0] * (self.capacity - len(slots))
            heapq.heapify(slots)
            for ahead in order:
                free_at = heapq.heappop(slots)
                if ahead is ticket:
                    ticket.estimate_is_guess = throughput.guessed
                    return free_at
                duration = throughput.expected_units(ahead) / throughput.rate(ahead.kind, self._running, now)
                if ahead.max_seconds is not None:
                    duration = min(duration, ahead.max_seconds)
                heapq.heappush(slots, free_at + duration)
            return None

    def position(self, ticket: Ticket) -> int | None:
        with self._condition:
            if ticket.state != "queued":
                return None
            return self._order().index(ticket) + 1

    def status(self) -> dict:
        with self._condition:
            return {"running": len(self._running), "waiting": len(self._waiting), "capacity": self.capacity,
                    "borrowed": sum(t.borrowed for t in self._running),
                    "running_kinds": sorted(t.kind for t in self._running)}

    @property
    def running(self) -> int:
        with self._condition:
            return len(self._running)

    @property
    def waiting(self) -> int:
        with self._condition:
            return len(self._waiting)

    def running_tickets(self) -> list[Ticket]:
        with self._condition:
            return list(self._running)

    def wake(self) -> None:
        with self._condition:
            self._condition.notify_all()

    # ----- jobs in their own thread, shared by key -----
    def spawn(self, work: Callable[[Ticket], Any], *, owner: Hashable, kind: str, units: float,
              key: Hashable | None = None, label: str = "") -> JobView:
        """Run `work(ticket)` in a thread once admitted. With a `key`, a job of that key still queued or running is
        shared: the caller becomes one more watcher of it instead of queueing a second, identical one. Each
        caller must `release()` its JobView when it no longer waits for the result."""
        with self._condition:
            if key is not None:
                existing = self._shared.get(key)
                if existing is not None and not existing.ended and not existing.ticket.cancelled:
                    return existing.add_watcher()
            job = SharedJob(self, key, self.submit(owner, kind, units, label), work, self._condition)
            if key is not None:
                self._shared[key] = job
            view = job.add_watcher()
        job.start()
        return view

    def drop_shared(self, job: SharedJob) -> None:
        """A shared job has ended: the next caller with its key starts a new one."""
        with self._condition:
            if job.key is not None and self._shared.get(job.key) is job:
                del self._shared[job.key]

    def shutdown(self) -> None:
        """Cancel every job (server shutdown, tests); new jobs are refused from now on."""
        with self._condition:
            self._closed = True
            tickets = list(self._waiting) + list(self._running)
        for ticket in tickets:
            ticket.cancel()
