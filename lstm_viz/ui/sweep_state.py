"""The Length sweep page's settings and its session's sweep thread (lstm_viz.runs.sweep.BackgroundSweep).

Start builds a SweepConfig from the widgets and runs it in a background thread, each point queueing for a slot of
the server's scheduler (state.scheduler) like every other job; Stop ends it after the current training step; the
page's fragment reads snapshots. Finished points go to the process-wide cache,
so another session asking for the same points gets them at once.
"""
from __future__ import annotations

import logging
from dataclasses import replace

import streamlit as st

from lstm_viz.rules.errors import ConfigError, LstmVizError
from lstm_viz.runs.sweep import DEFAULT_SWEEP, POINT_CACHE, BackgroundSweep, SweepConfig, SweepSnapshot
from lstm_viz.core.tasks import TASKS
from . import state as train_state
from .page_schemas import LENGTH_SWEEP, sweep_tasks  # noqa: F401 - sweep_tasks: the page's task options
from .page_url import PageView

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
UNWATCHED_TIMEOUT_SECONDS = 180  # a sweep whose page stopped asking for snapshots stops itself
LENGTH_CHOICES = (5, 10, 20, 25, 50, 100, 150, 200, 300, 400, 500, 750, 1000)

# The page's session-state keys and defaults: also its address parameters (page_schemas.LENGTH_SWEEP).
DEFAULTS = LENGTH_SWEEP.defaults


def length_choices(task_name: str) -> list[str]:
    task = TASKS[task_name]
    return [str(length) for length in LENGTH_CHOICES if task.min_length <= length <= task.max_length]


def normalise_settings(page: PageView) -> None:
    """After the address filled the state: a task a sweep cannot run falls back, and the lengths this task does not
    offer are dropped, each named in the page's warning (the fields' validators checked everything else)."""
    state = st.session_state
    tasks = sweep_tasks()
    page.fit("sweep_task", tasks, DEFAULTS["sweep_task"] if DEFAULTS["sweep_task"] in tasks else tasks[0])
    choices = length_choices(state["sweep_task"])
    lengths = [str(value) for value in state["sweep_lengths"]]
    for value in lengths:
        if value not in choices:
            page.refuse(f"length {value}")
    state["sweep_lengths"] = sorted({value for value in lengths if value in choices}, key=int)


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


@st.cache_resource(scope="session", show_spinner=False,
                   on_release=lambda sweeps: [sweep.stop() for sweep in sweeps])
def _session_sweeps() -> list[BackgroundSweep]:
    """This session's sweep threads; Streamlit releases the list (stopping them) when the session disconnects."""
    return []


def _worker() -> BackgroundSweep | None:
    return st.session_state.get("sweep_worker")


def snapshot() -> SweepSnapshot | None:
    worker = _worker()
    return worker.snapshot() if worker is not None else None


def is_running() -> bool:
    worker = _worker()
    return bool(st.session_state.get("sweep_running")) and worker is not None and worker.alive


def start_sweep() -> None:
    """Button callback."""
    state = st.session_state
    stop_sweep()
    state["sweep_error"] = None
    try:
        worker = BackgroundSweep(config_from_settings(), cache=POINT_CACHE,
                                 unwatched_timeout=UNWATCHED_TIMEOUT_SECONDS, scheduler=train_state.scheduler(),
                                 owner=train_state.session_owner(), torch_threads=train_state.hub().torch_threads)
    except ConfigError as exc:
        state["sweep_error"] = f"Check the sweep settings: {exc}"
        return
    except (LstmVizError, ValueError, KeyError, RuntimeError) as exc:
        log.exception("could not start the sweep")
        state["sweep_error"] = f"Could not start the sweep: {exc}"
        return
    sweeps = _session_sweeps()
    sweeps[:] = [sweep for sweep in sweeps if sweep.alive]
    sweeps.append(worker.start())
    state["sweep_worker"] = worker
    state["sweep_running"] = True


def stop_sweep() -> None:
    """Button callback: the finished points stay; the point in training is dropped."""
    worker = _worker()
    if worker is not None and worker.alive:
        worker.stop()
    st.session_state["sweep_running"] = False


def poll() -> bool:
    """True once when the sweep ended since the last call (the page then reruns to turn its timer off)."""
    worker = _worker()
    if worker is None or not st.session_state.get("sweep_running") or worker.alive:
        return False
    st.session_state["sweep_running"] = False
    return True
