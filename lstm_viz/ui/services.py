"""The server's shared services, one per Streamlit process: the scheduler every background job goes through, and
the hub of runs every session shares. Both are built on first use and shut down when Streamlit releases them."""
from __future__ import annotations

import uuid

import streamlit as st
import torch

from lstm_viz.runs.bundled import precomputed_run
from lstm_viz.runs.ray_backend import scheduler_from_environment
from lstm_viz.runs.replica_store import store_from_environment
from lstm_viz.runs.scheduler import Scheduler, describe_wait, wait_for
from lstm_viz.runs.shared_runs import RunHub

# A run whose page stopped asking for snapshots (tab closed without a clean disconnect) stops itself.
# Generous, because browsers slow the timers of background tabs.
UNWATCHED_TIMEOUT_SECONDS = 180
# On a busy server the charts refresh less often, so every page keeps answering within about two seconds: Streamlit
# runs every session's scripts in one process (one core's worth of Python), and at the full rate 20 sessions asked
# for 2.5x more drawing than it could do (bench/load.py). Up to this many active sessions refresh at the full rate;
# beyond it the interval grows in proportion.
FULL_RATE_VIEWERS = 5


@st.cache_resource(show_spinner=False, on_release=lambda scheduler: scheduler.shutdown())
def scheduler() -> Scheduler:
    """The server's one scheduler: every background job of every page (trainings, sweep points, the Gradient lab's
    runs, model imports) takes one of its LSTM_VIZ_MAX_TRAININGS slots, capped at LSTM_VIZ_RUN_SECONDS each. With
    LSTM_VIZ_RAY_ADDRESS set, its trainings and sweep points compute on that Ray cluster (lstm_viz.runs.ray_backend)."""
    return scheduler_from_environment()


@st.cache_resource(show_spinner=False, on_release=lambda hub: hub.shutdown())
def hub() -> RunHub:
    """The server's runs, shared by every session: same configuration and seed, one training (lstm_viz.runs.shared_runs).
    Its limits come from the environment: LSTM_VIZ_MAX_TRAININGS, LSTM_VIZ_RUN_SECONDS, LSTM_VIZ_TORCH_THREADS;
    with LSTM_VIZ_RUN_STORE, finished runs are shared by every replica mounting that folder (runs.replica_store)."""
    return RunHub(precomputed=precomputed_run, unwatched_timeout=UNWATCHED_TIMEOUT_SECONDS, scheduler=scheduler(),
                  store=store_from_environment())


def on_cluster(compute, ticket):
    """`compute(ticket)` for a job the scheduler admitted: on a worker of the Ray cluster when the server has one
    (LSTM_VIZ_RAY_ADDRESS), else here. `compute` must only compute (it is shipped to the worker, pickled): what it
    returns comes back, anything it would store on the way would stay on the worker."""
    backend = scheduler().backend
    return compute(ticket) if backend is None else backend.compute(compute, ticket)


def refresh_scale() -> float:
    """1 on a quiet server; n / FULL_RATE_VIEWERS with n sessions watching a run."""
    return max(1.0, hub().active_viewers() / FULL_RATE_VIEWERS)


def session_owner() -> str:
    """Whose turn a job takes in the scheduler's fair queue: this browser session (a random id kept in its state)."""
    return st.session_state.setdefault("_scheduler_owner", uuid.uuid4().hex)


def run_job(compute, *, kind: str, units: float, label: str):
    """`compute(ticket)` as a job of the server's scheduler, from a page: blocks this script run until it is done,
    showing the job's place in the queue and its estimated wait meanwhile. Leaving the page cancels the job.
    Returns its result (None if the scheduler stopped it); re-raises its error."""
    threads = hub().torch_threads

    def work(ticket):
        torch.set_num_threads(threads)  # as every training: one torch thread per job
        return compute(ticket)

    job = scheduler().spawn(work, owner=session_owner(), kind=kind, units=units, label=label)
    placeholder = st.empty()

    def show(view) -> None:
        waiting = describe_wait(view.ticket)
        placeholder.info(f"Waiting for the server: {waiting}." if waiting else f"{label.capitalize()}…",
                         icon=":material/hourglass_top:")

    try:
        return wait_for(job, show)
    finally:
        placeholder.empty()
