"""A 32-point length sweep in-process (as a server without Ray runs it today: one point after another, one torch
thread) against the same sweep on a local Ray cluster of 2 worker CPUs that this bench starts (ray.init on
loopback, no dashboard), on the same machine; then the per-run cost a classroom estimate needs, and how many polls
a second the one run board answers. A measurement, not a target: it prints the load average with every figure.

    python bench/ray_sweep.py                # about 3-5 minutes on a 2-core machine
    python bench/ray_sweep.py --no-classroom # the sweep only

Prints: wall time of each, the speed-up, the overhead per point (slot time not spent training on a worker:
(wall x slots - the workers' own seconds) / points; in-process, wall - the points' own seconds), and whether every
row is identical (all fields but the machine's timings)."""
from __future__ import annotations

import argparse
import os
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
os.environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))

import torch  # noqa: E402

from lstm_viz.runs.presets import DEFAULT_PRESET, preset_config  # noqa: E402
from lstm_viz.runs.scheduler import Scheduler  # noqa: E402
from lstm_viz.runs.sweep import SweepConfig, iter_sweep, run_sweep  # noqa: E402
from lstm_viz.core.trainer import Trainer  # noqa: E402

# 4 lengths x 2 cells x 4 seeds = 32 points of the Length sweep page's defaults (H 32, batch 64, 600 steps).
SWEEP = SweepConfig(task="adding", lengths=(10, 20, 30, 40), archs=("rnn", "lstm"), seeds=(0, 1, 2, 3))
WARM_UP = SweepConfig(task="adding", lengths=(10,), archs=("rnn", "lstm"), seeds=(4,), steps_per_point=20,
                      hidden_size=16, batch_size=32, eval_size=128)
# The same grid at one step per point (other seeds: the board replays a point finished a moment ago): nearly all
# dispatch, so its overhead per point is Ray's fixed cost, apart from the tail and the shared cores of a long sweep.
DISPATCH = SweepConfig(task="adding", lengths=(10, 20, 30, 40), archs=("rnn", "lstm"), seeds=(20, 21, 22, 23),
                       steps_per_point=1, hidden_size=16, batch_size=32, eval_size=128)
TIMING_FIELDS = ("wall_seconds", "train_seconds", "cached")
WORKERS = 2


def load() -> str:
    return " ".join(Path("/proc/loadavg").read_text().split()[:3])


def measured(row) -> dict:
    return {name: value for name, value in asdict(row).items() if name not in TIMING_FIELDS}


def sweep_in_process() -> tuple[float, list]:
    torch.set_num_threads(1)
    started = time.perf_counter()
    rows = run_sweep(SWEEP, cache=None)
    return time.perf_counter() - started, rows


def sweep_on_ray(backend, config: SweepConfig = SWEEP) -> tuple[float, list]:
    scheduler = Scheduler(WORKERS, backend=backend)
    started = time.perf_counter()
    rows = [event.row for event in iter_sweep(config, None, scheduler=scheduler, owner="bench") if event.row]
    return time.perf_counter() - started, rows


def board_polls_per_second(backend, seconds: float = 3.0) -> float:
    """Sequential polls of one run from this process: what one replica's follower thread can ask of the board."""
    board, count = backend.board, 0
    deadline = time.perf_counter() + seconds
    while time.perf_counter() < deadline:
        backend.call(board.poll.remote("bench:none", "bench", 0, 0))
        count += 1
    return count / seconds


def per_run_cost() -> float:
    """The default preset (the headline RNN + LSTM run) trained to its verdict on one torch thread, in seconds."""
    torch.set_num_threads(1)
    started = time.perf_counter()
    trainer = Trainer(preset_config(DEFAULT_PRESET))
    while not trainer.finished:
        trainer.train_step()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--no-classroom", action="store_true")
    args = parser.parse_args()
    import ray

    from lstm_viz.runs.ray_backend import RayBackend

    print(f"load before: {load()}")
    here_wall, here = sweep_in_process()
    here_own = sum(row.wall_seconds for row in here)
    print(f"in-process: {len(here)} points in {here_wall:.1f} s (points' own {here_own:.1f} s; overhead "
          f"{(here_wall - here_own) / len(here) * 1e3:.0f} ms per point), load {load()}")

    started = time.perf_counter()
    context = ray.init(num_cpus=WORKERS, include_dashboard=False, log_to_driver=False, namespace="lstm_viz")
    backend = RayBackend(context.address_info["address"]).connect()
    backend.cpus()
    print(f"ray: cluster of {WORKERS} CPUs started in {time.perf_counter() - started:.1f} s")
    started = time.perf_counter()
    list(iter_sweep(WARM_UP, None, scheduler=Scheduler(WORKERS, backend=backend), owner="bench"))
    print(f"ray: warm-up (the board actor, {WORKERS} workers importing torch) {time.perf_counter() - started:.1f} s")
    there_wall, there = sweep_on_ray(backend)
    there_own = sum(row.wall_seconds for row in there)
    print(f"ray: {len(there)} points in {there_wall:.1f} s (workers' own {there_own:.1f} s; overhead "
          f"{(there_wall * WORKERS - there_own) / len(there) * 1e3:.0f} ms per point), load {load()}")
    identical = [measured(row) for row in here] == [measured(row) for row in there]
    print(f"speed-up {here_wall / there_wall:.2f}x on {WORKERS} workers; rows identical: {identical}")
    wall, rows = sweep_on_ray(backend, DISPATCH)
    fixed = (wall * WORKERS - sum(row.wall_seconds for row in rows)) / len(rows)
    print(f"ray, one step per point: overhead {fixed * 1e3:.0f} ms per point (the fixed cost of a task), load {load()}")
    print(f"board: {board_polls_per_second(backend):.0f} polls/s from one replica thread")
    ray.shutdown()
    if not args.no_classroom:
        cost = per_run_cost()
        print(f"per-run cost: the default preset to its verdict, one torch thread: {cost:.1f} s, load {load()}")
        for cores in (2, 16, 64, 200):
            print(f"  200 different runs on {cores:>3} cores: {200 * cost / cores / 60:.1f} min of training")
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()
