"""The cluster's one notice board of runs in training on Ray, keyed by the canonical RunConfig key: which replica
trains a configuration, every replica watching it (a lease each), the progress its worker has posted, and whether
anybody still wants it. It is a plain class here; lstm_viz.runs.ray_backend makes it one named, detached Ray actor
(no CPU of its own), so every app replica of a cluster finds the same board.

- A replica asking for a run `claim`s it: "train" if nobody on the cluster trains it (the replica then starts the
  task), "watch" if someone does or it finished a moment ago (the replica follows the same posts; no second
  training), "absent" when only asked whether it is there.
- The worker task `begin`s an attempt (a retry after a dead worker starts a fresh one, and the watchers start again
  from step 0), then `post`s progress every fraction of a second; each post answers whether to stop.
- A run nobody leases any more is asked to stop: every lease is refreshed by that replica's polls and lapses after
  `lease_seconds` (a replica that crashed stops holding it). Ended entries are forgotten after `keep_seconds`: by
  then the run is in the shared run store (lstm_viz.runs.replica_store) for any replica that asks again.

The board also starts the tasks (`claim` with `launch`): it owns them, so a run goes on when the replica that asked
for it stops or dies (tasks share their owner's fate in Ray), and it is the one place that sees a task fail.

Posts are opaque bytes (pickled by the worker, read by the replicas): the board never builds a model or a tensor.
"""
from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

ACTIVE = ("pending", "running")
ENDED = ("finished", "stopped", "failed")
WORKER_DIED = ("The Ray worker training this run died (its process was killed, ran out of memory or lost its node); "
               "Ray retried the run once on a fresh worker and that one died too. Start it again, or ask whoever runs "
               "the cluster to look at its workers.")


@dataclass
class _Entry:
    trainer: str  # the holder that was told to train it
    leases: dict[str, float]  # holder -> when it last polled
    state: str = "pending"  # pending (the task is queued on the cluster) | running | finished | stopped | failed
    attempt: int = 0  # task executions begun: 2 means the first worker died and Ray retried it
    posts: list[bytes] = field(default_factory=list)
    created: float = 0.0
    last_post: float = 0.0
    ended: float | None = None
    stop_reason: str | None = None
    message: str | None = None  # why it failed
    pid: int | None = None  # the worker process of the current attempt (the tests kill it)
    task: object = None  # the Ray task's ObjectRef, when the board started it


class RunBoard:
    def __init__(self, lease_seconds: float = 30.0, keep_seconds: float = 120.0):
        self.lease_seconds, self.keep_seconds = lease_seconds, keep_seconds
        self._lock = threading.Lock()
        self._runs: dict[str, _Entry] = {}
        self._begun: dict[str, int] = {}  # key -> task executions ever begun (the no-second-training tests read it)

    def _tidy(self, now: float) -> None:
        """Under the lock: lapse old leases, ask unleased runs to stop, forget long-ended entries."""
        for key, entry in list(self._runs.items()):
            for holder, seen in list(entry.leases.items()):
                if now - seen > self.lease_seconds:
                    del entry.leases[holder]
            if entry.state in ACTIVE and not entry.leases and entry.stop_reason is None:
                entry.stop_reason = "stopped: nobody is watching any more"
            if entry.ended is not None and not entry.leases and now - entry.ended > self.keep_seconds:
                del self._runs[key]
            elif entry.ended is None and not entry.leases and now - max(entry.created, entry.last_post) > \
                    self.keep_seconds:  # its replica and its task died without a word: nobody will end it
                del self._runs[key]

    def claim(self, key: str, holder: str, start: bool = True, launch: tuple | None = None) -> str:
        """"train", "watch" or "absent" (see the module); with "train" and `launch` = (remote function, arguments),
        the board starts the task as `function.remote(board, key, *arguments)`."""
        now = time.monotonic()
        with self._lock:
            self._tidy(now)
            entry = self._runs.get(key)
            if entry is not None and (entry.state in ACTIVE and entry.stop_reason is None or entry.state == "finished"):
                entry.leases[holder] = now
                return "watch"
            if not start:
                return "absent"
            # Attempts count on from every earlier entry of the key: a stopped run's task never posts into the next.
            entry = self._runs[key] = _Entry(trainer=holder, leases={holder: now}, created=now,
                                             attempt=self._begun.get(key, 0))
            if launch is not None:
                import ray  # only here: the board's rules are tested without Ray

                function, arguments = launch
                entry.task = function.remote(ray.get_runtime_context().current_actor, key, *arguments)
            return "train"

    def task(self, key: str) -> list:
        """[the run's task reference] (in a list, so that Ray hands the reference over instead of waiting for it)."""
        with self._lock:
            entry = self._runs.get(key)
            return [entry.task] if entry is not None and entry.task is not None else []

    def _check_task(self, entry: _Entry) -> None:
        """Under the lock: a task that returned while its run is active failed; say how."""
        if entry.task is None or entry.state not in ACTIVE:
            return
        import ray

        ready, _ = ray.wait([entry.task], timeout=0)
        if not ready:
            return
        try:
            ray.get(entry.task, timeout=1)
            return
        except ray.exceptions.RayTaskError as error:
            message = f"The run failed on the Ray worker: {error.cause!r}"
        except ray.exceptions.TaskCancelledError as error:
            message = f"The cluster cancelled the run ({error})."
        except ray.exceptions.RayError:
            message = WORKER_DIED
        except Exception as error:  # noqa: BLE001 - e.g. the task's result not fetched in time: reported, not raised
            message = f"The run's task on the cluster could not be read ({error!r})."
        entry.state, entry.message, entry.ended = "failed", message, time.monotonic()

    def live(self, key: str) -> bool:
        """Whether a claim would watch: the run trains on the cluster (and is wanted) or finished a moment ago."""
        with self._lock:
            entry = self._runs.get(key)
            return entry is not None and (entry.state in ACTIVE and entry.stop_reason is None
                                          or entry.state == "finished")

    def begin(self, key: str, pid: int) -> int:
        """A worker starts (or, after a dead worker, restarts) the run: its attempt number; 0 if nobody wants it."""
        now = time.monotonic()
        with self._lock:
            entry = self._runs.get(key)
            if entry is None or entry.state in ENDED:
                return 0
            if entry.stop_reason is not None:  # let go of while it queued on the cluster: no need to build it
                entry.state, entry.ended = "stopped", now
                return 0
            entry.attempt += 1
            self._begun[key] = self._begun.get(key, 0) + 1
            entry.posts, entry.state, entry.last_post, entry.pid = [], "running", now, pid
            return entry.attempt

    def post(self, key: str, attempt: int, blob: bytes, final_state: str | None = None) -> str | None:
        """The worker's progress; returns the reason to stop, or None to go on. A stale attempt is told to stop."""
        now = time.monotonic()
        with self._lock:
            self._tidy(now)
            entry = self._runs.get(key)
            if entry is None or entry.attempt != attempt or entry.state != "running":
                return "stopped: this run was restarted elsewhere"
            entry.posts.append(blob)
            entry.last_post = now
            if final_state is not None:
                entry.state, entry.ended = final_state, now
            return entry.stop_reason

    def poll(self, key: str, holder: str, attempt: int, since: int) -> dict:
        """Posts after the first `since` of `attempt` (all of them if the attempt changed), and the run's state."""
        now = time.monotonic()
        with self._lock:
            entry = self._runs.get(key)
            if entry is None:
                return {"state": "gone", "attempt": attempt, "posts": [], "message": None}
            self._check_task(entry)
            if holder in entry.leases or entry.state in ACTIVE:
                entry.leases[holder] = now
            start = since if entry.attempt == attempt else 0
            return {"state": entry.state, "attempt": entry.attempt, "posts": entry.posts[start:],
                    "message": entry.message, "pid": entry.pid, "pending_seconds": now - entry.created,
                    "since_post": now - entry.last_post if entry.state == "running" else 0.0}

    def release(self, key: str, holder: str, reason: str) -> None:
        """`holder` no longer watches; the run is asked to stop when nobody does."""
        with self._lock:
            entry = self._runs.get(key)
            if entry is None:
                return
            entry.leases.pop(holder, None)
            if entry.state in ACTIVE and not entry.leases and entry.stop_reason is None:
                entry.stop_reason = reason
            if entry.ended is None and entry.state in ENDED:
                entry.ended = time.monotonic()

    def stop(self, key: str, reason: str) -> None:
        """Stop it whoever watches (the training replica's wall-time cap, a shutdown)."""
        with self._lock:
            entry = self._runs.get(key)
            if entry is not None and entry.state in ACTIVE and entry.stop_reason is None:
                entry.stop_reason = reason

    def fail(self, key: str, message: str) -> None:
        """A replica saw the run fail (it never started, or its worker fell silent): end it, and its task."""
        with self._lock:
            entry = self._runs.get(key)
            if entry is not None and entry.state in ACTIVE:
                entry.state, entry.message, entry.ended = "failed", message, time.monotonic()
                if entry.task is not None:
                    import ray

                    ray.cancel(entry.task, force=True)

    def begun(self, key: str) -> int:
        with self._lock:
            return self._begun.get(key, 0)
