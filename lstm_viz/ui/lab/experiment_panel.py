"""What the lengths, tuning and stacking sections share: the session's handle on each experiment's background thread
(lstm_viz.practices.experiment_thread), Start and Stop, and the live panel that polls it (progress, the measured
time left, the place in the server's queue) and draws what has finished so far. The experiments queue their own
jobs on the server's one scheduler (services.scheduler); sessions asking for the same experiment with the same
settings watch one thread (SharedExperiments), which stops when the last of them lets go."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Hashable

import streamlit as st

from lstm_viz.practices.experiment_thread import BackgroundExperiment, ExperimentSnapshot, Lease, SharedExperiments
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.runs.scheduler import format_wait
from lstm_viz.runs.sweep import format_duration
from lstm_viz.ui import boundary, services
from lstm_viz.ui.session_jobs import Watched, release_on_disconnect

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
UNWATCHED_TIMEOUT_SECONDS = 180  # an experiment whose page stopped asking for snapshots stops itself


@st.cache_resource(show_spinner=False)
def shared_experiments() -> SharedExperiments:
    """The server's running lab experiments by name and settings, for every session."""
    return SharedExperiments()


@dataclass
class SessionExperiment(Watched):
    experiment: BackgroundExperiment | None = None
    error: str | None = None
    lease: Lease | None = None  # the session's hold on the experiment in shared_experiments

    @property
    def joined(self) -> bool:
        """The session watches a run another session started."""
        return self.lease is not None and self.lease.joined

    def job(self) -> BackgroundExperiment | None:
        return self.experiment


def handle(name: str) -> SessionExperiment:
    return st.session_state.setdefault(f"lab-experiment:{name}", SessionExperiment())


def snapshot(name: str) -> ExperimentSnapshot | None:
    experiment = handle(name).experiment
    return experiment.snapshot() if experiment is not None else None


def start(name: str, settings: Hashable, steps: Callable) -> None:
    """Button callback: `steps(should_stop, scheduler, owner)` is the experiment's generator of Updates; a run of
    the same experiment with the same `settings` already going on this server is watched, not started again."""
    stop(name)
    run = handle(name)
    run.error = None
    scheduler, owner, key = services.scheduler(), services.session_owner(), (name, settings)

    def make() -> BackgroundExperiment:
        return BackgroundExperiment(lambda should_stop: steps(should_stop, scheduler, owner), name=name,
                                    unwatched_timeout=UNWATCHED_TIMEOUT_SECONDS,
                                    torch_threads=services.hub().torch_threads)

    try:
        lease = shared_experiments().attach(key, make)
    except (LstmVizError, ValueError) as exc:
        run.error = f"Could not start: {exc}"
        return
    release_on_disconnect(lease, lambda held: held.release(timeout=0))
    run.experiment, run.lease, run.running = lease.experiment, lease, True


def stop(name: str) -> None:
    """Button callback: this session lets go; the run stops unless another session still watches it. What finished
    stays shown."""
    run = handle(name)
    if run.lease is not None:
        run.lease.release()
        if run.experiment is not None and run.experiment.alive:
            run.experiment = None  # others still watch it: this session shows no run of its own, not a frozen bar
    run.running = False


def controls(name: str, on_start: Callable[[], None], problem: str | None, plan: str) -> None:
    """Start and Stop, and under them either the settings' problem or what Start will do."""
    running = handle(name).is_running()
    left, right, info = st.columns([1, 1, 4])
    left.button("▶ Run", type="primary", key=f"labrun_{name}_start", on_click=on_start,
                disabled=running or problem is not None, width="stretch")
    right.button("■ Stop", key=f"labrun_{name}_stop", on_click=stop, args=(name,), disabled=not running,
                 width="stretch")
    if problem is not None:
        info.warning(f"Check the settings: {problem}")
    else:
        info.caption(plan)
    if handle(name).error:
        st.error(handle(name).error)


def _progress(current: ExperimentSnapshot, joined: bool) -> None:
    message = current.update.message if current.update is not None else "starting"
    if current.queue_position is not None:
        wait = format_wait(current.queue_wait) if current.queue_wait is not None else "unknown"
        text = f"{message}: number {current.queue_position} in the server's queue, about {wait} to wait"
    else:
        left = current.seconds_left()
        left_text = "measuring the speed…" if left is None else f"about {format_duration(left)} left"
        text = f"{message} · {format_duration(current.computing)} so far, {left_text}"
    if joined:
        text += " (started by another session with the same settings: watched, not trained twice)"
    st.progress(current.fraction, text=text)


def live(name: str, draw: Callable[[Any, bool], None], idle: Callable[[], None]) -> None:
    """The polled panel: progress while running, then `draw(partial_or_result, finished)`; `idle()` before any run."""
    running = handle(name).is_running()

    @boundary.fragment(run_every=REFRESH_SECONDS if running else None)
    def panel() -> None:
        current = snapshot(name)
        ended = handle(name).ended()
        if current is None:
            idle()
        else:
            if current.status == "running":
                _progress(current, handle(name).joined)
            elif current.status == "stopped":
                st.info("Stopped: what finished is shown.", icon=":material/stop_circle:")
            elif current.status == "error":
                st.error(f"The experiment failed: {current.error}")
            if current.partial is not None:
                draw(current.partial, current.status == "finished")
        if ended:
            st.rerun()  # a full run redraws with the timer off and Run enabled again

    panel()
