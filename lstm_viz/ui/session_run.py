"""The session's one run, held by one object under one session key (`RUN_KEY`): the server run it watches (a live
training, a training shared with other sessions, a replay of a finished one) or a run built from an uploaded model,
whether the page still polls it to its end, its latest snapshot, and its private models for traces.

Start joins the server's run of a configuration (services.hub), Stop ends it, and the pages read snapshots; every
page that explores a run asks `explored_run()`, which falls back to the bundled run so that no page is empty.
"""
from __future__ import annotations

import copy
import logging
from dataclasses import dataclass, field

import streamlit as st

from lstm_viz.core.model import build_model
from lstm_viz.core.trainer import RunConfig, Trainer
from lstm_viz.rules.errors import ConfigError, LstmVizError
from lstm_viz.runs.bundled import EXPLORER_RUN, load_bundled_run
from lstm_viz.runs.shared_runs import Subscription
from lstm_viz.ui import services
from lstm_viz.ui.session_jobs import Watched, release_on_disconnect

log = logging.getLogger(__name__)

RUN_KEY = "run"
# Set by start: the next run of the page is the first to draw the session's new run (dashboard.live_panel).
FIRST_DRAW_KEY = "first_draw"
# A live run's models and step-0 measurements take about 0.1-1 s to build. The rerun after the Start click waits up to
# this long for them, once it has drawn the sidebar and buttons, so that it draws the first charts itself instead of
# leaving them to the next refresh half a second later.
FIRST_SNAPSHOT_WAIT_SECONDS = 1.5


@dataclass
class SessionRun(Watched):
    subscription: Subscription | None = None  # the server run this session watches (services.hub)
    imported: Trainer | None = None  # or a finished run built from an uploaded model file (pages/import_model.py)
    trainer: Trainer | None = None  # the latest snapshot read: what the pages show, also after Stop
    # Increases with every new run of the session: widget keys and per-run memos start afresh.
    run_id: int = 0
    # Private models of the run's architectures to load checkpoints into (see `trace_model`).
    trace_models: dict = field(default_factory=dict)

    def job(self) -> Subscription | None:
        return self.subscription

    @property
    def config(self) -> RunConfig | None:
        if self.subscription is not None:
            return self.subscription.config
        return self.imported.config if self.imported is not None else None


def handle() -> SessionRun:
    """The session's run handle, made on first use."""
    return st.session_state.setdefault(RUN_KEY, SessionRun())


def subscription() -> Subscription | None:
    """The session's current run: where it comes from (`source`), its place in the queue, its replay."""
    return handle().subscription


def current_trainer() -> Trainer | None:
    """A consistent snapshot of the session's run, safe to read while training goes on; None before the session
    started one and while its run waits for a training slot. Also kept as the handle's `trainer`."""
    run = handle()
    if run.subscription is None:
        return run.imported
    trainer = run.subscription.snapshot()
    if trainer is not None:
        run.trainer = trainer
    return trainer


def trace_model(arch: str):
    """A private model of the run's architecture to load checkpoints into; the live model belongs to the training
    thread (and, on a shared run, to every session watching it). Built from the config, so it never copies a
    model while an optimiser steps it."""
    run = handle()
    if arch not in run.trace_models:
        config = run.config
        run.trace_models[arch] = build_model(config.model_config(arch), seed=config.seed)
    return run.trace_models[arch]


@dataclass(frozen=True)
class ExploredRun:
    trainer: Trainer
    # "session": trained in this session (maybe still training; this is a snapshot); "bundled": shipped in assets/.
    source: str
    # Names the run among this session's private models (`model`): the session's run counter, or the bundled run's
    # name. Figures shared across sessions are keyed by the run's identity instead (ui.memo.run_identity).
    run_key: object

    def model(self, arch: str):
        """A private model to load checkpoint weights into; never the training thread's or the shared bundled one."""
        if self.source == "session":
            return trace_model(arch)
        models = st.session_state.setdefault("bundled_models", {})
        if (self.run_key, arch) not in models:
            models[(self.run_key, arch)] = copy.deepcopy(self.trainer.runs[arch].model)
        return models[(self.run_key, arch)]


def session_explored(trainer: Trainer) -> ExploredRun:
    """`trainer` (a snapshot of this session's run) as the explorer pages show it."""
    return ExploredRun(trainer=trainer, source="session", run_key=handle().run_id)


def explored_run() -> ExploredRun:
    """What the explorer pages show: this session's run if it trained one, else the bundled run, so no page is empty."""
    trainer = current_trainer()
    if trainer is not None:
        return session_explored(trainer)
    return ExploredRun(trainer=load_bundled_run(EXPLORER_RUN), source="bundled", run_key=f"bundled:{EXPLORER_RUN}")


def is_running() -> bool:
    return handle().is_running()


def attach(joined: Subscription, *, running: bool) -> None:
    """Make `joined` the session's run: a fresh run id (new widget keys, no stale figures)."""
    run = handle()
    release_on_disconnect(joined, lambda job: job.release("stopped: the browser disconnected"))
    st.session_state[RUN_KEY] = SessionRun(subscription=joined, running=running, run_id=run.run_id + 1)


def show_finished(config: RunConfig) -> bool:
    """If `config`'s run has finished (cached on this server or shipped precomputed) and the session shows no run
    yet, make it the session's run, shown finished at once: charts, verdict, checkpoint slider. Nothing is trained.
    Returns whether it did."""
    run = handle()
    if run.subscription is not None or run.imported is not None or is_running():
        return False
    try:
        joined = services.hub().join_finished(config)
    except (LstmVizError, ValueError, KeyError, TypeError):
        return False  # settings that cannot run: Start explains why
    if joined is None:
        return False
    attach(joined, running=False)
    return True


def start(config: RunConfig) -> None:
    """Join the server's run of `config`: a new training in the background (after the queue, if every training slot
    is busy), the same training another session is running, or the finished run computed earlier or shipped
    precomputed. A refused config leaves the reason in `st.session_state["error"]`, which the buttons show."""
    state = st.session_state
    stop()
    state["error"] = None
    try:
        joined = services.hub().join(config, owner=services.session_owner())
    except ConfigError as exc:
        state["error"] = f"Check the settings: {exc}"
        return
    except (LstmVizError, ValueError, KeyError, RuntimeError) as exc:
        log.exception("could not start training")
        state["error"] = f"Could not start training: {exc}"
        return
    attach(joined, running=True)
    state[FIRST_DRAW_KEY] = True  # the rerun after this click is the first to draw the run


def replay() -> None:
    """Button callback: play the shown finished run's recorded history back, as if it trained live."""
    config = handle().config
    if config is not None:
        start(config)


def wait_for_first_snapshot() -> bool:
    """Whether the session's run has its first snapshot, waiting up to FIRST_SNAPSHOT_WAIT_SECONDS for a live run
    being built (not for one queued for a training slot: the page shows its place in the queue instead)."""
    joined = subscription()
    if joined is None:
        return False
    if joined.replay is not None:  # a replay has its snapshot at once
        return True
    return joined.worker.wait_built(FIRST_SNAPSHOT_WAIT_SECONDS)


def explore_imported(trainer: Trainer) -> None:
    """Make a finished run built from an uploaded model (lstm_viz.io.model_upload) the session's run, as if trained
    here: the Train page and every explorer page then show it. Stops this session's training, if any."""
    stop()
    st.session_state[RUN_KEY] = SessionRun(
        imported=trainer, trainer=trainer, run_id=handle().run_id + 1,
        trace_models={arch: copy.deepcopy(run.model) for arch, run in trainer.runs.items()})
    st.session_state["error"] = None


def skip_replay() -> None:
    """Button callback: show a replayed (cached) run finished at once."""
    joined = subscription()
    if joined is not None:
        joined.skip()


def stop() -> None:
    run = handle()
    if run.subscription is not None and run.subscription.alive:
        run.subscription.stop()
        run.trainer = run.subscription.snapshot()
    run.running = False


def poll() -> bool:
    """Called on every refresh: True when the run ended since the last call (the page then reruns once)."""
    run = handle()
    if not run.ended():
        return False
    joined = run.subscription
    trainer = joined.snapshot()
    run.trainer = trainer
    if joined.error is not None:
        error = joined.error
        step = trainer.step if trainer is not None else 0
        st.session_state["error"] = (
            f"Training stopped at step {step} because of an unexpected error: "
            f"{type(error).__name__}: {error}. The charts show the run up to that point; try other settings or start again."
        )
    return True
