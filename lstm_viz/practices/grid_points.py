"""Training runs of a lab experiment as length-sweep points: tuning and stacking each ask for a list of runs that
differ in one or three settings, and each run is a one-point SweepConfig trained by lstm_viz.runs.sweep.iter_sweep.
So every run queues as a job of the server's one scheduler (kind "sweep point"), stops between training steps, and
lands in the sweep's per-server PointCache: a second session asking for the same run, from the lab or from the
Length sweep page, gets it at once.

Progress is counted in the sweep's own per-point time estimates (SweepConfig.point_seconds), leaving out the points
already in the cache, so the experiment thread's measured time left (lstm_viz.practices.experiment_thread) is
scaled by the work that really remains.
"""
from __future__ import annotations

from typing import Callable, Hashable, Iterator, Sequence

from lstm_viz.practices.experiment_thread import Update
from lstm_viz.runs.scheduler import Scheduler
from lstm_viz.runs.sweep import POINT_CACHE, PointCache, SweepConfig, SweepRow, iter_sweep


def point_run_config(config: SweepConfig):
    """The one RunConfig behind a one-point sweep."""
    (point,) = config.points()
    return config.run_config(point)


def cached_row(config: SweepConfig, cache: PointCache | None = POINT_CACHE) -> SweepRow | None:
    return None if cache is None else cache.get(point_run_config(config))


def iter_points(configs: Sequence[SweepConfig], labels: Sequence[str], cache: PointCache | None,
                should_stop: Callable[[], bool], scheduler: Scheduler | None, owner: Hashable,
                ) -> Iterator[Update]:
    """Train (or take from the cache) each one-point config in turn; the Updates' `partial` is the list of rows so
    far, None where a point is not finished. Stops between training steps when `should_stop()`."""
    rows: list[SweepRow | None] = [None] * len(configs)
    planned = [0.0 if cached_row(config, cache) is not None else config.point_seconds(config.points()[0])
               for config in configs]
    total = sum(planned) or 1.0
    done = 0.0
    for index, (config, label) in enumerate(zip(configs, labels)):
        if should_stop():
            return
        message = f"{label} ({index + 1} of {len(configs)})"
        for event in iter_sweep(config, cache, should_stop, scheduler, owner):
            if event.row is not None:
                rows[index] = event.row
                done += planned[index]
                yield Update(done, total, f"{label}: done", list(rows))
            elif event.queued is not None:
                yield Update(done, total, f"{message}: waiting for a slot of the server", list(rows), event.queued)
            else:
                share = min(1.0, event.step / max(1, event.max_steps))
                yield Update(done + planned[index] * share, total, f"{message}: step {event.step:,}", list(rows))
        if rows[index] is None:  # stopped part-way (by the user, the scheduler's cap or a shutdown)
            return
