"""Length generalisation, measured: train at T, test at T, 2T and 4T.

For the adding problem, copy memory and brackets, each architecture (RNN, GRU, LSTM, and the causal Transformer
with sinusoidal and with learned positions) is trained by the ordinary Trainer at the task's training length T, one
Trainer per architecture with the same seed: the same initial draw of the data generator, so the same batches at
every step. Each model is then scored with the task's own generator and metric on a fresh test set at T, 2T and 4T,
beside the task's no-memory baseline and floor at that length, computed by the task for that length.

    nice python bench/length_generalisation.py            # the full table, about 17 minutes on a shared core
    python bench/length_generalisation.py --quick         # a few seconds: tiny models, a handful of steps (tests)

"relative" is (metric - floor) / (baseline - floor): 0 is the best any model can do, 1 is the no-memory baseline,
above 1 worse than predicting without memory. The full run writes assets/measurements/length_generalisation.json,
which the Length sweep page reads, and prints the table in the README's form.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from any folder

from lstm_viz.core.model import SequenceModel  # noqa: E402
from lstm_viz.core.tasks import Task  # noqa: E402
from lstm_viz.core.trainer import TEST_SEED_OFFSET, RunConfig, Trainer  # noqa: E402
from lstm_viz.rules.paths import ASSETS_DIR  # noqa: E402

OUTPUT = ASSETS_DIR / "measurements" / "length_generalisation.json"
LENGTH_FACTORS = (1, 2, 4)
# name -> (architecture, positions); positions only matter to the Transformer.
VARIANTS = {
    "rnn": ("rnn", "sinusoidal"),
    "gru": ("gru", "sinusoidal"),
    "lstm": ("lstm", "sinusoidal"),
    "transformer-sinusoidal": ("transformer", "sinusoidal"),
    "transformer-learned": ("transformer", "learned"),
}


@dataclass(frozen=True)
class Setup:
    """How one task is trained. Every architecture gets the same length, batches, budget and seed; the Transformer
    trains at a rate of its own, chosen on a short trial (bench/README.md): at the adding presets' 1e-2 it
    plateaued at 31% of the baseline on adding T = 50 (seed 0), at 1e-3 it solved in 100 steps."""
    task: str
    length: int
    max_steps: int
    learning_rate: float = 1e-2
    transformer_learning_rate: float = 1e-3
    hidden_size: int = 64
    batch_size: int = 64
    eval_count: int = 256

    def run_config(self, arch: str, positions: str, seed: int) -> RunConfig:
        rate = self.transformer_learning_rate if arch == "transformer" else self.learning_rate
        return RunConfig(
            task=self.task, length=self.length, archs=(arch,), positions=positions, heads=2,
            hidden_size=self.hidden_size, batch_size=self.batch_size, learning_rate=rate, max_steps=self.max_steps,
            seed=seed, eval_every=50, eval_size=self.eval_count, probe_every=self.max_steps, probe_size=4,
            trace_examples=4, stop_when_solved=True, train_to_budget=True,
        )


# Training lengths: where the recurrent cells and the Transformer can learn within the budget (copy memory at T=20
# is not solved by the LSTM in 6000 steps here: bench/README.md), and 4T within the task's range (brackets: 400).
FULL_SETUPS = (
    Setup("adding", length=50, max_steps=2000),
    Setup("copy", length=10, max_steps=3000, learning_rate=3e-3),
    Setup("brackets", length=50, max_steps=1000, learning_rate=3e-3),
)
QUICK_SETUPS = (
    Setup("adding", length=8, max_steps=6, hidden_size=8, batch_size=8, eval_count=16),
    Setup("copy", length=4, max_steps=6, hidden_size=8, batch_size=8, eval_count=16),
    Setup("brackets", length=10, max_steps=6, hidden_size=8, batch_size=8, eval_count=16),
)


def test_set(task: Task, length: int, count: int, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The task's own test examples at `length`, from the Trainer's test stream, so at T they are its test set."""
    return task.generate(count, length, torch.Generator().manual_seed(seed + TEST_SEED_OFFSET), split="test")


@torch.no_grad()
def score(model: SequenceModel, task: Task, length: int, count: int, seed: int) -> dict:
    """The task's metric at `length`, beside its baseline and floor there."""
    model.eval()
    inputs, targets = test_set(task, length, count, seed)
    metric = task.metric(model(inputs), targets)
    baseline, floor = task.baseline(length), task.metric_floor(length)
    return {"length": length, "metric": metric, "baseline": baseline, "floor": floor,
            "relative": (metric - floor) / (baseline - floor)}


def train(setup: Setup, variant: str, seed: int) -> tuple[Trainer, float]:
    arch, positions = VARIANTS[variant]
    trainer = Trainer(setup.run_config(arch, positions, seed))
    started = time.perf_counter()
    try:
        while not trainer.finished:
            trainer.train_step()
    finally:
        trainer.close()
    return trainer, time.perf_counter() - started


def measure_task(setup: Setup, seed: int = 0, variants: tuple[str, ...] = tuple(VARIANTS),
                 log=print) -> tuple[list[dict], dict[str, SequenceModel]]:
    """One row per variant and test length, and the trained models (for a test to score again)."""
    rows, models = [], {}
    for variant in variants:
        trainer, seconds = train(setup, variant, seed)
        run = trainer.runs[VARIANTS[variant][0]]
        models[variant] = run.model
        for factor in LENGTH_FACTORS:
            row = {"task": setup.task, "variant": variant, "train_length": setup.length, "factor": factor,
                   "steps_trained": trainer.step, "status": run.status, "training_seconds": seconds,
                   "learning_rate": trainer.config.learning_rate,
                   **score(run.model, trainer.task, factor * setup.length, setup.eval_count, seed)}
            rows.append(row)
        shown = "  ".join(f"{row['factor']}T {row['metric']:.4f} ({row['relative']:.2f})" for row in rows[-3:])
        log(f"  {setup.task:<8} {variant:<23} {run.status:<8} {trainer.step:>5} steps {seconds:6.1f} s   {shown}"
            f"   load {load_average()}", flush=True)
    return rows, models


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def machine() -> dict:
    model_name = ""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model_name = line.split(":", 1)[1].strip()
                break
    return {"cpu": model_name or platform.processor(), "cores": os.cpu_count(), "python": platform.python_version(),
            "torch": torch.__version__, "torch_threads": torch.get_num_threads(), "platform": platform.platform()}


def measure(setups: tuple[Setup, ...], seed: int = 0, log=print) -> tuple[dict, dict]:
    """({"rows", "setups", "machine", load averages, dates}, {(task, variant): model})."""
    torch.set_num_threads(1)
    load_before = os.getloadavg()
    started = datetime.now(timezone.utc)
    rows, models = [], {}
    for setup in setups:
        task_rows, task_models = measure_task(setup, seed, log=log)
        rows += task_rows
        models.update({(setup.task, variant): model for variant, model in task_models.items()})
    result = {
        "what": "train at T, test at T, 2T and 4T: the task's metric, baseline and floor at each length; "
                "relative = (metric - floor) / (baseline - floor), 0 best, 1 no memory",
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "seed": seed, "machine": machine(),
        "load_average_before": list(load_before), "load_average_after": list(os.getloadavg()),
        "setups": [asdict(setup) for setup in setups], "variants": list(VARIANTS), "length_factors": list(LENGTH_FACTORS),
        "rows": rows,
    }
    return result, models


def markdown_table(result: dict) -> str:
    """Rows: task and variant; columns: the metric / relative at T, 2T, 4T."""
    lines = ["| task (T) | architecture | steps, status | at T | at 2T | at 4T |", "|---|---|---|---|---|---|"]
    by_key: dict[tuple[str, str], list[dict]] = {}
    for row in result["rows"]:
        by_key.setdefault((row["task"], row["variant"]), []).append(row)
    for (task, variant), rows in by_key.items():
        rows = sorted(rows, key=lambda row: row["factor"])
        cells = " | ".join(f"{row['metric']:.3f} ({row['relative']:.2f})" for row in rows)
        lines.append(f"| {task} ({rows[0]['train_length']}) | {variant} | {rows[0]['steps_trained']}, "
                     f"{rows[0]['status']} | {cells} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny models and a few steps (what the tests run)")
    parser.add_argument("--out", type=Path, default=None, help=f"where to write the JSON (full run: {OUTPUT})")
    parser.add_argument("--seed", type=int, default=0)
    arguments = parser.parse_args()
    result, _ = measure(QUICK_SETUPS if arguments.quick else FULL_SETUPS, seed=arguments.seed)
    out = arguments.out or (None if arguments.quick else OUTPUT)
    if out is not None:
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(result, indent=1) + "\n")
        print(f"wrote {out}")
    print(markdown_table(result))
    print(f"load average before {result['load_average_before']}, after {result['load_average_after']}")


if __name__ == "__main__":
    main()
