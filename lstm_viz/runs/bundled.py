"""Runs that ship in assets/runs/, so every explorer page has something to show before the visitor trains
anything. Regenerate them with `python scripts/precompute_runs.py` (deterministic: same seed, same numbers)."""
from __future__ import annotations

import json
import threading
from functools import lru_cache
from pathlib import Path

from lstm_viz.rules.errors import ModelFileError
from lstm_viz.runs.presets import preset_config
from lstm_viz.runs.runstore import load_run_state
from lstm_viz.runs.speed import RunRecord
from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.rules import paths

BUNDLED_RUNS_DIR = paths.ASSETS_DIR / "runs"

# The run the explorer pages open when the session has not trained one: the headline adding problem at
# T = 100 with all three cells, so the gate, memory and gradient pages can compare them on one example.
EXPLORER_RUN = "adding-100-three-cells"
# The run the Forecast and anomalies page opens when the session has not trained a forecaster.
FORECAST_RUN = "forecast-airline"

# The Try it page's text models, for visitors who have not trained a text task themselves.
SENTIMENT_RUN = "sentiment-rnn-lstm"
BRACKETS_RUN = "brackets-rnn-lstm"
# The Gestures page's networks, for visitors who have not trained the gestures task themselves.
GESTURES_RUN = "gestures-three-cells"

# The headline presets, trained exactly as the preset configures them: a visitor who starts one gets the finished
# run at once (replayed, and labelled as a precomputed result), and a classroom never waits for the first one.
PRECOMPUTED_PRESETS = ("vanishing-gradients", "forget-bias", "copy-memory")

BUNDLED_RUNS: dict[str, RunConfig] = {
    EXPLORER_RUN: preset_config("vanishing-gradients", archs=("rnn", "gru", "lstm")),
    FORECAST_RUN: preset_config("forecast-airline"),
    # Up to 20 filler words after the opinion; H=32 keeps the files small. It trains past "solved" on the generated
    # reviews: the extra steps are what make it read everyday sentences (tests/fixtures/everyday_reviews.tsv), so it
    # trains to its whole budget instead of ending at its verdict.
    SENTIMENT_RUN: RunConfig(task="sentiment", length=20, archs=("rnn", "lstm"), hidden_size=32, max_steps=4000,
                             stop_when_solved=False, train_to_budget=True, probe_every=250, max_checkpoints=12),
    # 100 characters; H=64 so a unit has room to become a depth counter.
    BRACKETS_RUN: RunConfig(task="brackets", length=100, archs=("rnn", "lstm"), hidden_size=64, max_steps=800,
                            stop_when_solved=False, probe_every=100, max_checkpoints=12),
    # 32 points per stroke, H=32: past "solved" to the whole budget, so the drawn strokes (less regular than the
    # generated ones) meet networks that have seen many more strokes than they needed to pass the test set.
    GESTURES_RUN: RunConfig(task="gestures", length=32, archs=("rnn", "gru", "lstm"), hidden_size=32, max_steps=3000,
                            stop_when_solved=False, train_to_budget=True, probe_every=250, max_checkpoints=12),
    **{f"preset-{name}": preset_config(name) for name in PRECOMPUTED_PRESETS},
}


# Presets whose blurb promises an outcome that varies from seed to seed: scripts/precompute_runs.py also trains these
# other seeds and writes each one's final metrics to <run>/seeds.json, which the tests hold against the blurb.
CHECKED_SEEDS: dict[str, tuple[int, ...]] = {"preset-copy-memory": (1, 2)}
SEEDS_FILE = "seeds.json"


def seed_summary(trainer: Trainer) -> dict:
    """What seeds.json keeps of a finished run: its config, baseline, verdict and each architecture's final and best
    test metric."""
    return {
        "config": trainer.config.to_dict(),
        "baseline": trainer.baseline,
        "verdict": trainer.verdict(),
        "final": {arch: run.last_metric for arch, run in trainer.runs.items()},
        "best": {arch: min(run.eval_metric) for arch, run in trainer.runs.items()},
    }


def load_seed_summaries(name: str) -> dict[int, dict]:
    """{seed: seed_summary} of the other seeds trained for bundled run `name` (CHECKED_SEEDS)."""
    path = bundled_run_path(name) / SEEDS_FILE
    try:
        return {int(seed): summary for seed, summary in json.loads(path.read_text()).items()}
    except (OSError, ValueError) as error:
        raise ModelFileError(f"no readable seed summaries in {path}: {error}") from None


def bundled_run_path(name: str) -> Path:
    return BUNDLED_RUNS_DIR / name


@lru_cache(maxsize=len(BUNDLED_RUNS))
def _read_bundled_run(name: str) -> Trainer:
    return load_run_state(bundled_run_path(name))


_reading_lock = threading.Lock()
_reading: dict[str, threading.Lock] = {}


def load_bundled_run(name: str = EXPLORER_RUN) -> Trainer:
    """Shared by every caller in the process: treat it as read-only (pages copy a model before loading weights).
    One object per run even when the server's warm-up thread and a first visitor ask at the same moment (an
    lru_cache alone would read it twice and hand out two copies): the explorer pages key their shared figures by
    the run object."""
    with _reading_lock:
        lock = _reading.setdefault(name, threading.Lock())
    with lock:
        return _read_bundled_run(name)


@lru_cache(maxsize=len(BUNDLED_RUNS))
def bundled_record(name: str) -> RunRecord | None:
    """The shipped run's steps and timings without its weights (milliseconds, for the Home page's claims); None
    when it is missing or unreadable."""
    try:
        return RunRecord.read(bundled_run_path(name))
    except (OSError, ValueError, KeyError):
        return None


def precomputed_record(preset: str) -> RunRecord | None:
    """The shipped run of a precomputed preset, read light."""
    return bundled_record(f"preset-{preset}") if preset in PRECOMPUTED_PRESETS else None


def precomputed_run(config: RunConfig) -> Trainer | None:
    """The shipped run trained with exactly `config`, if there is one (its files present and readable)."""
    for name, bundled in BUNDLED_RUNS.items():
        if bundled == config and (bundled_run_path(name) / "run.json").exists():
            try:
                return load_bundled_run(name)
            except ModelFileError:
                return None
    return None
