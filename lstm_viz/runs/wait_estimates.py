"""How long a queued job of the scheduler (lstm_viz.runs.scheduler) will wait: what each kind of job has been
measured to achieve on this server (units of work per second on one slot, and the share of its planned work a
finished job used), and the waits said in words. The scheduler calls a Throughput under its own lock."""
from __future__ import annotations

from dataclasses import dataclass

# Before anything has been measured: units per second of a job on one core. Units are GFLOP for every job of the
# app (lstm_viz.core.run_config.RunConfig.estimated_step_gflop); a fused LSTM step runs at 5-20 GFLOP/s here
# (notes/measured.md). Only the first estimates use it; measured rates replace it.
PRIOR_UNITS_PER_SECOND = 5.0
# Weight of the newest measurement in the running averages: the last few jobs dominate, so a server that becomes
# busier (or quieter) is followed within a few jobs.
SMOOTHING = 0.35


@dataclass
class KindStats:
    rate: float | None = None  # units per second of one job of this kind, measured
    used: float = 1.0  # share of the planned units a finished job of this kind used
    finished: int = 0


class Throughput:
    """The measurements of every kind of job, and the estimates made from them. The jobs are the scheduler's
    Tickets; `running` is its list of running ones."""

    def __init__(self, prior_rate: float = PRIOR_UNITS_PER_SECOND):
        self.prior_rate = prior_rate
        self.stats: dict[str, KindStats] = {}
        self.guessed = False  # set by rate() when it had nothing measured to go on

    def record(self, ticket) -> None:
        """A job has ended: fold its speed (unless it ran on borrowed slots) and, if it completed, the share of its
        plan it used into its kind's averages."""
        seconds = ticket.ended_at - ticket.started_at
        stats = self.stats.setdefault(ticket.kind, KindStats())
        if seconds > 0 and ticket.done_units > 0 and not ticket.ever_borrowed:
            rate = ticket.done_units / seconds
            stats.rate = rate if stats.rate is None else (1 - SMOOTHING) * stats.rate + SMOOTHING * rate
        if ticket.completed:
            used = min(1.0, ticket.done_units / ticket.units) if ticket.done_units > 0 else 1.0
            stats.used = used if stats.finished == 0 else (1 - SMOOTHING) * stats.used + SMOOTHING * used
            stats.finished += 1

    def rate(self, kind: str, running: list, now: float) -> float:
        """Units per second one job of `kind` achieves: now, by the running jobs of that kind; else as the last
        finished ones did; else as running jobs of any kind do now; else as anything measured did; else the prior."""
        # A job that ran on borrowed slots went faster than one slot lets the next job go.
        one_slot = [t for t in running if not t.ever_borrowed]
        same = [r for t in one_slot if t.kind == kind and (r := t.recent_rate(now)) is not None]
        if same:
            return sum(same) / len(same)
        stats = self.stats.get(kind)
        if stats is not None and stats.rate is not None:
            return stats.rate
        other = [r for t in one_slot if (r := t.recent_rate(now)) is not None]
        if other:
            return sum(other) / len(other)
        measured = [s.rate for s in self.stats.values() if s.rate is not None]
        if not measured:
            self.guessed = True
        return sum(measured) / len(measured) if measured else self.prior_rate

    def expected_units(self, ticket) -> float:
        """The work a job will likely do: its plan times the share its kind's finished jobs used."""
        stats = self.stats.get(ticket.kind)
        return ticket.units * (stats.used if stats is not None else 1.0)

    def remaining_seconds(self, ticket, running: list, now: float) -> float:
        """A running job's time left: its expected work left at its own rate (once measurable), else its kind's."""
        elapsed = now - ticket.started_at
        expected = self.expected_units(ticket)
        if ticket.done_units >= expected:  # past the typical share of its plan: assume it ends soon, not never
            expected = min(ticket.units, ticket.done_units + 0.1 * ticket.units)
        left = max(0.0, expected - ticket.done_units) / (ticket.recent_rate(now) or self.rate(ticket.kind, running, now))
        if ticket.max_seconds is not None:
            left = min(left, max(0.0, ticket.max_seconds - elapsed))
        return left


def describe_wait(ticket) -> str | None:
    """'position 3 in the queue, about 40 s' for a queued job; None once it runs."""
    position = ticket.position
    if position is None:
        return None
    seconds = ticket.estimated_wait()
    if seconds is None:
        return f"position {position} in the queue"
    guess = " (a first guess: the server has not measured its speed yet)" if ticket.estimate_is_guess else ""
    return f"position {position} in the queue, about {format_wait(seconds)} to wait{guess}"


def format_wait(seconds: float) -> str:
    """A wait rounded as a person would say it: "a few seconds", "40 s", "3 min"."""
    if seconds < 5:
        return "a few seconds"
    if seconds < 90:
        return f"{5 * round(seconds / 5):.0f} s"
    return f"{round(seconds / 60):.0f} min"
