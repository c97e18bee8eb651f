"""The Translate page's models: the four shipped in assets/runs/translation (read once per server), their measured
test metrics, their readings of a sentence (computed once per server for every session that types it), and the pair
a session trains itself through the server's scheduler."""
from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Callable

import plotly.graph_objects as go

import streamlit as st

from lstm_viz.core.seq2seq.files import SHIPPED_DIR, load_translation_model, model_stem
from lstm_viz.core.seq2seq.model import Seq2Seq
from lstm_viz.core.seq2seq.reading import SentenceReading, read_sentence
from lstm_viz.core.tasks.translation_base import TranslationTask
from lstm_viz.core.seq2seq.training import TranslationTrainer, TranslationTrainingConfig
from lstm_viz.rules import checks
from lstm_viz.rules.errors import ConfigError, ModelFileError
from lstm_viz.ui import services
from lstm_viz.ui.memo import SharedMemo, token_of

SESSION_MODELS_KEY = "_translation_models"  # {task: {attention: Seq2Seq}} trained in this session
MAX_REPORT_BYTES = 200_000  # measurements.json, the largest, is 21 kB
# A reading is ~100 kB at the longest input (6 gates x 60 tokens x 64 units, twice), one of its figures 20-100 kB; a
# classroom types a few sentences, each shown as ~8 figures.
READINGS_MEMO_SIZE = 256


@st.cache_resource(show_spinner=False)
def shipped_model(task: str, attention: bool) -> tuple[Seq2Seq, TranslationTrainingConfig]:
    """Read-only after loading (eval mode, decoded under no_grad): one copy serves every session."""
    return load_translation_model(SHIPPED_DIR, task, attention)


def _report(path: Path) -> dict:
    """A JSON report the scripts wrote, its size checked before it is read; ModelFileError if it is not one."""
    size = path.stat().st_size
    if size > MAX_REPORT_BYTES:
        raise ModelFileError(f"{path.name} is {size:,} bytes long; the measured reports are under "
                             f"{MAX_REPORT_BYTES:,} (was it replaced?)")
    try:
        report = checks.bounded_json(path.name, path.read_bytes(), max_chars=MAX_REPORT_BYTES)
    except ConfigError as error:
        raise ModelFileError(str(error)) from None
    if not isinstance(report, dict):
        raise ModelFileError(f"{path.name} is not a measured report (a JSON object)")
    return report


@st.cache_data(show_spinner=False)
def shipped_metrics(task: str) -> dict[bool, dict]:
    """{attention: the metrics the CLI measured when it trained the shipped model}; ModelFileError if missing."""
    paths = {attention: SHIPPED_DIR / f"metrics-{model_stem(task, attention)}.json" for attention in (True, False)}
    missing = [path.name for path in paths.values() if not path.is_file()]
    if missing:
        raise ModelFileError(f"no measured metrics ({', '.join(missing)}): run scripts/train_translation_models.py")
    return {attention: _report(path) for attention, path in paths.items()}


@st.cache_data(show_spinner=False)
def measurements() -> dict | None:
    """scripts/measure_translation.py's report (the 16-unit date models among it), if it has been run."""
    path = SHIPPED_DIR / "measurements.json"
    return _report(path) if path.is_file() else None


@st.cache_resource(show_spinner=False)
def _readings() -> SharedMemo:
    # A cache resource, not a module global: clearing Streamlit's caches (a test, an operator) clears it too.
    return SharedMemo(READINGS_MEMO_SIZE)


def reading(model: Seq2Seq, task: TranslationTask, text: str, beam_width: int) -> SentenceReading:
    """`model`'s reading of `text`, built once per server: keyed by the model object itself, so every session
    showing a shipped model shares it, and a session's own model only its own. Shared: never mutate it."""
    return _readings()((token_of(model), task.name, text, beam_width),
                       lambda: read_sentence(model, task, text, beam_width))


def reading_figure(reading: SentenceReading, view: tuple, build: Callable[[], go.Figure]) -> go.Figure:
    """A figure of a (shared) reading, built once per server for every session showing that reading: keyed by the
    reading object and the `view` (which chart, which quantity). Never mutate it (presenter mode draws a copy)."""
    return _readings()((token_of(reading), *view), build)


def session_models(task: str) -> dict[bool, Seq2Seq] | None:
    return st.session_state.get(SESSION_MODELS_KEY, {}).get(task)


def models_for(task: str, source: str) -> dict[bool, Seq2Seq]:
    """{attention: model} of the source the page picked ("session" falls back to shipped until trained)."""
    trained = session_models(task) if source == "session" else None
    return trained or {attention: shipped_model(task, attention)[0] for attention in (True, False)}


def shown_cell(task: str, source: str) -> str:
    """"lstm" or "gru": the cell of the models `models_for` gives."""
    return next(iter(models_for(task, source).values())).config.cell


def train_pair(task: str, steps: int, cell: str = "lstm") -> bool:
    """Train the task's two models (with and without attention), the shipped settings with `cell` for `steps` steps,
    as one job of the server's scheduler; True once both are trained and kept in the session."""
    configs = [dataclasses.replace(shipped_model(task, attention)[1], steps=steps, cell=cell).validate()
               for attention in (True, False)]

    def compute(ticket):
        models = {}
        for offset, config in enumerate(configs):
            trainer = TranslationTrainer(config)
            trainer.run(ticket=ticket, progress_offset=offset * steps)
            if trainer.step < steps:
                return None  # stopped by the scheduler
            models[config.attention] = trainer.model
        return models

    models = services.run_job(compute, kind="translate", units=2 * steps,
                              label=f"training two {task} {cell.upper()} models for {steps} steps each")
    if models is None:
        return False
    st.session_state.setdefault(SESSION_MODELS_KEY, {})[task] = models
    return True
