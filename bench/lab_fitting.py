"""The Best-practice lab's first three experiments on their default settings (the page's defaults), one torch
thread: each experiment's numbers, its takeaway, its wall time, and the load average before it. For the honest
baseline, every method's time is also printed as a ratio to the LSTM's on the same series in the same run (the machines are shared and noisy: read ratios, not seconds).

    python bench/lab_fitting.py            # all three, about 30-60 s on a quiet 2-core machine
    python bench/lab_fitting.py baseline   # one of: overfitting, normalisation, baseline
"""
from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from lstm_viz.practices import baseline, normalisation, overfitting  # noqa: E402


def load() -> str:
    with open("/proc/loadavg") as handle:
        return " ".join(handle.read().split()[:3])


def run_overfitting() -> None:
    before, started = load(), time.perf_counter()
    result = overfitting.run_overfitting(overfitting.OverfitSettings())
    print(f"overfitting ({result.series_label}, {result.train_windows} training windows), {time.perf_counter() - started:.1f} s, load {before}")
    for arm in result.arms.values():
        print(f"  {arm.label:16s} val loss {arm.reported_val_loss:.4g} (step {arm.reported_step}), best {arm.fit.best_val_loss:.4g} "
              f"at {arm.fit.best_step}, trained {arm.fit.stopped_step} steps, final train loss {arm.fit.train_loss[-1]:.3g}, "
              f"test MAE {arm.test_mae:.4g} {result.unit}, {arm.fit.seconds:.2f} s")
    print("  takeaway:", overfitting.overfitting_takeaway(result))


def run_normalisation() -> None:
    for series in normalisation.SERIES_CHOICES:
        before, started = load(), time.perf_counter()
        result = normalisation.run_normalisation(normalisation.NormSettings(series=series))
        print(f"normalisation ({result.series_label}), {time.perf_counter() - started:.1f} s, load {before}")
        for arm in result.arms.values():
            print(f"  {arm.label:20s} test MAE {arm.mae:.4g}, RMSE {arm.rmse:.4g} {result.unit}, best step {arm.best_step}, {arm.seconds:.2f} s")
        print(f"  naive forecast       test MAE {result.naive_mae:.4g}")
        print("  takeaway:", normalisation.normalisation_takeaway(result))


def run_baseline() -> None:
    before, started = load(), time.perf_counter()
    result = baseline.run_baseline(baseline.BaselineSettings())
    print(f"baseline (every series), {time.perf_counter() - started:.1f} s, load {before}")
    for series in result.series:
        lstm = next(m for m in series.methods if m.method == "lstm")
        print(f"  {series.label} (window {series.window}, horizon {series.horizon}, {len(series.origins)} origins)")
        for m in series.methods:
            error = f"{m.mae:.4g}" if m.mae is not None else "failed"
            print(f"    {m.label:26s} MAE {error:>8s} {series.unit}, {m.seconds:7.3f} s = {m.seconds / lstm.seconds:6.3f}x the LSTM's"
                  f"  {m.status}{': ' + m.note if m.note else ''}")
        print("    " + baseline.series_takeaway(series))
    print("  takeaway:", baseline.baseline_takeaway(result))


EXPERIMENTS = {"overfitting": run_overfitting, "normalisation": run_normalisation, "baseline": run_baseline}

if __name__ == "__main__":
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}, {os.cpu_count()} cores, one torch thread")
    for name in sys.argv[1:] or EXPERIMENTS:
        EXPERIMENTS[name]()
