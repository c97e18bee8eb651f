"""Runs shared by every session of one server, so a classroom asking for the same preset trains it once.

A run is keyed by its RunConfig as canonical JSON (settings and seed; same key, same numbers). `RunHub.join(config)`
gives a session a `Subscription`, whatever state that run is in:

- "trained":       nobody had it; a new training starts (after queueing for one of the server's slots, which every
                   kind of background job shares: lstm_viz.runs.scheduler);
- "shared-live":   another session is training exactly this configuration right now; this one watches the same
                   training (the same snapshots), it does not start its own;
- "cached":        it finished earlier on this server; its recorded history is replayed quickly;
- "precomputed":   it ships finished in assets/runs/ (lstm_viz.runs.bundled); replayed the same way.

A live training stops when the last session watching it leaves (Stop, or the browser disconnected). A run that
finished on its own is kept (a bounded number of them) for the next session that asks. Nothing here imports
Streamlit.
"""
from __future__ import annotations

import bisect
import copy
import dataclasses
import threading
import time
import weakref
from collections import OrderedDict
from typing import Callable

import numpy as np

from lstm_viz.runs.background import BackgroundTraining, mark_stopped, snapshot
from lstm_viz.runs.ray_training import RayTraining
from lstm_viz.runs.replica_store import RunStore
from lstm_viz.runs.scheduler import Scheduler, env_setting
from lstm_viz.runs.speed import SERVER_SPEED
from lstm_viz.core.trainer import RunConfig, Trainer

# Defaults for a 2-core server; each can be set by an environment variable of the same name (the slots and the
# wall-time cap are the scheduler's: LSTM_VIZ_MAX_TRAININGS, LSTM_VIZ_RUN_SECONDS).
LSTM_VIZ_TORCH_THREADS = 1  # per training: on 2 shared cores more threads only make sessions fight
LSTM_VIZ_CACHED_RUNS = 16  # finished runs kept in memory (a run is 1-10 MB of checkpoints)
# A cached run is replayed in this many seconds: the curves grow as they did, quickly, and then stay. Long enough
# for a presenter to talk through the steps of the headline demo, short enough not to keep a class waiting.
REPLAY_SECONDS = 20.0
# The replay advances in frames, as the live charts refresh (every 0.5 s): sessions replaying the same run then
# show the same few steps, so they share one set of figures (lstm_viz.ui.train.figures) instead of one per session and step.
REPLAY_FRAMES_PER_SECOND = 2.0

SOURCES = ("trained", "shared-live", "cached", "precomputed")


def completed_normally(trainer: Trainer | None) -> bool:
    """Finished by its own rules (solved, budget, plateau, divergence), not stopped by a person, a cap or an error."""
    return trainer is not None and trainer.finished and all(run.status != "stopped" for run in trainer.runs.values())


def replay_snapshot(trainer: Trainer, step: int) -> Trainer:
    """The finished `trainer` as it was at training step `step`: histories, evaluations and checkpoints up to
    that step, statuses as they stood then, and the training time recorded at that step."""
    if step >= trainer.step:
        return snapshot(trainer)
    copied = copy.copy(trainer)
    copied.step = step
    copied.stop_reason = None
    copied.elapsed = _recorded_elapsed(trainer, step)
    runs = {}
    for arch, run in trainer.runs.items():
        n = bisect.bisect_right(run.steps, step)
        e = bisect.bisect_right(run.eval_steps, step)
        c = bisect.bisect_right([checkpoint.step for checkpoint in run.checkpoints], step)
        ended = bool(run.steps) and run.steps[-1] <= step and run.status != "training"
        shown = run.eval_metric[:e]
        runs[arch] = dataclasses.replace(
            run,
            steps=run.steps[:n], train_loss=run.train_loss[:n], grad_norm=run.grad_norm[:n],
            eval_steps=run.eval_steps[:e], eval_metric=shown, eval_elapsed=run.eval_elapsed[:e],
            checkpoints=run.checkpoints[:max(c, 1)],
            status=run.status if ended else "training",
            status_detail=run.status_detail if ended else "",
            solved_step=run.solved_step if run.solved_step is not None and run.solved_step <= step else None,
            best_metric=min(shown, default=float("inf")),
        )
    copied.runs = runs
    return copied


def _recorded_elapsed(trainer: Trainer, step: int) -> float:
    longest = max(trainer.runs.values(), key=lambda run: len(run.eval_steps))
    if len(longest.eval_steps) < 2:
        return trainer.elapsed * step / max(trainer.step, 1)
    steps = [*longest.eval_steps, trainer.step]
    elapsed = [*longest.eval_elapsed, trainer.elapsed]
    return float(np.interp(step, steps, elapsed))


class Replay:
    """A finished run shown as if live: its recorded history is revealed over `seconds`, then it stays finished.
    The clock starts at the first snapshot, when the page first draws it, not when the session asked for it."""

    def __init__(self, trainer: Trainer, seconds: float = REPLAY_SECONDS):
        self.trainer = trainer
        self.seconds = seconds
        self.started: float | None = None
        self._frozen_at: int | None = None
        self._hold_at: int | None = None
        self._resumed_at = 0  # play_until's starting step: the frame clock never shows an earlier one

    @property
    def step(self) -> int:
        if self._frozen_at is not None:
            return self._frozen_at
        if self.started is None:
            return 0
        fraction = (time.monotonic() - self.started) / self.seconds if self.seconds > 0 else 1.0
        frames = max(1, round(self.seconds * REPLAY_FRAMES_PER_SECOND))
        frame = min(frames, int(fraction * frames))
        step = max(frame * self.trainer.step // frames, self._resumed_at)
        return step if self._hold_at is None else min(step, self._hold_at)

    def play_until(self, step: int | None, *, start_at: int | None = None) -> None:
        """Play on at the usual pace from where the replay stands (or from training step `start_at`, if that is
        later) and hold at training step `step` (None: play to the end): for a presenter to talk through one stage
        at a time (lstm_viz.runs.narrative.stage_starts)."""
        now = min(max(self.step, start_at or 0), self.trainer.step)
        self._frozen_at = None
        self._hold_at = None if step is None else max(now, min(step, self.trainer.step))
        self._resumed_at = now
        fraction = now / self.trainer.step if self.trainer.step else 1.0
        self.started = time.monotonic() - fraction * self.seconds

    @property
    def alive(self) -> bool:
        return self.step < self.trainer.step

    def snapshot(self) -> Trainer:
        if self.started is None:
            self.started = time.monotonic()
        return replay_snapshot(self.trainer, self.step)

    def skip(self) -> None:
        self._frozen_at = self.trainer.step

    def stop(self, reason: str = "stopped by the user") -> Trainer:
        self._frozen_at = self.step
        trainer = self.snapshot()
        return trainer if trainer.finished else mark_stopped(trainer, reason)


class Subscription:
    """One session's view of a shared run. `snapshot()`, `alive`, `error`, `stop()` as a BackgroundTraining has."""

    def __init__(self, hub: "RunHub", key: str, source: str, *, worker: BackgroundTraining | None = None,
                 replay: Replay | None = None):
        self.hub, self.key, self.source = hub, key, source
        self.worker, self.replay = worker, replay
        self._frozen: Trainer | None = None
        # Shown finished from the start (RunHub.join_finished), not replayed: the page offers the replay.
        self.opened_finished = False
        self._stopped = False
        self._released = False

    @property
    def config(self) -> RunConfig:
        return self.replay.trainer.config if self.replay is not None else self.worker.config

    @property
    def error(self) -> BaseException | None:
        return self.worker.error if self.worker is not None else None

    @property
    def alive(self) -> bool:
        if self._stopped or self._released:
            return False
        return self.replay.alive if self.replay is not None else self.worker.alive

    @property
    def queue_position(self) -> int | None:
        return self.worker.queue_position if self.worker is not None and self.alive else None

    def estimated_wait(self) -> float | None:
        """Seconds until the training starts, from the server's measured throughput; None unless queued."""
        return self.worker.estimated_wait() if self.worker is not None and self.alive else None

    @property
    def watchers(self) -> int:
        return self.hub.watchers(self.key) if self.worker is not None else 1

    def snapshot(self) -> Trainer | None:
        if self._stopped:
            return self._frozen
        if self.replay is not None:
            return self.replay.snapshot()
        return self.worker.snapshot()

    def skip(self) -> None:
        """Show a replayed run finished."""
        if self.replay is not None:
            self.replay.skip()

    def play_until(self, step: int | None, *, start_at: int | None = None) -> None:
        """A replayed run plays on to training step `step` and holds there (see Replay.play_until)."""
        if self.replay is not None and not self._stopped:
            self.replay.play_until(step, start_at=start_at)

    def stop(self, reason: str = "stopped by the user") -> None:
        """Stop watching. A live training also stops if nobody else watches it; others keep it running."""
        if self._stopped:
            return
        if self.replay is not None:
            self._frozen = self.replay.stop(reason)
            self._stopped = True
            return
        others = self.watchers - 1
        self.release(reason)
        trainer = self.worker.snapshot()
        if trainer is not None and not trainer.finished:
            mark_stopped(trainer, f"{reason} (the run goes on for {others} other session{'s' if others != 1 else ''})"
                         if others > 0 else reason)
        self._frozen = trainer
        self._stopped = True

    def release(self, reason: str = "stopped: nobody is watching any more") -> None:
        if not self._released:
            self._released = True
            self.hub._release(self, reason)


@dataclasses.dataclass
class _LiveRun:
    worker: BackgroundTraining
    watchers: int = 0


class RunHub:
    """The server's runs by configuration and its limits. Thread-safe. Its trainings queue in `scheduler` (the
    server's one scheduler, shared with sweeps and the Gradient lab's runs; a private one if none is given)."""

    def __init__(self, max_trainings: int | None = None, run_seconds: float | None = None,
                 torch_threads: int | None = None, cached_runs: int | None = None,
                 precomputed: Callable[[RunConfig], Trainer | None] | None = None,
                 unwatched_timeout: float | None = None, replay_seconds: float = REPLAY_SECONDS,
                 scheduler: Scheduler | None = None, store: RunStore | None = None):
        """`store`: finished runs shared with other replicas (LSTM_VIZ_RUN_STORE). On a scheduler with a Ray backend
        the trainings run on the cluster, and a run another replica trains there is watched, not trained again."""
        self.scheduler = scheduler or Scheduler(max_trainings, run_seconds)
        self.store = store
        self.max_trainings = self.scheduler.capacity
        self.run_seconds = run_seconds or self.scheduler.max_seconds
        self.torch_threads = torch_threads or env_setting("LSTM_VIZ_TORCH_THREADS", LSTM_VIZ_TORCH_THREADS)
        self.cached_runs = cached_runs or env_setting("LSTM_VIZ_CACHED_RUNS", LSTM_VIZ_CACHED_RUNS)
        self.precomputed = precomputed
        self.unwatched_timeout = unwatched_timeout
        self.replay_seconds = replay_seconds
        self.trainings_started = 0  # how many Trainers this hub has trained (the shared-cache tests count them)
        self._lock = threading.Lock()
        self._live: dict[str, _LiveRun] = {}
        self._finished: OrderedDict[str, Trainer] = OrderedDict()
        self._subscriptions: weakref.WeakSet[Subscription] = weakref.WeakSet()

    def active_viewers(self) -> int:
        """Sessions whose run is still going (training, queued, or replaying): they all refresh their charts."""
        with self._lock:
            subscriptions = list(self._subscriptions)
        return sum(1 for subscription in subscriptions if subscription.alive)

    def _track(self, subscription: Subscription) -> Subscription:
        with self._lock:
            self._subscriptions.add(subscription)
        return subscription

    def join(self, config: RunConfig, owner=None) -> Subscription:
        """The session's view of the run of `config`: validated first (ConfigError with a user message). `owner`
        (the session) is whose turn a new training takes in the scheduler's fair queue."""
        return self._track(self._join(config, owner))

    def _join(self, config: RunConfig, owner) -> Subscription:
        config.validate()
        key = config.key()
        with self._lock:
            live = self._live.get(key)
            if live is not None and live.worker.alive:
                live.watchers += 1
                return Subscription(self, key, "shared-live", worker=live.worker)
            if key in self._finished:
                self._finished.move_to_end(key)
                return Subscription(self, key, "cached", replay=Replay(self._finished[key], self.replay_seconds))
        # Loading from disk happens outside the lock (once per run: the loader is memoised).
        ready = self.precomputed(config) if self.precomputed is not None else None
        if ready is not None and ready.config.key() == key:
            return Subscription(self, key, "precomputed", replay=Replay(ready, self.replay_seconds))
        stored = self._from_store(config)
        if stored is not None:
            return Subscription(self, key, "cached", replay=Replay(stored, self.replay_seconds))
        backend = self.scheduler.backend
        # Another replica trains it on the cluster: this one watches that training and takes no slot.
        watch = backend is not None and backend.live(RayTraining.KIND, config)
        with self._lock:
            live = self._live.get(key)
            if live is not None and live.worker.alive:  # someone started it meanwhile
                live.watchers += 1
                return Subscription(self, key, "shared-live", worker=live.worker)
            common = dict(unwatched_timeout=self.unwatched_timeout, on_exit=lambda worker: self._finish(key, worker))
            queued = dict(scheduler=self.scheduler, owner=owner, max_seconds=self.run_seconds, **common)
            worker = (RayTraining(config, backend, watch=True, **common) if watch
                      else RayTraining(config, backend, **queued) if backend is not None
                      else BackgroundTraining(config, torch_threads=self.torch_threads, **queued))
            self._live[key] = _LiveRun(worker, watchers=1)
            self.trainings_started += not watch
            worker.start()
            return Subscription(self, key, "shared-live" if watch else "trained", worker=worker)

    def join_finished(self, config: RunConfig) -> Subscription | None:
        """The run of `config` shown finished at once, if it has finished: computed earlier on this server or
        shipped precomputed (what a shared link to a finished run opens on). None, and nothing starts, if it would
        have to be trained. Raises ConfigError for settings that cannot be run."""
        config.validate()
        key = config.key()
        with self._lock:
            trainer = self._finished.get(key)
            if trainer is not None:
                self._finished.move_to_end(key)
        source = "cached"
        if trainer is None:
            trainer = self._from_store(config)
        if trainer is None:
            ready = self.precomputed(config) if self.precomputed is not None else None
            if ready is None or ready.config.key() != key:
                return None
            trainer, source = ready, "precomputed"
        replay = Replay(trainer, self.replay_seconds)
        replay.skip()
        subscription = Subscription(self, key, source, replay=replay)
        subscription.opened_finished = True
        return self._track(subscription)

    def _from_store(self, config: RunConfig) -> Trainer | None:
        """A run some replica finished and stored, kept in this replica's memory from now on (read outside the lock)."""
        trainer = self.store.load(config) if self.store is not None else None
        if trainer is not None:
            with self._lock:
                self._finished[config.key()] = trainer
                self._trim()
        return trainer

    def _trim(self) -> None:
        while len(self._finished) > self.cached_runs:
            self._finished.popitem(last=False)

    def watchers(self, key: str) -> int:
        with self._lock:
            live = self._live.get(key)
            return live.watchers if live is not None else 0

    def _release(self, subscription: Subscription, reason: str) -> None:
        if subscription.worker is None:
            return
        stop = False
        with self._lock:
            live = self._live.get(subscription.key)
            if live is not None and live.worker is subscription.worker:
                live.watchers -= 1
                if live.watchers <= 0:
                    del self._live[subscription.key]
                    stop = True
        if stop:
            subscription.worker.stop(reason)

    def _finish(self, key: str, worker: BackgroundTraining) -> None:
        """In the worker thread, as it ends: a run that completed on its own becomes the cached result, and every
        training that ran tells the server's speed log how fast this server trains now (lstm_viz.runs.speed)."""
        if worker.error is None and worker.trainer is not None:
            SERVER_SPEED.record(worker.trainer)
        with self._lock:
            live = self._live.get(key)
            if live is not None and live.worker is worker:
                del self._live[key]
            finished = worker.error is None and completed_normally(worker.trainer)
            if finished:
                self._finished[key] = worker.trainer
                self._finished.move_to_end(key)
                self._trim()
        if finished and self.store is not None:
            self.store.save(worker.trainer)  # outside the lock: writing takes a moment

    def status(self) -> dict:
        """For the page: how busy the server is."""
        with self._lock:
            live = len(self._live)
            cached = len(self._finished)
        jobs = self.scheduler.status()
        return {"training": jobs["running"], "waiting": jobs["waiting"], "max_trainings": self.max_trainings,
                "live_runs": live, "cached_runs": cached}

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop every live training (tests, server shutdown)."""
        with self._lock:
            workers = [live.worker for live in self._live.values()]
            self._live.clear()
        for worker in workers:
            worker.stop("stopped: the server is shutting down", timeout=timeout)
