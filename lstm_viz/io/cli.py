"""`python -m lstm_viz`: train and list from a shell or a notebook, writing the same files the app exports."""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import torch

from lstm_viz.rules import checks
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.architectures.transformer import POSITION_KINDS
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.io.compress_command import add_compress_parser, compress
from lstm_viz.io.export import save_run
from lstm_viz.io.translate_command import add_translate_parser, translate
from lstm_viz.core.tasks import TASKS, TRANSLATION_TASKS
from lstm_viz.core.trainer import OPTIMIZERS, RunConfig, Trainer

DEFAULTS = RunConfig()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m lstm_viz", description="Train RNN, GRU, LSTM and a Transformer "
                                     "side by side, or an encoder-decoder to translate.")
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("list", help="print the registered tasks and architectures")
    train = commands.add_parser("train", help="train architectures on identical batches and write the run's files")
    train.add_argument("--task", default=DEFAULTS.task, choices=sorted(TASKS))
    train.add_argument("--length", type=int, default=DEFAULTS.length, help="sequence length T")
    train.add_argument("--arch", nargs="+", default=list(DEFAULTS.archs), choices=sorted(ARCHITECTURES))
    train.add_argument("--steps", type=int, default=DEFAULTS.max_steps, help="step budget")
    train.add_argument("--seed", type=int, default=DEFAULTS.seed)
    train.add_argument("--hidden", type=int, default=DEFAULTS.hidden_size)
    train.add_argument("--layers", type=int, default=DEFAULTS.num_layers)
    train.add_argument("--dropout", type=float, default=DEFAULTS.dropout)
    train.add_argument("--forget-bias", type=float, default=DEFAULTS.forget_bias)
    train.add_argument("--heads", type=int, default=DEFAULTS.heads, help="the Transformer's attention heads")
    train.add_argument("--positions", default=DEFAULTS.positions, choices=sorted(POSITION_KINDS),
                       help="the Transformer's positions: sinusoidal (any length) or learned (up to 4x --length)")
    train.add_argument("--optimizer", default=DEFAULTS.optimizer, choices=sorted(OPTIMIZERS))
    train.add_argument("--lr", type=float, default=DEFAULTS.learning_rate)
    train.add_argument("--batch", type=int, default=DEFAULTS.batch_size)
    train.add_argument("--clip", type=float, default=DEFAULTS.clip_grad_norm, help="gradient-norm clipping; 0 turns it off")
    train.add_argument("--eval-every", type=int, default=DEFAULTS.eval_every)
    train.add_argument("--probe-every", type=int, default=DEFAULTS.probe_every)
    train.add_argument("--no-early-stop", action="store_true", help="keep training an architecture after it solves the task")
    train.add_argument("--train-to-budget", action="store_true",
                       help="train every architecture until it solves, diverges or uses the step budget, instead of "
                            "ending the run when its verdict is known (every gated cell solved, plateaued or diverged "
                            "and the RNN still at the no-memory baseline)")
    train.add_argument("--no-compute-limit", action="store_true",
                       help="allow settings above the per-step compute budget the app enforces")
    train.add_argument("--threads", type=int, default=1,
                       help="torch threads for each architecture's step (one is fastest on a shared 2-core machine)")
    train.add_argument("--cell-threads", type=int, default=None,
                       help="architectures trained at once, on threads of their own (one torch thread each); the "
                            "default is one per architecture, up to this machine's cores; 1 trains them in turn. "
                            "The results are the same either way")
    train.add_argument("--out", type=Path, required=True, help="folder for metrics.json, *.safetensors, config.json, trace.npz")
    train.add_argument("--quiet", action="store_true")
    add_translate_parser(commands)
    add_compress_parser(commands)
    return parser


def list_registered() -> None:
    print("tasks:")
    for task in TASKS.values():
        print(f"  {task.name:<10} {task.label}: {task.description} (default T={task.default_length}, metric {task.metric_name})")
    print("architectures:")
    for arch in ARCHITECTURES.values():
        print(f"  {arch.name:<10} {arch.label}: {arch.description}")
    print("translation tasks (python -m lstm_viz translate):")
    for task in TRANSLATION_TASKS.values():
        print(f"  {task.name:<10} {task.label}: {task.description}")


MAX_THREADS = 64


def train(args: argparse.Namespace) -> int:
    checks.whole_number("--threads", args.threads, 1, MAX_THREADS)
    if args.cell_threads is not None:
        checks.whole_number("--cell-threads", args.cell_threads, 1, MAX_THREADS)
    config = RunConfig(
        task=args.task, length=args.length, archs=tuple(args.arch), max_steps=args.steps, seed=args.seed,
        hidden_size=args.hidden, num_layers=args.layers, dropout=args.dropout, forget_bias=args.forget_bias,
        heads=args.heads, positions=args.positions,
        optimizer=args.optimizer, learning_rate=args.lr, batch_size=args.batch,
        clip_grad_norm=args.clip if args.clip and args.clip > 0 else None,
        eval_every=args.eval_every, probe_every=args.probe_every, stop_when_solved=not args.no_early_stop,
        train_to_budget=args.train_to_budget,
        max_step_gflop=None if args.no_compute_limit else DEFAULTS.max_step_gflop,
    )
    config.validate()  # every setting checked, with the app's own messages, before the thread count or any tensor
    cell_threads = args.cell_threads if args.cell_threads is not None else max(1, min(len(config.archs), os.cpu_count() or 1))
    torch.set_num_threads(args.threads)
    trainer = Trainer(config, cell_threads=cell_threads)
    while not trainer.finished:
        event = trainer.train_step()
        if event.eval_metric and not args.quiet:
            metrics = "  ".join(f"{trainer.runs[a].label} {v:.4f}" for a, v in event.eval_metric.items())
            print(f"step {event.step:>6}  {event.elapsed:6.1f}s  {event.steps_per_second:5.1f} steps/s  test {trainer.task.metric_name}: {metrics}", flush=True)
    out_dir = save_run(trainer, args.out)
    print(trainer.verdict())
    print(f"wrote {out_dir}/metrics.json, config.json, trace.npz, " + ", ".join(f"{a}.safetensors" for a in trainer.runs))
    return 0


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        if args.command == "list":
            list_registered()
            return 0
        if args.command == "translate":
            return translate(args)
        if args.command == "compress":
            return compress(args)
        return train(args)
    except LstmVizError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
