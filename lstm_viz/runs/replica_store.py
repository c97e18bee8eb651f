"""Finished runs shared by every replica: a folder (LSTM_VIZ_RUN_STORE) that every app replica mounts, holding one
run folder per canonical RunConfig key in the format of lstm_viz.runs.runstore (run.json, checkpoints.safetensors,
gradient_flow.npz), the very format of the runs shipped in assets/runs/.

A shared path rather than Ray's object store: an object there lives only as long as the process that put it (a
replica restarting would take its runs with it) and must be found by a reference handed around; a folder outlives
every process and the cluster, works without Ray (replicas on one host or a network volume), and holds plain files
in the format of the shipped runs, which a person can inspect, copy or ship. A replica writes a run it watched to
the end into a temporary folder and renames it into place, so a reader never sees half a run and two replicas
finishing the same run at once keep one copy.
"""
from __future__ import annotations

import hashlib
import logging
import os
import shutil
import uuid
from pathlib import Path

from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.runs.runstore import load_run_state, save_run_state

log = logging.getLogger(__name__)


class RunStore:
    def __init__(self, root: Path | str):
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.saved = 0  # runs this process wrote (the two-replica tests count them)

    def folder(self, config: RunConfig) -> Path:
        return self.root / hashlib.sha256(config.key().encode()).hexdigest()[:32]

    def __contains__(self, config: RunConfig) -> bool:
        return (self.folder(config) / "run.json").is_file()

    def load(self, config: RunConfig) -> Trainer | None:
        """The finished run of `config`, or None if no replica stored it (or what is there cannot be read)."""
        folder = self.folder(config)
        if not (folder / "run.json").is_file():
            return None
        try:
            trainer = load_run_state(folder)
        except (LstmVizError, OSError, KeyError, ValueError):
            log.warning("the stored run in %s cannot be read; it is trained again", folder, exc_info=True)
            return None
        return trainer if trainer.config.key() == config.key() else None

    def save(self, trainer: Trainer) -> bool:
        """Store a finished run unless some replica already did; True if this call wrote it."""
        folder = self.folder(trainer.config)
        if folder.exists():
            return False
        partial = self.root / f".partial-{uuid.uuid4().hex}"
        try:
            save_run_state(trainer, partial)
            os.rename(partial, folder)  # atomic; fails if another replica's copy landed first
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
            return False
        self.saved += 1
        return True


def store_from_environment() -> RunStore | None:
    root = os.environ.get("LSTM_VIZ_RUN_STORE", "").strip()
    return RunStore(root) if root else None
