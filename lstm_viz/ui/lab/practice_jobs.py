"""A lab experiment (overfitting, normalisation, the honest baseline) as one job of the server's scheduler
(services.scheduler), started by a button, with its place in the queue, then its progress and time left, and Stop.

The job runs in its own thread (Scheduler.spawn, shared by key: two sessions asking the same settings meanwhile
watch one job); the page polls it from a fragment and does not block, so Stop can be pressed. A finished result
goes to a server-wide store keyed by the experiment and its settings, so the same settings cost nothing the
second time, for every session. Leaving the session lets go of the job (it is cancelled if nobody else watches).
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Callable, Hashable

import streamlit as st
import torch

from lstm_viz.rules.errors import LstmVizError
from lstm_viz.runs.scheduler import JobView, Ticket, describe_wait, format_wait
from lstm_viz.ui import boundary, services
from lstm_viz.ui.memo import SharedMemo
from lstm_viz.ui.session_jobs import release_on_disconnect

log = logging.getLogger(__name__)

REFRESH_SECONDS = 0.5
RESULTS_SIZE = 48  # finished experiments kept for every session; the least recently used goes first


@st.cache_resource(show_spinner=False)
def _results() -> SharedMemo:
    return SharedMemo(RESULTS_SIZE)


@dataclass
class PracticeJob:
    """This session's hold on one experiment's job."""
    view: JobView
    key: Hashable
    stopped: bool = False  # Stop was pressed

    @property
    def alive(self) -> bool:
        return not self.view.done

    def stop(self) -> None:
        if not self.view.done and self.view.watchers <= 1:
            self.view.ticket.cancel()  # nobody else waits for it: stop now, not after the release grace
        self.view.release()


def _state_key(kind: str) -> str:
    return f"_lab_job_{kind}"


def current(kind: str) -> PracticeJob | None:
    return st.session_state.get(_state_key(kind))


def stored(kind: str, key: Hashable) -> Any:
    """The finished result of `kind` with these settings on this server, or None."""
    return _results().get((kind, key))


def is_running(kind: str) -> bool:
    job = current(kind)
    return job is not None and job.alive and not job.stopped


def start(kind: str, key: Hashable, units: float, compute: Callable[[Ticket], Any], label: str) -> None:
    """Button callback: queue `compute(ticket)` (it reports progress in `units` and checks ticket.should_stop)."""
    stop(kind)
    store, threads = _results(), services.hub().torch_threads

    def work(ticket: Ticket) -> Any:
        torch.set_num_threads(threads)  # as every training: one torch thread per job
        result = compute(ticket)
        if result is not None and not ticket.should_stop():
            ticket.progress(ticket.units)
            store.put((kind, key), result)
        return result

    view = services.scheduler().spawn(work, owner=services.session_owner(), kind=f"lab-{kind}", units=units,
                                      key=(kind, key), label=label)
    job = PracticeJob(view, key)
    st.session_state[_state_key(kind)] = job
    release_on_disconnect(job, lambda held: held.stop())


def stop(kind: str) -> None:
    """Button callback."""
    job = current(kind)
    if job is not None and not job.stopped:
        job.stopped = True
        job.stop()


def _progress_text(job: PracticeJob, label: str) -> tuple[float, str]:
    ticket = job.view.ticket
    waiting = describe_wait(ticket)
    if waiting:
        return 0.0, f"Waiting for the server: {waiting}."
    fraction = min(1.0, ticket.done_units / ticket.units)
    text = f"{label.capitalize()}: {fraction:.0%}"
    if fraction > 0.05 and ticket.started_at is not None:
        # The job's own pace so far (the scheduler's clock), played forward: honest on a busy server too.
        elapsed = max(0.0, ticket.scheduler.clock() - ticket.started_at)
        text += f", {elapsed:.0f} s so far, {format_wait(elapsed * (1 - fraction) / fraction)} left"
    return fraction, text


def controls(kind: str, key: Hashable, units: float, compute: Callable[[Ticket], Any], label: str,
             run_label: str) -> Any:
    """Run and Stop, the job's progress while it runs, and the result once there is one for these settings
    (None until then). A failed job's error is shown as a message."""
    result = stored(kind, key)
    running = is_running(kind)
    left, right, note = st.columns([1.3, 1, 4], vertical_alignment="center")
    left.button(run_label, key=f"lab_{kind}_run", type="primary", icon=":material/play_arrow:", width="stretch",
                disabled=running or result is not None, on_click=start, args=(kind, key, units, compute, label))
    right.button("Stop", key=f"lab_{kind}_stop", icon=":material/stop:", width="stretch", disabled=not running,
                 on_click=stop, args=(kind,))
    if result is not None:
        note.caption("Computed on this server for these settings; change a setting to run another experiment.")
    _live(kind, key, label)
    return result


def _live(kind: str, key: Hashable, label: str) -> None:
    running = is_running(kind)

    @boundary.fragment(run_every=REFRESH_SECONDS if running else None)
    def progress() -> None:
        job = current(kind)
        if job is None or (job.key != key and not job.alive):
            return  # nothing, or an ended job of other settings: not what the page shows now
        if job.alive and not job.stopped:
            fraction, text = _progress_text(job, label)
            st.progress(fraction, text=text)
            return
        if job.view.error is not None:
            error = job.view.error
            message = str(error) if isinstance(error, LstmVizError) else f"{type(error).__name__}: {error}"
            st.error(f"The experiment failed: {message}", icon=":material/error:")
        elif job.stopped or job.view.result is None:
            st.warning("Stopped before the end: nothing was kept. Press the button to run it again.")
        if running:
            st.rerun()  # the whole page draws the result, with the timer off

    progress()
