"""Train the bundled runs and write them to assets/runs/<name>/ (see lstm_viz/runs/bundled.py).

    python scripts/precompute_runs.py            # every bundled run
    python scripts/precompute_runs.py NAME ...   # some of them
    python scripts/precompute_runs.py --out /tmp/runs forecast-airline   # into another folder, to try it

A run in bundled.CHECKED_SEEDS is also trained with those other seeds; their final metrics go to <run>/seeds.json.
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_viz.runs.bundled import BUNDLED_RUNS, CHECKED_SEEDS, SEEDS_FILE, bundled_run_path, seed_summary  # noqa: E402
from lstm_viz.runs.runstore import save_run_state  # noqa: E402
from lstm_viz.core.trainer import Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("names", nargs="*", choices=[[], *BUNDLED_RUNS], help="bundled runs to regenerate (default: all)")
    parser.add_argument("--out", type=Path, help="write <out>/<name>/ instead of assets/runs/<name>/")
    args = parser.parse_args()
    torch.set_num_threads(1)  # the same arithmetic as the app's one-thread sessions
    for name in args.names or BUNDLED_RUNS:
        started = time.perf_counter()
        trainer = Trainer(BUNDLED_RUNS[name])
        while not trainer.finished:
            trainer.train_step()
        folder = save_run_state(trainer, args.out / name if args.out else bundled_run_path(name))
        size = sum(path.stat().st_size for path in folder.iterdir()) / 2**20
        print(f"{name}: {trainer.verdict()} ({time.perf_counter() - started:.0f} s, {size:.1f} MB in {folder})")
        if name in CHECKED_SEEDS:
            summaries = {}
            for seed in CHECKED_SEEDS[name]:
                other = Trainer(replace(BUNDLED_RUNS[name], seed=seed))
                while not other.finished:
                    other.train_step()
                summaries[str(seed)] = seed_summary(other)
                print(f"{name}, seed {seed}: {other.verdict()}")
            (folder / SEEDS_FILE).write_text(json.dumps(summaries, indent=1) + "\n")


if __name__ == "__main__":
    main()
