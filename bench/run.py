"""Benchmarks for the engine's speed targets; every figure is a ratio to a baseline measured in this run.

Usage: python bench/run.py [cells] [trace] [overhead] [headline] [threads]
"""
from __future__ import annotations

import contextlib
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # run as a plain script from any folder

from lstm_viz.core.model import ModelConfig, build_model  # noqa: E402
from lstm_viz.runs.presets import DEFAULT_PRESET, preset_config  # noqa: E402
from lstm_viz.core.tasks import get_task  # noqa: E402
from lstm_viz.core.traces import trace_tensors  # noqa: E402
from lstm_viz.core.trainer import RunConfig, Trainer, denormals_flushed  # noqa: E402

RESULTS: dict[str, dict] = {}


def best_of(function, repeats: int, rounds: int = 5) -> float:
    """Seconds per call, the best of several rounds: the least disturbed by other work on the machine."""
    function()
    timings = []
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(repeats):
            function()
        timings.append((time.perf_counter() - started) / repeats)
    return min(timings)


def interleaved_best(functions: dict, repeats: int, rounds: int = 7) -> dict:
    """Seconds per call of each function, the best of `rounds` rounds taken in turn, so load drifting
    during the run hits every function alike."""
    best = {key: float("inf") for key in functions}
    for _ in range(rounds):
        for key, function in functions.items():
            best[key] = min(best[key], best_of(function, repeats=repeats, rounds=1))
    return best


def with_pytorch_module(model):
    """The same model with its recurrent module swapped for PyTorch's own nn.RNN / nn.GRU / nn.LSTM."""
    config = model.config
    plain = model.architecture.fused_class(config.input_size, config.hidden_size, num_layers=config.num_layers,
                                           dropout=model.recurrent.dropout, batch_first=True)
    plain.load_state_dict(model.recurrent.state_dict())
    model.recurrent = plain
    return model


def bench_cells() -> None:
    print("\n== cells: one training step (forward, backward, Adam), B=64 T=100 H=64 / the fused LSTM's "
          "(targets: RNN <= 0.35x, GRU <= 1.0x)")
    task = get_task("adding")
    inputs, targets = task.generate(64, 100, torch.Generator().manual_seed(0))
    for layers in (1, 2):
        steps = {}
        for arch in ("lstm", "rnn", "gru"):
            config = ModelConfig.for_task(arch, task, hidden_size=64, num_layers=layers)
            variants = {"app": build_model(config, seed=0)}
            if arch != "lstm":
                variants["pytorch"] = with_pytorch_module(build_model(config, seed=0))
            for variant, model in variants.items():
                optimiser = torch.optim.Adam(model.parameters(), lr=1e-3)

                def step(model=model, optimiser=optimiser):
                    optimiser.zero_grad(set_to_none=True)
                    task.loss(model(inputs), targets).backward()
                    optimiser.step()

                steps[arch, variant] = step
        best = interleaved_best(steps, repeats=5)
        lstm = best["lstm", "app"]
        print(f"  layers={layers}  LSTM (fused nn.LSTM) {lstm * 1e3:6.2f} ms")
        for arch in ("rnn", "gru"):
            new, old = best[arch, "app"], best[arch, "pytorch"]
            RESULTS[f"cells/{arch}/L{layers}"] = {"app_ms": new * 1e3, "pytorch_ms": old * 1e3, "lstm_ms": lstm * 1e3,
                                                  "ratio": new / lstm, "pytorch_ratio": old / lstm}
            print(f"  layers={layers}  {arch:<4} app {new * 1e3:6.2f} ms = {new / lstm:4.2f}x the LSTM   "
                  f"(nn.{arch.upper()} {old * 1e3:6.2f} ms = {old / lstm:4.2f}x)")
    print(f"  load average {load_average()}")


def load_average() -> str:
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


def bench_trace() -> None:
    print("\n== trace: full trace / one forward of the model's own module, no autograd (target <= 2.2x, every row)")
    task = get_task("adding")
    inputs, _ = task.generate(64, 100, torch.Generator().manual_seed(0))
    for arch in ("lstm", "gru", "rnn"):
        for layers in (1, 2):
            model = build_model(ModelConfig.for_task(arch, task, hidden_size=64, num_layers=layers), seed=0).eval()

            def fused_forward(model=model):
                with torch.no_grad():
                    model.recurrent(inputs)

            best = interleaved_best({"fused": fused_forward, "trace": lambda model=model: trace_tensors(model, inputs)},
                                    repeats=10)
            fused, traced = best["fused"], best["trace"]
            ratio = traced / fused
            key = f"trace/{arch}/L{layers}"
            RESULTS[key] = {"fused_ms": fused * 1e3, "trace_ms": traced * 1e3, "ratio": ratio}
            print(f"  {arch:<4} layers={layers}  fused {fused * 1e3:6.2f} ms  trace {traced * 1e3:6.2f} ms  ratio {ratio:4.2f}x")
    print(f"  load average {load_average()}")


def bare_loop_seconds_per_step(config: RunConfig, arch: str, steps: int, flush_denormals: bool = True) -> float:
    """The same model, optimiser, clipping and batch generator as the trainer, with nothing else. Subnormals are
    flushed as the trainer's steps flush them (lstm_viz.core.trainer.denormals_flushed), so the floor is the fastest bare
    loop, not one slowed by what the trainer avoids; `flush_denormals=False` gives the plain PyTorch loop."""
    task = get_task(config.task)
    model = build_model(config.model_config(arch), seed=config.seed)
    optimiser = torch.optim.Adam(model.parameters(), lr=config.learning_rate)
    generator = torch.Generator().manual_seed(config.seed)
    started = time.perf_counter()
    for _ in range(steps):
        inputs, targets = task.generate(config.batch_size, config.length, generator)
        with (denormals_flushed() if flush_denormals else contextlib.nullcontext()):
            optimiser.zero_grad(set_to_none=True)
            loss = task.loss(model(inputs), targets)
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), config.clip_grad_norm)
            optimiser.step()
    return (time.perf_counter() - started) / steps


def trainer_seconds_per_step(config: RunConfig, steps: int) -> float:
    trainer = Trainer(replace(config, max_steps=steps, stop_when_solved=False, train_to_budget=True))
    started = time.perf_counter()
    while not trainer.finished:
        trainer.train_step()
    return (time.perf_counter() - started) / steps


def bench_overhead() -> None:
    print("\n== overhead: trainer with live eval + probes / bare PyTorch loop (target >= 0.85x steps/s)")
    config = replace(preset_config(DEFAULT_PRESET), archs=("lstm",))
    steps = 300  # six probe+checkpoint rounds and twelve evaluations at the preset's cadence
    bare, trainer = [], []
    for _ in range(3):  # interleaved so drifting machine load hits both alike
        bare.append(bare_loop_seconds_per_step(config, "lstm", steps))
        trainer.append(trainer_seconds_per_step(config, steps))
    ratio = min(bare) / min(trainer)
    RESULTS["overhead"] = {"bare_steps_per_s": 1 / min(bare), "trainer_steps_per_s": 1 / min(trainer), "ratio": ratio}
    print(f"  bare loop {1 / min(bare):6.1f} steps/s   trainer {1 / min(trainer):6.1f} steps/s   ratio {ratio:4.2f}x"
          f"  (eval every {config.eval_every}, probe every {config.probe_every} steps)")


def bare_lstm_loop_seconds(config: RunConfig, steps: int = 700) -> float:
    """The floor: a bare fused LSTM loop of `steps` steps (the headline LSTM solves at about 700)."""
    return bare_loop_seconds_per_step(config, "lstm", steps) * steps


def bare_lstm_script_seconds(steps: int = 700) -> float:
    """The floor as the CLI meets it: the bare loop as a script from a shell, interpreter start-up, imports and the
    first optimiser's construction (which imports torch._dynamo: about 1.2-1.7 s here) included."""
    code = ("import sys, torch; sys.path.insert(0, '.'); torch.set_num_threads(1)\n"
            "from bench.run import bare_loop_seconds_per_step\n"
            "from lstm_viz.runs.presets import preset_config\n"
            f"bare_loop_seconds_per_step(preset_config('vanishing-gradients'), 'lstm', {steps})")
    started = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT, capture_output=True)
    return time.perf_counter() - started


def cli_headline_seconds(config: RunConfig, cell_threads: int | None = None) -> tuple[float, dict]:
    """The headline preset from a shell until its verdict: interpreter start-up, training, writing the files.
    `cell_threads` None: the CLI's default (one thread per architecture, up to the cores)."""
    with tempfile.TemporaryDirectory() as out_dir:
        started = time.perf_counter()
        threads = [] if cell_threads is None else ["--cell-threads", str(cell_threads)]
        subprocess.run([sys.executable, "-m", "lstm_viz", "train", "--task", config.task, "--length", str(config.length),
                        "--arch", *config.archs, "--steps", str(config.max_steps), "--seed", str(config.seed),
                        "--out", out_dir, "--quiet", *threads],
                       check=True, cwd=ROOT, capture_output=True)
        wall = time.perf_counter() - started
        return wall, json.loads((Path(out_dir) / "metrics.json").read_text())


def bench_headline() -> None:
    print("\n== headline: the default preset from the CLI until its verdict / a bare 700-step fused LSTM loop "
          "(target <= 1.5x), quiet and with another process keeping one core busy; the CLI with its default of one "
          "thread per architecture, and with --cell-threads 1 (in turn, one core)")
    config = preset_config(DEFAULT_PRESET)
    for condition in ("quiet", "one core busy"):
        load = None
        if condition != "quiet":
            load = multiprocessing.Process(target=_burn, args=(900.0,))
            load.start()
        try:
            bare = bare_lstm_loop_seconds(config)
            unflushed = bare_loop_seconds_per_step(config, "lstm", 700, flush_denormals=False) * 700
            script = bare_lstm_script_seconds()
            runs = {cells: cli_headline_seconds(config, cells) for cells in (None, 1)}
            bare = min(bare, bare_lstm_loop_seconds(config))  # the floor: the less disturbed of two, around the CLI runs
            script = min(script, bare_lstm_script_seconds())
        finally:
            if load is not None:
                load.terminate()
                load.join()
        for cells, (cli_wall, metrics) in runs.items():
            ratio = cli_wall / bare
            name = "default" if cells is None else f"cell-threads {cells}"
            steps = {arch: values["steps_trained"] for arch, values in metrics["archs"].items()}
            RESULTS[f"headline/{condition}/{name}"] = {
                "bare_lstm_700_s": bare, "bare_lstm_700_s_subnormals_kept": unflushed, "bare_script_s": script,
                "cli_s": cli_wall, "ratio": ratio, "ratio_to_script": cli_wall / script, "steps_trained": steps,
                "verdict": metrics["verdict"], "load_average": load_average(),
            }
            print(f"  {condition:<14} {name:<15} bare LSTM loop 700 steps {bare:5.1f} s ({unflushed:5.1f} s keeping "
                  f"subnormals; {script:5.1f} s as a script from a shell)   CLI until the verdict {cli_wall:5.1f} s   "
                  f"ratio {ratio:4.2f}x {'(target met)' if ratio <= 1.5 else '(TARGET MISSED)'}, "
                  f"{cli_wall / script:4.2f}x the script   load average {load_average()}")
        print(f"  {'':<14} steps trained {steps}; verdict: {metrics['verdict']}")


def _burn(seconds: float) -> None:
    end = time.time() + seconds
    while time.time() < end:
        pass


def bench_threads() -> None:
    print("\n== threads: bare loop with 1 vs 2 torch threads while another process keeps a core busy")
    config = replace(preset_config(DEFAULT_PRESET), archs=("lstm",))
    timings = {}
    for threads in (1, 2):
        torch.set_num_threads(threads)
        load = multiprocessing.Process(target=_burn, args=(60.0,))
        load.start()
        try:
            timings[threads] = statistics.median(bare_loop_seconds_per_step(config, "lstm", 40) for _ in range(3))
        finally:
            load.terminate()
            load.join()
    torch.set_num_threads(1)
    ratio = timings[2] / timings[1]
    RESULTS["threads"] = {"one_thread_ms": timings[1] * 1e3, "two_threads_ms": timings[2] * 1e3, "slowdown_with_two": ratio}
    print(f"  1 thread {timings[1] * 1e3:6.1f} ms/step   2 threads {timings[2] * 1e3:6.1f} ms/step   "
          f"two threads are {ratio:4.2f}x slower")


BENCHMARKS = {"cells": bench_cells, "trace": bench_trace, "overhead": bench_overhead, "headline": bench_headline, "threads": bench_threads}


def main(names: list[str]) -> None:
    torch.set_num_threads(1)
    for name in names or list(BENCHMARKS):
        BENCHMARKS[name]()
    print("\n" + json.dumps(RESULTS, indent=1))


if __name__ == "__main__":
    main(sys.argv[1:])
