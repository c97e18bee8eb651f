"""Settings in `st.session_state`, and the session's training thread: Start builds a Trainer and trains it in
the background, Stop ends it, and the page reads snapshots."""
from __future__ import annotations

import copy
import logging
import threading
from dataclasses import dataclass, replace

import streamlit as st
import torch

from lstm_viz.runs.bundled import BUNDLED_RUNS, EXPLORER_RUN, load_bundled_run, precomputed_run
from lstm_viz.rules.errors import ConfigError, LstmVizError
from lstm_viz.runs.presets import DEFAULT_PRESET, PRESETS, departures, describe_config
from lstm_viz.core.model import build_model
from lstm_viz.runs.scheduler import Scheduler
from lstm_viz.runs.shared_runs import RunHub, Subscription
from lstm_viz.core.tasks import TASKS
from lstm_viz.core.trainer import RunConfig, Trainer
from . import data_sharing  # noqa: F401 - tells the data store which session is asking (private uploads)

log = logging.getLogger(__name__)

# Training runs in a background thread (lstm_viz.runs.background); the live fragment only draws a snapshot,
# twice a second. Drawing in the training thread instead left it training 66-76% of the wall time.
REFRESH_SECONDS = 0.5
# On a busy server the charts refresh less often, so every page keeps answering within about two seconds: Streamlit
# runs every session's scripts in one process (one core's worth of Python), and at the full rate 20 sessions asked
# for 2.5x more drawing than it could do (bench/load.py). Up to this many active sessions refresh at the full rate;
# beyond it the interval grows in proportion.
FULL_RATE_VIEWERS = 5


def refresh_scale() -> float:
    """1 on a quiet server; n / FULL_RATE_VIEWERS with n sessions watching a run."""
    return max(1.0, hub().active_viewers() / FULL_RATE_VIEWERS)


# A run whose page stopped asking for snapshots (tab closed without a clean disconnect) stops itself.
# Generous, because browsers slow the timers of background tabs.
UNWATCHED_TIMEOUT_SECONDS = 180
SWITCH_TO_TRAIN_KEY = "switch_to_train"
# A run built from an uploaded model file (pages/import_model.py); the session's run while no training thread exists.
IMPORTED_RUN_KEY = "imported_run"

# Widget keys whose values make up a RunConfig (plus the preset they started from), and the task's options
# (a dict, e.g. {"series": "airline"}; set by presets, empty for tasks without options).
SETTING_KEYS = (
    "preset", "task", "task_options", "length", "archs", "hidden_size", "num_layers", "learning_rate", "batch_size",
    "optimizer", "clip_enabled", "clip_threshold", "forget_bias", "seed", "max_steps", "train_to_budget",
)
DEFAULT_TASK = "adding"
# The Preset box: the preset the settings came from (`state["preset"]`, also in the address), or CUSTOM once any
# setting departs from it. Its own key, so that picking the same preset again is a change that resets to it.
PRESET_BOX_KEY = "preset_box"
CUSTOM = "custom"


@st.cache_resource
def _limit_torch_threads() -> None:
    # One thread per session: on 2 shared cores, more threads only make sessions fight.
    torch.set_num_threads(1)


def _leave_legacy_multipage_mode(entrypoint: bool) -> None:
    """Because a `pages/` folder exists, Streamlit starts in its legacy multipage mode and keeps it until some
    script calls st.navigation: the first visitor after a server start who opens /train directly got the
    page without app.py and a sidebar of file names ("app", "home", "train"). A page that app.py's navigation did
    not choose calls st.navigation itself, which ends that mode for the server, and reruns, through app.py this
    time. Public API only; covered by
    tests/test_browser.py::test_a_fresh_server_opened_on_the_train_page_shows_the_app_navigation, and by every
    AppTest run, which starts in the legacy mode."""
    from . import navigation

    if not entrypoint and not navigation.ran_through_app():
        st.navigation(navigation.app_pages(), position="hidden")
        st.rerun()


@st.cache_resource(show_spinner=False)
def _warm_precomputed_runs() -> threading.Thread:
    """Read the shipped runs from disk once per server, in the background, when the first visitor arrives: the
    first to press Start on a precomputed preset then waits for nothing (the first read takes seconds)."""
    def load() -> None:
        for name in BUNDLED_RUNS:
            try:
                load_bundled_run(name)
            except LstmVizError:
                log.warning("bundled run %s is missing or unreadable; it will be trained when asked for", name)

    thread = threading.Thread(target=load, name="lstm-viz-warm-runs", daemon=True)
    thread.start()
    return thread


def init_session(entrypoint: bool = False) -> None:
    """At the top of app.py and of every page (once per run): page config, thread limit, default settings.

    Pages call it too because Streamlit still auto-discovers `pages/`: a first visit to /train in a new session
    runs pages/train.py without app.py. The settings are kept across pages by lstm_viz.ui.page_url.
    """
    _leave_legacy_multipage_mode(entrypoint)
    st.set_page_config(layout="wide", page_title="LSTM Explorer", page_icon="🧠")
    _limit_torch_threads()
    _warm_precomputed_runs()
    state = st.session_state
    if "preset" not in state:
        apply_preset(DEFAULT_PRESET)
    state.setdefault("running", False)
    state.setdefault("trainer", None)
    state.setdefault("run_id", 0)
    state.setdefault("error", None)
    if state.pop(SWITCH_TO_TRAIN_KEY, False):
        st.switch_page("pages/train.py")


def apply_preset(name: str) -> None:
    """Load a preset's settings into the widgets' session-state keys."""
    config = PRESETS[name].config
    state = st.session_state
    state["preset"] = name
    state["task"] = config.task
    _set_task_options(config.task, config.task_options)
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
    state["train_to_budget"] = config.train_to_budget


def open_preset(name: str) -> None:
    """Button callback: load a preset (unless a run is going) and go to the Train page on this run.

    A callback, not `if st.button(...)`, because a callback's effect survives the one rerun
    `_leave_legacy_multipage_mode` may make, while a button's return value does not."""
    if not is_running():
        apply_preset(name)
    st.session_state[SWITCH_TO_TRAIN_KEY] = True


def on_preset_change() -> None:
    """The Preset box's callback: a preset picked (even the one the custom settings came from) resets to it."""
    choice = st.session_state[PRESET_BOX_KEY]
    if choice in PRESETS:
        apply_preset(choice)


def preset_departures() -> list[str]:
    """The settings that differ from the preset they started from ("hidden size 64 → 32"); empty when none does."""
    try:
        config = config_from_settings()
    except (KeyError, TypeError, ValueError):
        return ["settings"]
    return departures(config, st.session_state["preset"])


def preset_box_options() -> list[str]:
    """The Preset box's options and value for this run: CUSTOM comes first, and is chosen, once the settings depart."""
    custom = bool(preset_departures())
    st.session_state[PRESET_BOX_KEY] = CUSTOM if custom else st.session_state["preset"]
    return [CUSTOM, *PRESETS] if custom else list(PRESETS)


def preset_label(choice: str, origin: str) -> str:
    """The Preset box's text for `choice`; CUSTOM names the preset `origin` the settings came from. Pure (AppTest
    calls a widget's format function outside the script run)."""
    return f"Custom (from {PRESETS[origin].title})" if choice == CUSTOM else PRESETS[choice].title


def settings_title_and_description() -> tuple[str, str]:
    """What the settings train, for the page: the preset's own title and story while they are the preset's, else
    "Custom (from ...)" and a description generated from the actual settings."""
    preset = PRESETS[st.session_state["preset"]]
    changes = preset_departures()
    if not changes:
        return preset.title, preset.description
    try:
        described = describe_config(config_from_settings())
    except (KeyError, TypeError, ValueError):
        described = ""
    title = preset_label(CUSTOM, st.session_state["preset"])
    return title, f"{described}\n\n**Changed from the preset:** {'; '.join(changes)}."


def on_task_change() -> None:
    # Each task has its own length range; its default length is the one that tells its story.
    state = st.session_state
    state["length"] = TASKS[state["task"]].default_length
    preset = PRESETS[state["preset"]].config
    if preset.task == state["task"]:
        _set_task_options(preset.task, preset.task_options)


def _set_task_options(task: str, options) -> None:
    """A preset runs its task with its own options (none: the task's defaults); other tasks keep theirs. Only
    non-empty options are kept, so a link to a task without options carries none."""
    per_task = {name: value for name, value in dict(st.session_state.get("task_options") or {}).items() if name != task}
    if options:
        per_task[task] = dict(options)
    st.session_state["task_options"] = per_task


def sync_settings_with_url():
    """The Train page's settings in the address (page_schemas.TRAIN): `?preset=forget-bias` alone opens that preset;
    every other setting given overrides it. Returns the page's PageView (its warning names refused values)."""
    from . import page_schemas, page_url

    def open_preset_from_link(name: str) -> None:
        if not is_running():  # a run's settings stay as it started; the address then shows them again
            apply_preset(name)

    def open_task_from_link(task: str) -> None:
        state = st.session_state
        if not is_running() and task != state["task"]:
            state["task"] = task
            on_task_change()

    return page_url.sync(page_schemas.TRAIN, apply={"preset": open_preset_from_link, "task": open_task_from_link})


def config_from_settings() -> RunConfig:
    state = st.session_state
    base = PRESETS[state["preset"]].config
    return replace(
        base,
        task=state["task"],
        # Options of data-backed tasks, per task name (e.g. {"forecast": {"series": "co2"}}): set by presets, by the
        # task's own controls, or by the page that validated an upload; switching tasks keeps each task's options.
        task_options=dict(state.get("task_options") or {}).get(state["task"], {}),
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
        train_to_budget=bool(state.get("train_to_budget", base.train_to_budget)),
    )


@st.cache_resource(show_spinner=False, on_release=lambda scheduler: scheduler.shutdown())
def scheduler() -> Scheduler:
    """The server's one scheduler: every background job of every page (trainings, sweep points, the Gradient lab's
    runs, model imports) takes one of its LSTM_VIZ_MAX_TRAININGS slots, capped at LSTM_VIZ_RUN_SECONDS each."""
    return Scheduler()


def session_owner() -> str:
    """Whose turn a job takes in the scheduler's fair queue: this browser session (a random id kept in its state)."""
    import uuid

    return st.session_state.setdefault("_scheduler_owner", uuid.uuid4().hex)


def run_job(compute, *, kind: str, units: float, label: str):
    """`compute(ticket)` as a job of the server's scheduler, from a page: blocks this script run until it is done,
    showing the job's place in the queue and its estimated wait meanwhile. Leaving the page cancels the job.
    Returns its result (None if the scheduler stopped it); re-raises its error."""
    from lstm_viz.runs.scheduler import describe_wait, wait_for

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


@st.cache_resource(show_spinner=False, on_release=lambda hub: hub.shutdown())
def hub() -> RunHub:
    """The server's runs, shared by every session: same configuration and seed, one training (lstm_viz.runs.shared_runs).
    Its limits come from the environment: LSTM_VIZ_MAX_TRAININGS, LSTM_VIZ_RUN_SECONDS, LSTM_VIZ_TORCH_THREADS."""
    return RunHub(precomputed=precomputed_run, unwatched_timeout=UNWATCHED_TIMEOUT_SECONDS, scheduler=scheduler())


@st.cache_resource(scope="session", show_spinner=False,
                   on_release=lambda subscriptions: [s.release("stopped: the browser disconnected") for s in subscriptions])
def _session_subscriptions() -> list[Subscription]:
    """This session's runs; Streamlit releases the list when the session disconnects, which lets go of each run
    (a live training stops when no other session watches it)."""
    return []


def _worker() -> Subscription | None:
    return st.session_state.get("worker")


def subscription() -> Subscription | None:
    """The session's current run: where it comes from (`source`), its place in the queue, its replay."""
    return _worker()


def current_trainer() -> Trainer | None:
    """A consistent snapshot of the session's run, safe to read while training goes on; None before the session
    started one and while its run waits for a training slot. Also kept as `st.session_state["trainer"]`."""
    worker = _worker()
    if worker is None:
        return st.session_state.get(IMPORTED_RUN_KEY)
    trainer = worker.snapshot()
    if trainer is not None:
        st.session_state["trainer"] = trainer
    return trainer


def trace_model(arch: str):
    """A private model of the run's architecture to load checkpoints into; the live model belongs to the training
    thread (and, on a shared run, to every session watching it). Built from the config, so it never copies a
    model while an optimiser steps it."""
    models = st.session_state.setdefault("trace_models", {})
    if arch not in models:
        worker = _worker()
        config = worker.config if worker is not None else st.session_state[IMPORTED_RUN_KEY].config
        models[arch] = build_model(config.model_config(arch), seed=config.seed)
    return models[arch]


@dataclass(frozen=True)
class ExploredRun:
    trainer: Trainer
    # "session": trained in this session (maybe still training; this is a snapshot); "bundled": shipped in assets/.
    source: str
    # Keys per-run memos (views._memo): the session's run counter, or the bundled run's name.
    run_key: object

    def model(self, arch: str):
        """A private model to load checkpoint weights into; never the training thread's or the shared bundled one."""
        if self.source == "session":
            return trace_model(arch)
        models = st.session_state.setdefault("bundled_models", {})
        if (self.run_key, arch) not in models:
            models[(self.run_key, arch)] = copy.deepcopy(self.trainer.runs[arch].model)
        return models[(self.run_key, arch)]


def explored_run() -> ExploredRun:
    """What the explorer pages show: this session's run if it trained one, else the bundled run, so no page is empty."""
    trainer = current_trainer()
    if trainer is not None:
        return ExploredRun(trainer=trainer, source="session", run_key=st.session_state.get("run_id", 0))
    return ExploredRun(trainer=load_bundled_run(EXPLORER_RUN), source="bundled", run_key=f"bundled:{EXPLORER_RUN}")


def is_running() -> bool:
    worker = _worker()
    return bool(st.session_state.get("running")) and worker is not None and worker.alive


def opened_from_link() -> bool:
    """Whether the address carries Train settings this session did not write: a shared link, a reload of one, or
    back/forward. Call it before sync_settings_with_url, which writes the address."""
    from . import page_schemas, page_url

    return page_url.from_address(page_schemas.TRAIN)


def show_finished_run() -> bool:
    """If the settings' run has finished (cached on this server or shipped precomputed) and the session shows no
    run yet, make it the session's run, shown finished at once: charts, verdict, checkpoint slider. Nothing is
    trained. Returns whether it did."""
    state = st.session_state
    if _worker() is not None or state.get(IMPORTED_RUN_KEY) is not None or is_running():
        return False
    try:
        joined = hub().join_finished(config_from_settings())
    except (LstmVizError, ValueError, KeyError, TypeError):
        return False  # settings that cannot run: Start explains why
    if joined is None:
        return False
    _attach(joined)
    state["running"] = False
    return True


def replay_run() -> None:
    """Button callback: play the shown finished run's recorded history back, as if it trained live."""
    worker = _worker()
    start_training(worker.config if worker is not None else None)


def _attach(joined: Subscription) -> None:
    """Make `joined` the session's run: a fresh run id (new widget keys, no stale figures)."""
    state = st.session_state
    state.pop(IMPORTED_RUN_KEY, None)
    state["trace_models"] = {}
    state["trainer"] = None
    state["run_id"] = state.get("run_id", 0) + 1
    state["figure_cache"] = {}
    subscriptions = _session_subscriptions()
    subscriptions[:] = [s for s in subscriptions if s.alive]
    subscriptions.append(joined)
    state["worker"] = joined


def start_training(config: RunConfig | None = None) -> None:
    """Button callback: join the server's run of the settings' configuration (or of `config`): a new training in the
    background (after the queue, if every training slot is busy), the same training another session is running,
    or the finished run computed earlier or shipped precomputed."""
    state = st.session_state
    stop_training()
    state["error"] = None
    try:
        joined = hub().join(config if config is not None else config_from_settings(), owner=session_owner())
    except ConfigError as exc:
        state["error"] = f"Check the settings: {exc}"
        return
    except (LstmVizError, ValueError, KeyError, RuntimeError) as exc:
        log.exception("could not start training")
        state["error"] = f"Could not start training: {exc}"
        return
    _attach(joined)
    state["running"] = True
    state[FIRST_DRAW_KEY] = True  # the rerun after this click is the first to draw the run


# Set by start_training: the next run of the page is the first to draw the session's new run (dashboard.live_panel).
FIRST_DRAW_KEY = "first_draw"
# A live run's models and step-0 measurements take about 0.1-1 s to build. The rerun after the Start click waits up to
# this long for them, once it has drawn the sidebar and buttons, so that it draws the first charts itself instead of
# leaving them to the next refresh half a second later.
FIRST_SNAPSHOT_WAIT_SECONDS = 1.5


def wait_for_first_snapshot() -> bool:
    """Whether the session's run has its first snapshot, waiting up to FIRST_SNAPSHOT_WAIT_SECONDS for a live run
    being built (not for one queued for a training slot: the page shows its place in the queue instead)."""
    joined = _worker()
    if joined is None:
        return False
    if joined.replay is not None:  # a replay has its snapshot at once
        return True
    return joined.worker.wait_built(FIRST_SNAPSHOT_WAIT_SECONDS)


def explore_imported(trainer: Trainer) -> None:
    """Make a finished run built from an uploaded model (lstm_viz.io.model_upload) the session's run, as if trained here:
    the Train page and every explorer page then show it. Stops this session's training, if any."""
    state = st.session_state
    stop_training()
    state["worker"] = None
    state[IMPORTED_RUN_KEY] = trainer
    state["trace_models"] = {arch: copy.deepcopy(run.model) for arch, run in trainer.runs.items()}
    state["trainer"] = trainer
    state["run_id"] = state.get("run_id", 0) + 1
    state["figure_cache"] = {}
    state["error"] = None


def skip_replay() -> None:
    """Button callback: show a replayed (cached) run finished at once."""
    worker = _worker()
    if worker is not None:
        worker.skip()


def stop_training() -> None:
    worker = _worker()
    if worker is not None and worker.alive:
        worker.stop()
        st.session_state["trainer"] = worker.snapshot()
    st.session_state["running"] = False


def poll_training() -> bool:
    """Called on every refresh: True when the run ended since the last call (the page then reruns once)."""
    worker = _worker()
    if worker is None or not st.session_state.get("running") or worker.alive:
        return False
    st.session_state["running"] = False
    trainer = worker.snapshot()
    st.session_state["trainer"] = trainer
    if worker.error is not None:
        error = worker.error
        step = trainer.step if trainer is not None else 0
        st.session_state["error"] = (
            f"Training stopped at step {step} because of an unexpected error: "
            f"{type(error).__name__}: {error}. The charts show the run up to that point; try other settings or start again."
        )
    return True
