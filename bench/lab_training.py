"""The best-practice lab's consistent-lengths, tuning and stacking experiments on their default settings, as the
page runs them (through a scheduler of two slots, one torch thread), printing each measured result, its takeaway,
its wall time and the load average. A measurement, not a target: the lead's note on issue 14 quotes it.

    python bench/lab_training.py            # all three, a few minutes on a quiet 2-core machine
    python bench/lab_training.py lengths    # one of: lengths, tuning, stacking
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from lstm_viz.practices import lengths, stacking, step_timing, tuning  # noqa: E402
from lstm_viz.runs.scheduler import Scheduler  # noqa: E402


def load() -> str:
    return Path("/proc/loadavg").read_text().split(" ", 3)[:3].__str__()


def run(generator) -> object:
    step_timing.TIMINGS.clear()  # measure the step times in this run
    last = None
    for last in generator:
        pass
    return last.partial


def bench_lengths(scheduler: Scheduler) -> None:
    started = time.perf_counter()
    result = run(lengths.iter_lengths(lengths.LengthsConfig(), lambda: False, scheduler, "bench", cache=None))
    print(f"lengths: {time.perf_counter() - started:.1f} s wall, load {load()}")
    for row in lengths.metric_rows(result):
        print(f"  {row['variant']:<20} MSE {row['test MSE']:.4f}  ({row['training seconds']:.1f} s training)")
    print("  takeaway:", lengths.lengths_takeaway(result))


def bench_tuning(scheduler: Scheduler) -> None:
    started = time.perf_counter()
    result = run(tuning.iter_tuning(tuning.TuningConfig(), lambda: False, scheduler, "bench", cache=None))
    print(f"tuning: {time.perf_counter() - started:.1f} s wall, load {load()}")
    for point, row in result.cells():
        solved = (f"solved at {row.solved_step} ({result.solve_seconds(point, row):.1f} s at the side-by-side step "
                  f"time; the run itself took {row.train_seconds:.1f} s)" if row.solved_step else "not solved")
        print(f"  {point.label:<32} MSE {row.final_metric:.4f}  {solved} ({row.steps_trained} steps)")
    print("  step times:", {pair: round(seconds * 1e3, 2) for pair, seconds in sorted(result.step_seconds.items())})
    print("  takeaway:", tuning.tuning_takeaway(result))


def bench_stacking(scheduler: Scheduler) -> None:
    started = time.perf_counter()
    result = run(stacking.iter_stacking(stacking.StackingConfig(), lambda: False, scheduler, "bench", cache=None))
    print(f"stacking: {time.perf_counter() - started:.1f} s wall, load {load()}")
    for row in result.rows:
        print(f"  {row.layers} layer(s): MSE {row.final_metric:.4f}, solved at {row.solved_step}, "
              f"{row.seconds_per_step * 1e3:.2f} ms/step, {row.parameters:,} parameters")
    print("  takeaway:", stacking.stacking_takeaway(result))


BENCHES = {"lengths": bench_lengths, "tuning": bench_tuning, "stacking": bench_stacking}

if __name__ == "__main__":
    torch.set_num_threads(1)
    print(f"load at start {load()}")
    scheduler = Scheduler(capacity=2)
    for name in sys.argv[1:] or BENCHES:
        BENCHES[name](scheduler)
