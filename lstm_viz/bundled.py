"""Runs that ship in assets/runs/, so every explorer page has something to show before the visitor trains
anything. Regenerate them with `python scripts/precompute_runs.py` (deterministic: same seed, same numbers)."""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .errors import ModelFileError
from .presets import preset_config
from .runstore import load_run_state
from .trainer import RunConfig, Trainer

BUNDLED_RUNS_DIR = Path(__file__).resolve().parent.parent / "assets" / "runs"

# The run the explorer pages open when the session has not trained one: the headline adding problem at
# T = 100 with all three cells, so the gate, memory and gradient pages can compare them on one example.
EXPLORER_RUN = "adding-100-three-cells"

# The headline presets, trained exactly as the preset configures them: a visitor who starts one gets the finished
# run at once (replayed, and labelled as a precomputed result), and a classroom never waits for the first one.
PRECOMPUTED_PRESETS = ("vanishing-gradients", "forget-bias")

BUNDLED_RUNS: dict[str, RunConfig] = {
    EXPLORER_RUN: preset_config("vanishing-gradients", archs=("rnn", "gru", "lstm")),
    **{f"preset-{name}": preset_config(name) for name in PRECOMPUTED_PRESETS},
}


def bundled_run_path(name: str) -> Path:
    return BUNDLED_RUNS_DIR / name


@lru_cache(maxsize=len(BUNDLED_RUNS))
def load_bundled_run(name: str = EXPLORER_RUN) -> Trainer:
    """Shared by every caller in the process: treat it as read-only (pages copy a model before loading weights)."""
    return load_run_state(bundled_run_path(name))


def precomputed_run(config: RunConfig) -> Trainer | None:
    """The shipped run trained with exactly `config`, if there is one (its files present and readable)."""
    for name, bundled in BUNDLED_RUNS.items():
        if bundled == config and (bundled_run_path(name) / "run.json").exists():
            try:
                return load_bundled_run(name)
            except ModelFileError:
                return None
    return None
