"""The Length sweep page's settings and its session's sweep thread (lstm_viz.runs.sweep.BackgroundSweep).

Start builds a SweepConfig from the widgets and runs it in a background thread, each point queueing for a slot of
the server's scheduler (services.scheduler) like every other job; Stop ends it after the current training step; the
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
from lstm_viz.ui import services
from lstm_viz.ui.page_schemas import LENGTH_SWEEP, sweep_tasks  # noqa: F401 - sweep_tasks: the page's task options
from lstm_viz.ui.page_url import PageView
from lstm_viz.ui.session_jobs import Watched, release_on_disconnect

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
