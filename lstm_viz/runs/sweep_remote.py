"""A length sweep's points on the Ray cluster (the scheduler's Ray backend, lstm_viz.runs.ray_backend): as many
points at once as the scheduler admits, each its own job there (so the fair queue interleaves them with other
sessions' jobs) and its own Ray task on one worker CPU. Events come out as lstm_viz.runs.sweep.iter_sweep's do, in
point order: the rows in order, the progress of the first unfinished point, its place in the queue. A point some
thread of this process is training is waited for, a point another replica trains on the cluster is watched: either
way it trains once.

lstm_viz.runs.sweep calls this module and hands it its event type, so nothing here imports that module.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, replace
from typing import Callable, Hashable, Iterator

from lstm_viz.core.run_config import RunConfig
from lstm_viz.runs.ray_backend import POLL_SECONDS, RemoteRun, RemoteRunError
from lstm_viz.runs.scheduler import Scheduler, Ticket
from lstm_viz.runs.sweep_config import SweepConfig, SweepRow

POINT_KIND = "point"  # the run board's name for a sweep point's run


@dataclass
class _Flight:
    """One point on its way: waiting for another thread, queued for a slot, or training on the cluster."""
    index: int
    config: RunConfig
    ticket: Ticket | None = None
    busy: object = None  # a threading.Event: another thread of this process trains the point
    owned: bool = False  # this sweep claimed the point in the cache, and must release it
    remote: RemoteRun | None = None
    step: int = 0
    row: SweepRow | None = None


def iter_sweep_remote(config: SweepConfig, cache, should_stop: Callable[[], bool], scheduler: Scheduler,
                      owner: Hashable, make_event: Callable, kind: str) -> Iterator:
    """`cache`: the sweep's PointCache (or None); `make_event(index, count, point, step, max_steps, **details)`: its
    SweepEvent; `kind`: the scheduler's job kind for a point. A stopped sweep caches only the points it finished."""
    points = config.points()
    rows: list[SweepRow | None] = [None] * len(points)
    waiting = list(range(len(points)))
    flights: dict[int, _Flight] = {}
    shown = 0
    try:
        while shown < len(points):
            if should_stop():
                return
            while waiting and len(flights) < scheduler.capacity:
                index = waiting.pop(0)
                flight = _start(index, config.run_config(points[index]), cache, scheduler, owner, kind,
                                points[index].label)
                if flight.row is not None:
                    rows[index] = flight.row
                else:
                    flights[index] = flight
            for flight in list(flights.values()):
                if not _advance(flight, cache, scheduler, owner, kind, points[flight.index].label):
                    return  # the scheduler stopped a point (its cap, a shutdown): the sweep ends as a stop does
                if flight.row is not None:
                    rows[flight.index] = flight.row
                    del flights[flight.index]
            while shown < len(points) and rows[shown] is not None:
                yield make_event(shown, len(points), points[shown], rows[shown].steps_trained,
                                 config.steps_per_point, row=rows[shown])
                shown += 1
            current = flights.get(shown)
            if current is not None:  # None: the next point is queued at the top of the loop
                queued = current.ticket if current.ticket is not None and not current.ticket.admitted else None
                yield make_event(shown, len(points), points[shown], current.step, config.steps_per_point,
                                 waiting=current.busy is not None, queued=queued)
                _pause(flights, scheduler)
    finally:
        for flight in flights.values():
            _abandon(flight, cache)


def _pause(flights: dict[int, _Flight], scheduler: Scheduler) -> None:
    """Until the next look: POLL_SECONDS, or less when a point's task returns (its slot then goes to the next point
    at once instead of idling until the next poll)."""
    references = [flight.remote.reference for flight in flights.values()
                  if flight.remote is not None and flight.remote.reference is not None]
    if references:
        scheduler.backend.wait_any(references, POLL_SECONDS)
    else:
        time.sleep(POLL_SECONDS)


def _start(index: int, run_config: RunConfig, cache, scheduler: Scheduler, owner: Hashable, kind: str,
           label: str) -> _Flight:
    flight = _Flight(index, run_config)
    if cache is not None:
        row, busy = cache.claim(run_config)
        if row is not None:
            flight.row = replace(row, cached=True)
            return flight
        if busy is not None:
            flight.busy = busy
            return flight
        flight.owned = True
    units = run_config.estimated_step_gflop() * run_config.max_steps
    flight.ticket = scheduler.submit(owner, kind, units, label=label)
    return flight


def _advance(flight: _Flight, cache, scheduler: Scheduler, owner: Hashable, kind: str, label: str) -> bool:
    """One look at a point: False if the scheduler stopped it."""
    if flight.busy is not None:
        if flight.busy.is_set():  # the other thread is done with it: take its row, or train it here
            fresh = _start(flight.index, flight.config, cache, scheduler, owner, kind, label)
            flight.__dict__.update(fresh.__dict__)
        return True
    ticket = flight.ticket
    if flight.remote is None:
        if ticket.cancelled:
            return False
        if ticket.admitted:
            flight.remote = scheduler.backend.run(POINT_KIND, flight.config)
            flight.remote.claim(start=True)
        return True
    if ticket.should_stop():
        flight.remote.stop("stopped by the server")
        return False
    for post in flight.remote.poll()[1]:
        flight.step = post["step"]
        if "row" in post:
            flight.row = SweepRow(**post["row"])
    ticket.progress(flight.step * flight.config.estimated_step_gflop())
    if flight.remote.state == "failed":
        raise RemoteRunError(f"Sweep point {label}: {flight.remote.message}")
    if flight.row is not None:
        if cache is not None:
            cache.put(flight.config, flight.row)
        ticket.finish(completed=True)
        _abandon(flight, cache)
        return True
    return not flight.remote.ended  # ended without a row: stopped on the cluster


def _abandon(flight: _Flight, cache) -> None:
    """Let go of everything a point holds: its slot or place in the queue, its run on the cluster, its claim."""
    if flight.ticket is not None:
        flight.ticket.finish(completed=False)
    if flight.remote is not None:
        flight.remote.release("stopped: the sweep was stopped")
        flight.remote = None
    if flight.owned and cache is not None:
        cache.release(flight.config)
        flight.owned = False
