"""The Translate page's models: the four shipped in assets/runs/translation (read once per server), their measured
test metrics, and the pair a session trains itself through the server's scheduler."""
from __future__ import annotations

import dataclasses
import json

import streamlit as st

from lstm_viz.core.seq2seq.files import SHIPPED_DIR, load_translation_model, model_stem
from lstm_viz.core.seq2seq.model import Seq2Seq
from lstm_viz.core.seq2seq.training import TranslationTrainer, TranslationTrainingConfig
from lstm_viz.ui import services

SESSION_MODELS_KEY = "_translation_models"  # {task: {attention: Seq2Seq}} trained in this session


@st.cache_resource(show_spinner=False)
def shipped_model(task: str, attention: bool) -> tuple[Seq2Seq, TranslationTrainingConfig]:
    """Read-only after loading (eval mode, decoded under no_grad): one copy serves every session."""
    return load_translation_model(SHIPPED_DIR, task, attention)


@st.cache_data(show_spinner=False)
def shipped_metrics(task: str) -> dict[bool, dict]:
    """{attention: the metrics the CLI measured when it trained the shipped model}."""
    return {attention: json.loads((SHIPPED_DIR / f"metrics-{model_stem(task, attention)}.json").read_text("utf-8"))
            for attention in (True, False)}


@st.cache_data(show_spinner=False)
def measurements() -> dict | None:
    """scripts/measure_translation.py's report (the 16-unit date models among it), if it has been run."""
    path = SHIPPED_DIR / "measurements.json"
    return json.loads(path.read_text("utf-8")) if path.exists() else None


def session_models(task: str) -> dict[bool, Seq2Seq] | None:
    return st.session_state.get(SESSION_MODELS_KEY, {}).get(task)


def models_for(task: str, source: str) -> dict[bool, Seq2Seq]:
    """{attention: model} of the source the page picked ("session" falls back to shipped until trained)."""
    trained = session_models(task) if source == "session" else None
    return trained or {attention: shipped_model(task, attention)[0] for attention in (True, False)}


def train_pair(task: str, steps: int) -> bool:
    """Train the task's two models (with and without attention), the shipped settings for `steps` steps, as one job
    of the server's scheduler; True once both are trained and kept in the session."""
    configs = [dataclasses.replace(shipped_model(task, attention)[1], steps=steps) for attention in (True, False)]

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
                              label=f"training two {task} models for {steps} steps each")
    if models is None:
        return False
    st.session_state.setdefault(SESSION_MODELS_KEY, {})[task] = models
    return True
