"""How long a run takes on this server now: a recorded run's steps, at the speed this server's trainings measured.

A claim such as "the LSTM solves it N s after Start" is computed here, never written as text: a busy classroom
server trains 3x slower than a quiet one. Speed is measured as work per second, the work of a step being the
estimated GFLOP of every architecture still training (RunConfig.estimated_step_gflop), so a run of another size or
with other architectures still tells how fast this server trains. Nothing here imports Streamlit.
"""
from __future__ import annotations

import json
import statistics
import threading
import time
from collections import deque
from dataclasses import dataclass, replace
from pathlib import Path

from lstm_viz.core.trainer import RunConfig, Trainer

# Trainings older than this say little about the server's load now.
RECENT_SECONDS = 15 * 60
RECENT_TRAININGS = 8
# A training shorter than this measured mostly its start-up.
MIN_TRAINING_SECONDS = 2.0


@dataclass(frozen=True)
class CellRecord:
    label: str
    steps_trained: int
    solved_step: int | None
    status: str


@dataclass(frozen=True)
class RunRecord:
    """What a finished run's timing needs, without its weights: read from a run.json in milliseconds, where
    restoring the whole run (lstm_viz.runs.runstore) takes seconds."""
    config: RunConfig
    step: int
    elapsed: float
    cells: dict[str, CellRecord]
    # Training seconds at each evaluation of the cell evaluated longest: (steps, seconds).
    clock: tuple[tuple[int, ...], tuple[float, ...]]

    @classmethod
    def of(cls, trainer: Trainer) -> "RunRecord":
        cells = {arch: CellRecord(run.label, run.steps[-1] if run.steps else 0, run.solved_step, run.status)
                 for arch, run in trainer.runs.items()}
        longest = max(trainer.runs.values(), key=lambda run: len(run.eval_steps))
        return cls(trainer.config, trainer.step, trainer.elapsed, cells,
                   (tuple(longest.eval_steps), tuple(longest.eval_elapsed)))

    @classmethod
    def read(cls, folder: Path | str) -> "RunRecord":
        """From a run folder written by lstm_viz.runs.runstore.save_run_state (OSError, ValueError or KeyError if not)."""
        from lstm_viz.core.architectures import ARCHITECTURES

        document = json.loads((Path(folder) / "run.json").read_text())
        cells = {arch: CellRecord(ARCHITECTURES[arch].label, saved["steps"][-1] if saved["steps"] else 0,
                                  saved["solved_step"], saved["status"])
                 for arch, saved in document["runs"].items()}
        longest = max(document["runs"].values(), key=lambda saved: len(saved["eval_steps"]))
        return cls(RunConfig.from_dict(document["config"]), document["step"], document["elapsed"], cells,
                   (tuple(longest["eval_steps"]), tuple(longest["eval_elapsed"])))

    @property
    def steps_per_second(self) -> float:
        return self.step / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def verdict_step(self) -> int:
        """The step at which its last cell ended: when its verdict was known."""
        return max((cell.steps_trained for cell in self.cells.values()), default=self.step)

    def work_gflop(self, until_step: int | None = None) -> float:
        """GFLOP of its training steps up to `until_step` (all by default), each cell counted while it trained."""
        total = 0.0
        for arch, cell in self.cells.items():
            steps = cell.steps_trained if until_step is None else min(cell.steps_trained, until_step)
            total += replace(self.config, archs=(arch,)).estimated_step_gflop() * steps
        return total

    def recorded_seconds(self, step: int) -> float:
        """Training seconds it took to reach `step` (recorded at each evaluation; interpolated in between)."""
        steps, seconds = [*self.clock[0], self.step], [*self.clock[1], self.elapsed]
        points = sorted(zip(steps, seconds))
        if step <= points[0][0]:
            return points[0][1]
        for (x0, y0), (x1, y1) in zip(points, points[1:]):
            if step <= x1:
                return y0 if x1 == x0 else y0 + (y1 - y0) * (step - x0) / (x1 - x0)
        return points[-1][1]


class SpeedLog:
    """The speed of this server's recent trainings (thread-safe; one per server process)."""

    def __init__(self, max_records: int = RECENT_TRAININGS, recent_seconds: float = RECENT_SECONDS,
                 clock=time.monotonic):
        self._records: deque[tuple[float, float]] = deque(maxlen=max_records)  # (when, GFLOP per second)
        self._recent_seconds = recent_seconds
        self._clock = clock
        self._lock = threading.Lock()

    def record(self, trainer: Trainer) -> None:
        """A training that ran here (finished or stopped): its work over its training time."""
        self.add(RunRecord.of(trainer).work_gflop(), trainer.elapsed)

    def add(self, gflop: float, seconds: float) -> None:
        if seconds >= MIN_TRAINING_SECONDS and gflop > 0:
            with self._lock:
                self._records.append((self._clock(), gflop / seconds))

    def recent_rates(self) -> list[float]:
        now = self._clock()
        with self._lock:
            return [rate for when, rate in self._records if now - when <= self._recent_seconds]

    def gflop_per_second(self) -> float | None:
        """The median speed of the recent trainings; None when this server has not trained lately."""
        rates = self.recent_rates()
        return statistics.median(rates) if rates else None


SERVER_SPEED = SpeedLog()


@dataclass(frozen=True)
class Timing:
    """How long a recorded run took to reach a step, and how long that work takes on this server now."""
    step: int
    recorded_seconds: float  # training seconds on the machine that recorded the run
    here_seconds: float | None  # at this server's recent speed; None when it has not trained lately
    measured_trainings: int  # how many recent trainings that speed comes from


def timing(record: RunRecord, step: int, speed: SpeedLog = SERVER_SPEED) -> Timing:
    rate = speed.gflop_per_second()
    return Timing(step=step, recorded_seconds=record.recorded_seconds(step),
                  here_seconds=record.work_gflop(step) / rate if rate else None,
                  measured_trainings=len(speed.recent_rates()))


def _seconds(value: float) -> str:
    return f"{value:.0f} s" if value < 90 else f"{value / 60:.1f} minutes"


def timing_sentence(record: RunRecord, speed: SpeedLog = SERVER_SPEED) -> str:
    """What the shipped run says about time, true on a quiet server and on a busy one, e.g. "In the shipped run
    (seed 0) the LSTM solved it at step 700 and the run ended at step 700. At the speed this server measured in its
    last 3 trainings, training it live takes about 41 s to that solve and 41 s to the end." """
    solved = [(cell.solved_step, cell.label) for cell in record.cells.values() if cell.solved_step is not None]
    end = record.verdict_step
    if solved:
        step, label = max(solved)
        what = f"the {label} solved it at step {step:,} and the run ended at step {end:,}"
    else:
        step, label = end, None
        what = f"the run ended at step {end:,} with no cell solving it"
    text = f"In the shipped run (seed {record.config.seed}) {what}."
    to_solve, to_end = timing(record, step, speed), timing(record, end, speed)
    if to_solve.here_seconds is not None:
        count = to_solve.measured_trainings
        trainings = f"{count} trainings" if count != 1 else "training"
        text += f" At the speed this server measured in its last {trainings}, training it live takes about "
        text += (f"{_seconds(to_solve.here_seconds)} to that solve and {_seconds(to_end.here_seconds)} to the end."
                 if label else f"{_seconds(to_end.here_seconds)}.")
    else:
        text += (f" That took {_seconds(to_solve.recorded_seconds)} of training"
                 + (f" to the solve and {_seconds(to_end.recorded_seconds)} to the end" if label and end > step else "")
                 + f" on the machine that recorded it ({record.steps_per_second:.0f} steps/s); this server has not "
                 "trained lately to measure its own speed, and a busy server is slower.")
    return text
