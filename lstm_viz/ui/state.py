"""Settings and the live Trainer in `st.session_state`; Start/Stop only flip state here."""
from __future__ import annotations

import logging
from dataclasses import replace

import streamlit as st
import torch

from ..errors import ConfigError, LstmVizError
from ..presets import DEFAULT_PRESET, PRESETS
from ..tasks import TASKS
from ..trainer import RunConfig, Trainer

log = logging.getLogger(__name__)

# Seconds of training per refresh of the live fragment, and the refresh period. 0.35 s of each 0.5 s
# trains; the rest redraws. Tests lower TICK_SECONDS_KEY to keep each AppTest run short.
REFRESH_SECONDS = 0.5
TICK_SECONDS = 0.35
TICK_SECONDS_KEY = "tick_seconds"

# Widget keys whose values make up a RunConfig (plus the preset they started from).
SETTING_KEYS = (
    "preset", "task", "length", "archs", "hidden_size", "num_layers", "learning_rate", "batch_size",
    "optimizer", "clip_enabled", "clip_threshold", "forget_bias", "seed", "max_steps",
)


@st.cache_resource
def _limit_torch_threads() -> None:
    # One thread per session: on 2 shared cores, more threads only make sessions fight.
    torch.set_num_threads(1)


def init_session() -> None:
    """At the top of app.py and of every page: page config, thread limit, defaults, settings kept across pages.

    Idempotent. Pages call it too because Streamlit still auto-discovers `pages/`: a first visit to
    /train in a new session runs pages/train.py without app.py.
    """
    st.set_page_config(layout="wide", page_title="LSTM Explorer", page_icon="🧠")
    _limit_torch_threads()
    state = st.session_state
    if "preset" not in state:
        apply_preset(DEFAULT_PRESET)
    # Streamlit forgets a widget's value when a page without that widget runs; re-assigning makes it
    # plain session state, so the settings survive a visit to the home page.
    for key in SETTING_KEYS:
        if key in state:
            state[key] = state[key]
    state.setdefault("running", False)
    state.setdefault("trainer", None)
    state.setdefault("run_id", 0)
    state.setdefault("error", None)


def apply_preset(name: str) -> None:
    """Load a preset's settings into the widgets' session-state keys."""
    config = PRESETS[name].config
    state = st.session_state
    state["preset"] = name
    state["task"] = config.task
    state["length"] = config.length
    state["archs"] = list(config.archs)
    state["hidden_size"] = config.hidden_size
    state["num_layers"] = config.num_layers
    state["learning_rate"] = config.learning_rate
    state["batch_size"] = config.batch_size
    state["optimizer"] = config.optimizer
    state["clip_enabled"] = config.clip_grad_norm is not None
    state["clip_threshold"] = config.clip_grad_norm if config.clip_grad_norm is not None else 1.0
    state["forget_bias"] = float(config.forget_bias)
    state["seed"] = config.seed
    state["max_steps"] = config.max_steps


def on_preset_change() -> None:
    apply_preset(st.session_state["preset"])


def on_task_change() -> None:
    # Each task has its own length range; its default length is the one that tells its story.
    st.session_state["length"] = TASKS[st.session_state["task"]].default_length


def config_from_settings() -> RunConfig:
    state = st.session_state
    base = PRESETS[state["preset"]].config
    return replace(
        base,
        task=state["task"],
        length=int(state["length"]),
        archs=tuple(state["archs"]),
        hidden_size=int(state["hidden_size"]),
        num_layers=int(state["num_layers"]),
        learning_rate=float(state["learning_rate"]),
        batch_size=int(state["batch_size"]),
        optimizer=state["optimizer"],
        clip_grad_norm=float(state["clip_threshold"]) if state["clip_enabled"] else None,
        forget_bias=float(state["forget_bias"]),
        seed=int(state["seed"]),
        max_steps=int(state["max_steps"]),
    )


def current_trainer() -> Trainer | None:
    return st.session_state.get("trainer")


def is_running() -> bool:
    return bool(st.session_state.get("running")) and current_trainer() is not None


def start_training() -> None:
    """Button callback: build a fresh Trainer from the widgets; errors become a message, not a traceback."""
    state = st.session_state
    state["error"] = None
    state["running"] = False
    try:
        trainer = Trainer(config_from_settings())
    except ConfigError as exc:
        state["error"] = f"Check the settings: {exc}"
        return
    except (LstmVizError, ValueError, KeyError, RuntimeError) as exc:
        log.exception("could not start training")
        state["error"] = f"Could not start training: {exc}"
        return
    state["trainer"] = trainer
    state["run_id"] = state.get("run_id", 0) + 1
    state["figure_cache"] = {}
    state["running"] = True


def stop_training() -> None:
    trainer = current_trainer()
    if trainer is not None and not trainer.finished:
        trainer.stop()
    st.session_state["running"] = False


def advance_training() -> bool:
    """One refresh's slice of training. Returns True when training ended during this slice."""
    trainer = current_trainer()
    if trainer is None or not st.session_state.get("running"):
        return False
    if trainer.finished:
        st.session_state["running"] = False
        return True
    try:
        trainer.advance(max_seconds=float(st.session_state.get(TICK_SECONDS_KEY, TICK_SECONDS)))
    except Exception as exc:  # noqa: BLE001 - the server must survive anything a run does
        log.exception("training failed")
        trainer.stop("stopped by an error")
        st.session_state["error"] = (
            f"Training stopped at step {trainer.step} because of an unexpected error: {type(exc).__name__}: {exc}. "
            "The charts show the run up to that point; try other settings or start again."
        )
        st.session_state["running"] = False
        return True
    if trainer.finished:
        st.session_state["running"] = False
        return True
    return False
