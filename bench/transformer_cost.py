"""The cost of a training step against the sequence length: RNN, GRU, LSTM and the causal Transformer at equal width.

Each point (architecture, T) runs in a fresh Python process with one torch thread: it builds the run's model and
optimiser as the Trainer does (RunConfig.model_config, build_model, the config's optimiser) and times the Trainer's
own `train_step` (a batch drawn, forward, loss, backward, clipping, Adam; evaluations and probes pushed past the
budget), best of three rounds, in wall time and in the process's CPU time: with one torch thread the CPU time is the
step's own work, which another process sharing the core does not inflate, so the chart and the ratios use it and the
JSON keeps both. Its peak memory is the process's peak RSS (getrusage ru_maxrss) minus its RSS just
before the model was built, so every point's peak is its own. Times and peaks are printed as ratios to the LSTM's at
the same T, measured in the same run; the whole grid is measured `--rounds` times in turn and each point keeps its
best time, so load drifting during the run hits every architecture alike.

    nice python bench/transformer_cost.py               # about 5 minutes on one core; writes the JSON below
    nice python bench/transformer_cost.py --busy-core   # the same while another process keeps one core busy
    python bench/transformer_cost.py --point lstm 100   # one point, printed as JSON (what the grid runs)

Writes assets/measurements/cost_vs_length.json (with --busy-core: cost_vs_length_busy_core.json), which the Length
sweep page draws.
"""
from __future__ import annotations

import argparse
import json
import math
import multiprocessing
import os
import resource
import subprocess
import sys
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from any folder

LENGTHS = (25, 50, 100, 250, 500, 1000)
ARCHS = ("rnn", "gru", "lstm", "transformer")
SETTINGS = dict(task="adding", hidden_size=64, batch_size=32, num_layers=1, heads=2, positions="sinusoidal",
                optimizer="adam", learning_rate=1e-3, clip_grad_norm=1.0, seed=0)
ROUND_SECONDS = 0.5  # each of a point's three timed rounds runs at least this long
POINT_TIMEOUT_SECONDS = 600


def current_rss_mb() -> float:
    """This process's resident memory now, from /proc (ru_maxrss is the peak so far, not the present)."""
    pages = int(Path("/proc/self/statm").read_text().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kB on Linux


def measure_point(arch: str, length: int, settings: dict) -> dict:
    """One point, in this process: seconds per Trainer step and the peak memory the model's training added."""
    import torch

    from lstm_viz.core.run_config import RunConfig
    from lstm_viz.core.trainer import Trainer

    torch.set_num_threads(1)
    # No evaluation, probe or checkpoint within the budget: a step is the batch and the optimiser step alone.
    config = RunConfig(archs=(arch,), length=length, max_steps=100_000, eval_every=100_000, probe_every=100_000,
                       eval_size=1, probe_size=1, trace_examples=1, stop_when_solved=False, train_to_budget=True,
                       max_step_gflop=None, **settings)
    # Lazy imports count towards no point: the first optimiser step imports torch._dynamo (about 100 MB here).
    warm = torch.zeros(1, requires_grad=True)
    warm.sum().backward()
    torch.optim.Adam([warm]).step()
    rss_before = current_rss_mb()
    peak_before = peak_rss_mb()
    trainer = Trainer(config, measure_initial_state=False)
    started = time.perf_counter()
    trainer.train_step()  # the first step allocates Adam's state and warms the allocator
    first = time.perf_counter() - started
    repeats = max(1, math.ceil(ROUND_SECONDS / max(first, 1e-6)))
    rounds, cpu_rounds = [], []
    for _ in range(3):
        started, cpu_started = time.perf_counter(), time.process_time()
        for _ in range(repeats):
            trainer.train_step()
        rounds.append((time.perf_counter() - started) / repeats)
        cpu_rounds.append((time.process_time() - cpu_started) / repeats)
    model = trainer.runs[arch].model
    return {
        "arch": arch, "length": length, "seconds_per_step": min(rounds), "round_seconds_per_step": rounds,
        "cpu_seconds_per_step": min(cpu_rounds), "round_cpu_seconds_per_step": cpu_rounds,
        "steps_timed": 3 * repeats, "peak_rss_mb": peak_rss_mb() - rss_before, "rss_before_mb": rss_before,
        "peak_before_mb": peak_before, "parameters": sum(parameter.numel() for parameter in model.parameters()),
        "load_average": list(os.getloadavg()),
    }


def run_point(arch: str, length: int) -> dict:
    """measure_point in a fresh interpreter, so no allocation of an earlier point counts towards this one's peak."""
    completed = subprocess.run([sys.executable, __file__, "--point", arch, str(length)], cwd=ROOT, check=True,
                               capture_output=True, text=True, timeout=POINT_TIMEOUT_SECONDS)
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _burn(seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        pass


def machine() -> dict:
    import platform

    import torch

    model_name = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                       if line.startswith("model name")), platform.processor())
    return {"cpu": model_name, "cores": os.cpu_count(), "python": platform.python_version(), "torch": torch.__version__,
            "torch_threads": 1, "platform": platform.platform(),
            "memory_gb": round(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE") / 2**30, 1)}


def measure_grid(lengths=LENGTHS, archs=ARCHS, rounds: int = 2, busy_core: bool = False, log=print) -> dict:
    """Every point `rounds` times in turn; each keeps the measurement with its least CPU time (and that
    measurement's wall time and peak)."""
    load_before = list(os.getloadavg())
    started = datetime.now(timezone.utc)
    burner = None
    if busy_core:
        burner = multiprocessing.Process(target=_burn, args=(3600.0,), daemon=True)
        burner.start()
    best: dict[tuple[str, int], dict] = {}
    try:
        for round_index in range(rounds):
            for length in lengths:
                for arch in archs:
                    point = run_point(arch, length)
                    key = (arch, length)
                    if key not in best or point["cpu_seconds_per_step"] < best[key]["cpu_seconds_per_step"]:
                        best[key] = point
                    log(f"  round {round_index + 1}  {arch:<11} T={length:<5} {point['seconds_per_step'] * 1e3:9.2f} ms"
                        f" ({point['cpu_seconds_per_step'] * 1e3:9.2f} ms CPU)"
                        f"  peak +{point['peak_rss_mb']:8.1f} MB   load {' '.join(f'{v:.2f}' for v in os.getloadavg())}",
                        flush=True)
    finally:
        if burner is not None:
            burner.terminate()
            burner.join()
    return {
        "what": "one training step (the Trainer's train_step: batch, forward, backward, clipping, Adam) and the peak "
                "RSS it adds, against the sequence length T, each point in a fresh process, one torch thread",
        "settings": {**SETTINGS, "torch_threads": 1, "rounds": rounds, "timed_rounds_per_point": 3},
        "machine": machine(), "busy_core": busy_core,
        "started_utc": started.isoformat(timespec="seconds"),
        "finished_utc": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "load_average_before": load_before, "load_average_after": list(os.getloadavg()),
        "lengths": list(lengths), "archs": list(archs),
        "points": [best[arch, length] for length in lengths for arch in archs],
    }


def report(cost: dict, time_quantity: str = "cpu_seconds_per_step") -> str:
    """The table in the README's form: ms per step (CPU time by default) and peak MB, each with its ratio to the
    LSTM at that T."""
    from lstm_viz.runs.measurements import crossover, ratio_to, series

    archs = cost["archs"]
    lines = ["| T | " + " | ".join(f"{arch}: ms/step (x LSTM), peak MB (x LSTM)" for arch in archs) + " |",
             "|---|" + "---|" * len(archs)]
    time_ratio = {arch: ratio_to(cost, arch, "lstm", time_quantity) for arch in archs}
    memory_ratio = {arch: ratio_to(cost, arch, "lstm", "peak_rss_mb") for arch in archs}
    values = {arch: dict(zip(*series(cost, arch, time_quantity))) for arch in archs}
    peaks = {arch: dict(zip(*series(cost, arch, "peak_rss_mb"))) for arch in archs}
    for length in cost["lengths"]:
        cells = [f"{values[arch][length] * 1e3:.1f} ({time_ratio[arch][length]:.2f}x), "
                 f"{peaks[arch][length]:.1f} ({memory_ratio[arch][length]:.2f}x)" for arch in archs]
        lines.append(f"| {length} | " + " | ".join(cells) + " |")
    for quantity in (time_quantity, "peak_rss_mb"):
        for reference in (arch for arch in archs if arch != "transformer"):
            found = crossover(cost, "transformer", reference, quantity)
            where = (f"at T ~ {found.length:.0f} (between {found.below} and {found.above})" if found.length
                     else "at every measured T" if found.below is None else "at no measured T")
            lines.append(f"- {quantity}: the Transformer becomes dearer than the {reference} for good {where}")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--point", nargs=2, metavar=("ARCH", "T"), help="measure one point and print it as JSON")
    parser.add_argument("--busy-core", action="store_true", help="another process keeps one core busy throughout")
    parser.add_argument("--rounds", type=int, default=2, help="times the whole grid is measured (best time kept)")
    parser.add_argument("--lengths", type=int, nargs="+", default=list(LENGTHS))
    parser.add_argument("--out", type=Path, default=None)
    arguments = parser.parse_args()
    if arguments.point:
        print(json.dumps(measure_point(arguments.point[0], int(arguments.point[1]), SETTINGS)))
        return
    cost = measure_grid(tuple(arguments.lengths), rounds=arguments.rounds, busy_core=arguments.busy_core)
    from lstm_viz.rules.paths import ASSETS_DIR

    name = "cost_vs_length_busy_core.json" if arguments.busy_core else "cost_vs_length.json"
    out = arguments.out or ASSETS_DIR / "measurements" / name
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(cost, indent=1) + "\n")
    print(f"wrote {out}\nCPU time:\n{report(cost)}\nwall time:\n{report(cost, 'seconds_per_step')}\nload average before {cost['load_average_before']}, "
          f"after {cost['load_average_after']}")


if __name__ == "__main__":
    main()
