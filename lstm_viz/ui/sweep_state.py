"""The Length sweep page's settings and its session's sweep thread (lstm_viz.runs.sweep.BackgroundSweep).

Start builds a SweepConfig from the widgets and runs it in a background thread, each point queueing for a slot of
the server's scheduler (state.scheduler) like every other job; Stop ends it after the current training step; the
page's fragment reads snapshots. Finished points go to the process-wide cache,
so another session asking for the same points gets them at once.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, replace

import streamlit as st

from lstm_viz.rules.errors import ConfigError, LstmVizError
from lstm_viz.runs.sweep import DEFAULT_SWEEP, POINT_CACHE, BackgroundSweep, SweepConfig, SweepSnapshot
from lstm_viz.core.tasks import TASKS
from lstm_viz.core.trainer import RunConfig
from . import services
from .session_jobs import Watched, release_on_disconnect

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
UNWATCHED_TIMEOUT_SECONDS = 180  # a sweep whose page stopped asking for snapshots stops itself
LENGTH_CHOICES = (5, 10, 20, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000)
MAX_SEEDS_CHOICE = 5

# The page's session-state keys and defaults: also its URL parameters (url_state.sync_with_url).
DEFAULTS = {
    "sweep_task": DEFAULT_SWEEP.task,
    "sweep_lengths": [str(length) for length in DEFAULT_SWEEP.lengths],
    "sweep_archs": list(DEFAULT_SWEEP.archs),
    "sweep_seeds": len(DEFAULT_SWEEP.seeds),
    "sweep_steps": DEFAULT_SWEEP.steps_per_point,
    "sweep_hidden": DEFAULT_SWEEP.hidden_size,
    "sweep_lr": DEFAULT_SWEEP.learning_rate,
    "sweep_batch": DEFAULT_SWEEP.batch_size,
}


def sweep_tasks() -> list[str]:
    """Tasks a sweep can run: those that train with no task options (data-backed tasks need a choice of data)."""
    names = []
    for name, task in TASKS.items():
        try:
            RunConfig(task=name, length=task.default_length).make_task()
        except LstmVizError:
            continue
        names.append(name)
    return names


def length_choices(task_name: str) -> list[str]:
    task = TASKS[task_name]
    return [str(length) for length in LENGTH_CHOICES if task.min_length <= length <= task.max_length]


_SAVED_KEY = "_sweep_settings"


def restore_settings() -> None:
    """Before url_state.sync_with_url: bring back the settings a visit to another page removed.

    Streamlit drops a widget's key from the session when a page without that widget runs; a plain copy
    under another key survives (state.init_session does the same for the Train page's keys)."""
    state = st.session_state
    for key, value in state.get(_SAVED_KEY, {}).items():
        if key not in state:
            state[key] = value


def remember_settings() -> None:
    """After the widgets: keep a plain copy of their values for restore_settings."""
    st.session_state[_SAVED_KEY] = {key: st.session_state[key] for key in DEFAULTS if key in st.session_state}


def normalise_settings() -> list[str]:
    """After the URL filled the state: drop values no widget can show. Returns what was dropped.

    Every key is re-assigned, as state.init_session does for the Train page: that makes it plain session
    state, which survives a visit to another page and a widget whose identity changes when it is disabled
    while the sweep runs (without it, Start reset the settings to their defaults)."""
    state = st.session_state
    for key in DEFAULTS:
        state[key] = state[key]
    dropped = []
    tasks = sweep_tasks()
    if state["sweep_task"] not in tasks:
        dropped.append(f"task {state['sweep_task']!r}")
        state["sweep_task"] = DEFAULTS["sweep_task"] if DEFAULTS["sweep_task"] in tasks else tasks[0]
    choices = length_choices(state["sweep_task"])
    lengths = [str(value) for value in state["sweep_lengths"]]
    kept = [value for value in lengths if value in choices]
    dropped += [f"length {value}" for value in lengths if value not in choices]
    state["sweep_lengths"] = sorted(set(kept), key=int)
    from lstm_viz.core.architectures import ARCHITECTURES

    archs = [value for value in state["sweep_archs"] if value in ARCHITECTURES]
    dropped += [f"architecture {value!r}" for value in state["sweep_archs"] if value not in ARCHITECTURES]
    state["sweep_archs"] = archs
    for key, low, high in (("sweep_seeds", 1, MAX_SEEDS_CHOICE), ("sweep_steps", 1, 20_000),
                           ("sweep_hidden", 1, 512), ("sweep_batch", 1, 512)):
        if not low <= int(state[key]) <= high:
            dropped.append(f"{key.removeprefix('sweep_')} {state[key]}")
            state[key] = DEFAULTS[key]
    if not 1e-6 <= float(state["sweep_lr"]) <= 10.0:
        dropped.append(f"learning rate {state['sweep_lr']}")
        state["sweep_lr"] = DEFAULTS["sweep_lr"]
    return dropped


def on_task_change() -> None:
    choices = length_choices(st.session_state["sweep_task"])
    st.session_state["sweep_lengths"] = [value for value in st.session_state["sweep_lengths"] if value in choices]


def config_from_settings() -> SweepConfig:
    state = st.session_state
    return replace(
        DEFAULT_SWEEP,
        task=state["sweep_task"],
        lengths=tuple(sorted(int(value) for value in state["sweep_lengths"])),
        archs=tuple(state["sweep_archs"]),
        seeds=tuple(range(int(state["sweep_seeds"]))),
        steps_per_point=int(state["sweep_steps"]),
        hidden_size=int(state["sweep_hidden"]),
        learning_rate=float(state["sweep_lr"]),
        batch_size=int(state["sweep_batch"]),
    )


SWEEP_KEY = "sweep"


@dataclass
class SessionSweep(Watched):
    """The session's one sweep, under SWEEP_KEY: its thread, whether the page polls it, why it could not start."""
    sweep: BackgroundSweep | None = None
    error: str | None = None

    def job(self) -> BackgroundSweep | None:
        return self.sweep


def handle() -> SessionSweep:
    return st.session_state.setdefault(SWEEP_KEY, SessionSweep())


def snapshot() -> SweepSnapshot | None:
    sweep = handle().sweep
    return sweep.snapshot() if sweep is not None else None


def is_running() -> bool:
    return handle().is_running()


def start_sweep() -> None:
    """Button callback."""
    stop_sweep()
    run = handle()
    run.error = None
    try:
        worker = BackgroundSweep(config_from_settings(), cache=POINT_CACHE,
                                 unwatched_timeout=UNWATCHED_TIMEOUT_SECONDS, scheduler=services.scheduler(),
                                 owner=services.session_owner(), torch_threads=services.hub().torch_threads)
    except ConfigError as exc:
        run.error = f"Check the sweep settings: {exc}"
        return
    except (LstmVizError, ValueError, KeyError, RuntimeError) as exc:
        log.exception("could not start the sweep")
        run.error = f"Could not start the sweep: {exc}"
        return
    release_on_disconnect(worker.start(), lambda sweep: sweep.stop())
    run.sweep, run.running = worker, True


def stop_sweep() -> None:
    """Button callback: the finished points stay; the point in training is dropped."""
    run = handle()
    if run.sweep is not None and run.sweep.alive:
        run.sweep.stop()
    run.running = False


def poll() -> bool:
    """True once when the sweep ended since the last call (the page then reruns to turn its timer off)."""
    return handle().ended()
