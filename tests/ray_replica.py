"""One app replica in its own process, for the two-replica tests (tests/test_ray_backend.py): the server's scheduler
and run hub built from the environment exactly as lstm_viz.ui.services builds them (LSTM_VIZ_RAY_ADDRESS,
LSTM_VIZ_RUN_STORE), one session joining the run of a config, waiting for its end, and printing what happened as
JSON on the last line: where the run came from, how many trainings this replica started, and the run's numbers.

    python -m tests.ray_replica '<RunConfig as JSON>' [--until <file> | --steps <n>]

`--until`: the session presses Stop once that file exists; `--steps`: once it has seen that many training steps.
"""
import argparse
import json
import time
from pathlib import Path

import torch

from lstm_viz.core.trainer import RunConfig
from lstm_viz.runs.ray_backend import scheduler_from_environment
from lstm_viz.runs.replica_store import store_from_environment
from lstm_viz.runs.shared_runs import RunHub

WAIT_SECONDS = 120


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("config")
    parser.add_argument("--until", type=Path)
    parser.add_argument("--steps", type=int)
    args = parser.parse_args()
    torch.set_num_threads(1)
    config = RunConfig.from_dict(json.loads(args.config))
    scheduler = scheduler_from_environment()
    hub = RunHub(scheduler=scheduler, store=store_from_environment(), replay_seconds=0.0)
    joined = hub.join(config)
    print(json.dumps({"joined": joined.source}), flush=True)  # the test waits for this line before the next replica
    if joined.replay is not None:
        joined.skip()  # a finished run: shown whole at once
    deadline = time.monotonic() + WAIT_SECONDS
    while joined.alive and time.monotonic() < deadline:
        seen = joined.snapshot()
        if (args.until is not None and args.until.exists()) or (
                args.steps is not None and seen is not None and seen.step >= args.steps):
            joined.stop()
        time.sleep(0.1)
    trainer = joined.snapshot()
    hub.shutdown()
    print(json.dumps({
        "source": joined.source, "backend": None if scheduler.backend is None else scheduler.backend.name,
        "trainings_started": hub.trainings_started, "stored_here": hub.store.saved if hub.store else 0,
        "error": None if joined.error is None else str(joined.error), "step": trainer.step,
        "train_loss": {arch: run.train_loss for arch, run in trainer.runs.items()},
        "eval_metric": {arch: run.eval_metric for arch, run in trainer.runs.items()},
        "status": {arch: run.status for arch, run in trainer.runs.items()},
    }), flush=True)


if __name__ == "__main__":
    main()
