"""`python -m lstm_viz translate`: train an encoder-decoder on a translation task and write its weights
(safetensors), its config and its test metrics (JSON) to a folder."""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

import torch

from lstm_viz.core.seq2seq.files import model_stem, save_translation_model
from lstm_viz.core.seq2seq.metrics import attention_peak_rate, evaluate
from lstm_viz.core.seq2seq.model import parameter_count
from lstm_viz.core.seq2seq.training import TranslationTrainer, TranslationTrainingConfig
from lstm_viz.core.tasks import TRANSLATION_TASKS

DEFAULTS = TranslationTrainingConfig()


def add_translate_parser(commands) -> None:
    parser = commands.add_parser("translate", help="train an encoder-decoder (with or without attention) and write "
                                                   "its weights and test metrics")
    parser.add_argument("--task", default=DEFAULTS.task, choices=sorted(TRANSLATION_TASKS))
    parser.add_argument("--attention", default="on", choices=("on", "off"), help="Luong dot attention")
    parser.add_argument("--cell", default=DEFAULTS.cell, choices=("lstm", "gru"))
    parser.add_argument("--embedding", type=int, default=DEFAULTS.embedding_size)
    parser.add_argument("--hidden", type=int, default=DEFAULTS.hidden_size)
    parser.add_argument("--dropout", type=float, default=DEFAULTS.dropout, help="on embeddings and readout input")
    parser.add_argument("--steps", type=int, default=DEFAULTS.steps)
    parser.add_argument("--batch", type=int, default=DEFAULTS.batch_size)
    parser.add_argument("--lr", type=float, default=DEFAULTS.learning_rate)
    parser.add_argument("--seed", type=int, default=DEFAULTS.seed)
    parser.add_argument("--out", type=Path, required=True, help="folder for <task>-<attention|plain>.safetensors, "
                                                                ".json and metrics-<...>.json")
    parser.add_argument("--quiet", action="store_true")


def translate(args: argparse.Namespace) -> int:
    config = TranslationTrainingConfig(
        task=args.task, attention=args.attention == "on", cell=args.cell, embedding_size=args.embedding,
        hidden_size=args.hidden, dropout=args.dropout, steps=args.steps, batch_size=args.batch, learning_rate=args.lr,
        seed=args.seed,
    ).validate()
    torch.set_num_threads(1)
    trainer = TranslationTrainer(config)
    report = None if args.quiet else (lambda e: print(
        f"step {e.step:>6}  {e.elapsed_seconds:6.1f}s  {e.steps_per_second:5.1f} steps/s  loss {e.loss:.4f}", flush=True))
    started = time.perf_counter()
    history = trainer.run(on_progress=report, report_every=100)
    seconds = time.perf_counter() - started
    metrics = {"config": config.to_dict(), "parameters": parameter_count(trainer.model), "training_seconds": seconds,
               "torch_threads": torch.get_num_threads(), "load_average": list(os.getloadavg()),
               "final_loss": history[-1].loss if history else None, **evaluate(trainer.model, trainer.task)}
    if config.attention and config.task == "dates":
        metrics["month_attention_peak_rate"] = attention_peak_rate(trainer.model, trainer.task)
    weights = save_translation_model(trainer.model, config, args.out)
    stem = model_stem(config.task, config.attention)
    (args.out / f"metrics-{stem}.json").write_text(json.dumps(metrics, indent=2) + "\n", encoding="utf-8")
    scores = metrics["model"]
    print(f"{stem}: test exact match {scores['exact_match']:.3f}, token accuracy {scores['token_accuracy']:.3f}, "
          f"BLEU {scores['bleu']:.1f} (baseline {metrics['baseline']['bleu']:.1f}); wrote {weights}")
    return 0
