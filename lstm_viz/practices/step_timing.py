"""Training steps of several runs timed side by side: in turns, on one batch each, in one job of the server's
scheduler. A run's own wall time depends on what else the server did while it trained (and a run from the point
cache was timed another day), so the stacking and tuning experiments compare their settings' cost with these
timings instead: every setting measured under the same load, minutes apart at most."""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import Callable, Generator, Hashable

import torch

from lstm_viz.core.model import build_model
from lstm_viz.core.run_config import RunConfig
from lstm_viz.practices.experiment_thread import Update
from lstm_viz.runs.scheduler import Scheduler

TIMING_KIND = "lab step timing"  # the scheduler's kind of job
TIMING_ROUNDS, TIMING_STEPS = 7, 5  # rounds of TIMING_STEPS training steps of every run in turn
_POLL_SECONDS = 0.25


def time_training_steps(runs: dict[Hashable, RunConfig], should_stop: Callable[[], bool] = lambda: False,
                        rounds: int = TIMING_ROUNDS, steps: int = TIMING_STEPS) -> dict[Hashable, float] | None:
    """Seconds per training step (forward, backward, clipping, Adam) of each one-architecture run: `rounds` rounds,
    each timing `steps` steps of every run in turn on one batch of its task; the fastest round per run, the one the
    server's other work disturbed least (with the median, a 3-layer LSTM measured 23 ms per step at load average 4
    against 7.7 ms at 2.6; the other depths moved far less). None when stopped."""
    setups = {}
    for key, run in runs.items():
        task = run.make_task()
        batch = task.generate(run.batch_size, run.length, torch.Generator().manual_seed(run.seed))
        model = build_model(run.model_config(run.archs[0]), seed=run.seed)
        setups[key] = (task, batch, model, torch.optim.Adam(model.parameters(), lr=run.learning_rate))
    times: dict[Hashable, list[float]] = {key: [] for key in runs}
    for _ in range(rounds):
        for key, (task, (inputs, targets), model, optimiser) in setups.items():
            if should_stop():
                return None
            started = time.perf_counter()
            for _ in range(steps):
                optimiser.zero_grad(set_to_none=True)
                task.loss(model(inputs), targets).backward()
                torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                optimiser.step()
            times[key].append((time.perf_counter() - started) / steps)
    return {key: min(values) for key, values in times.items()}


class TimingCache:
    """Timings by the set of runs timed together, per server process: a grid asked for again (its points all in the
    point cache) comes back without a job; its times were measured side by side, so they still compare."""

    def __init__(self, max_entries: int = 256):
        self.max_entries = max_entries
        self._timings: OrderedDict[tuple, dict] = OrderedDict()
        self._lock = threading.Lock()

    @staticmethod
    def key(runs: dict[Hashable, RunConfig]) -> tuple:
        return tuple(sorted((repr(name), run.key()) for name, run in runs.items()))

    def get(self, runs: dict[Hashable, RunConfig]) -> dict | None:
        with self._lock:
            found = self._timings.get(self.key(runs))
            return None if found is None else dict(found)

    def put(self, runs: dict[Hashable, RunConfig], timings: dict) -> None:
        with self._lock:
            self._timings[self.key(runs)] = dict(timings)
            while len(self._timings) > self.max_entries:
                self._timings.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._timings.clear()


TIMINGS = TimingCache()


def timed_job(runs: dict[Hashable, RunConfig], label: str, should_stop: Callable[[], bool],
              scheduler: Scheduler | None, owner: Hashable, cache: TimingCache | None = TIMINGS,
              ) -> Generator[Update, None, dict | None]:
    """time_training_steps as one job of `scheduler` (queued under `owner`), yielding Updates while it waits and
    once it runs, or from `cache`; returns the timings, or None when stopped."""
    cached = cache.get(runs) if cache is not None else None
    if cached is not None:
        return cached
    ticket, completed, timings = None, False, None
    try:
        if scheduler is not None:
            ticket = scheduler.submit(owner, TIMING_KIND, float(TIMING_ROUNDS * TIMING_STEPS * len(runs)), label=label)
            while not ticket.wait_admitted(_POLL_SECONDS):
                if should_stop() or ticket.cancelled:
                    return None
                yield Update(0.0, 1.0, f"{label}: waiting for a slot of the server", queued=ticket)
        yield Update(0.0, 1.0, f"{label}: timing the settings side by side")
        stop = (lambda: should_stop() or ticket.should_stop()) if ticket is not None else should_stop
        timings = time_training_steps(runs, stop)
        completed = timings is not None
        if completed and cache is not None:
            cache.put(runs, timings)
    finally:
        if ticket is not None:
            ticket.finish(completed=completed)
    return timings
