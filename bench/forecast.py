"""Forecasting (airline, the forecast-airline preset) and anomaly detection at their defaults: each model's error
beside the baselines, and wall time on this machine. `python bench/forecast.py [--seeds 0 1 2]`."""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_viz.analysis.anomaly import detect_anomalies  # noqa: E402
from lstm_viz.analysis.forecasting import evaluate_forecasts  # noqa: E402
from lstm_viz.runs.presets import preset_config  # noqa: E402
from lstm_viz.core.trainer import Trainer  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--anomaly-seeds", type=int, nargs="+", default=[0, 1, 2, 3, 4])
    args = parser.parse_args()
    torch.set_num_threads(1)
    for seed in args.seeds:
        config = preset_config("forecast-airline", seed=seed)
        started = time.perf_counter()
        trainer = Trainer(config)
        while not trainer.finished:
            trainer.train_step()
        wall = time.perf_counter() - started
        models = {arch: (run.label, run.model) for arch, run in trainer.runs.items()}
        print(f"seed {seed}: {config.max_steps} steps in {wall:.1f} s wall ({trainer.elapsed:.1f} s training); "
              f"test MSE (standardised log changes): " + ", ".join(
                  f"{run.label} {run.eval_metric[-1]:.4f}" for run in trainer.runs.values())
              + f"; naive {trainer.baseline:.4f}, seasonal naive {trainer.solved_threshold:.4f}")
        started = time.perf_counter()
        evaluation = evaluate_forecasts(trainer.task, config.length, models)
        for name, (mae, rmse) in evaluation.errors().items():
            print(f"  {evaluation.labels[name]:<40} MAE {mae:7.2f}  RMSE {rmse:7.2f} thousand passengers")
        print(f"  forecast evaluation: {1000 * (time.perf_counter() - started):.0f} ms")
        totals: dict[str, list[float]] = {}
        started = time.perf_counter()
        for anomaly_seed in args.anomaly_seeds:
            report = detect_anomalies(trainer.task, config.length, models, anomaly_seed)
            for name, detection in report.detections.items():
                totals.setdefault(detection.label, []).append((detection.precision, detection.recall, detection.f1))
        elapsed = (time.perf_counter() - started) / len(args.anomaly_seeds)
        print(f"  anomaly detection, mean over injection seeds {args.anomaly_seeds} ({1000 * elapsed:.0f} ms each):")
        for label, rows in totals.items():
            p, r, f = (sum(values) / len(values) for values in zip(*rows))
            print(f"    {label:<20} precision {p:.2f} recall {r:.2f} F1 {f:.2f}")


if __name__ == "__main__":
    main()
