"""Run the default length sweep and write it to assets/sweeps/adding-default.json (lstm_viz/runs/sweep.py).

    python scripts/precompute_sweep.py
"""
from __future__ import annotations

import datetime
import platform
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_viz.runs.sweep import DEFAULT_SWEEP, PRECOMPUTED_SWEEPS, format_duration, iter_sweep, save_sweep  # noqa: E402


def main() -> None:
    torch.set_num_threads(1)  # the same arithmetic as the app's one-thread sessions
    config = DEFAULT_SWEEP
    started = time.perf_counter()
    rows = []
    for event in iter_sweep(config, cache=None):
        if event.row is not None:
            row = event.row
            rows.append(row)
            solved = (f"solved at step {row.solved_step}" if row.solved_step
                      else f"not solved ({row.steps_trained} steps)")
            print(f"{event.point_index + 1}/{event.point_count} {row.label:>10} T={row.length:<4} seed {row.seed}: "
                  f"final {row.metric_name} {row.final_metric:.4f} (baseline {row.baseline:.3f}), {solved}, "
                  f"{row.wall_seconds:.1f} s", flush=True)
    total = time.perf_counter() - started
    info = {
        "generated": datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
        "wall_seconds": round(total, 1),
        "machine": f"{platform.machine()}, {torch.get_num_threads()} torch thread, torch {torch.__version__}",
        "script": "scripts/precompute_sweep.py",
    }
    path = save_sweep(PRECOMPUTED_SWEEPS["adding-default"], config, rows, info)
    print(f"{len(rows)} points in {format_duration(total)} -> {path}")


if __name__ == "__main__":
    main()
