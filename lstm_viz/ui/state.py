"""The Train page's settings in `st.session_state` (presets, the task's options, the RunConfig they make), the
session's set-up that every page runs first, and the buttons' callbacks that start, replay and stop the session's run.

The run itself is tracked by one handle (lstm_viz.ui.session_run); the server's scheduler and shared runs live in
lstm_viz.ui.services."""
from __future__ import annotations

import logging
import threading
from dataclasses import replace

import streamlit as st
import torch

from lstm_viz.core.tasks import TASKS
from lstm_viz.core.trainer import RunConfig
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.runs.bundled import BUNDLED_RUNS, load_bundled_run
from lstm_viz.runs.presets import DEFAULT_PRESET, PRESETS, departures, describe_config
from lstm_viz.ui import data_sharing  # noqa: F401 - tells the data store which session is asking (private uploads)
from lstm_viz.ui.session_run import handle, is_running, show_finished, start, subscription

log = logging.getLogger(__name__)

# Training runs in a background thread (lstm_viz.runs.background); the live fragment only draws a snapshot,
# twice a second. Drawing in the training thread instead left it training 66-76% of the wall time.
REFRESH_SECONDS = 0.5
SWITCH_TO_TRAIN_KEY = "switch_to_train"

# Widget keys whose values make up a RunConfig (plus the preset they started from), and the task's options
# (a dict, e.g. {"series": "airline"}; set by presets, empty for tasks without options).
SETTING_KEYS = (
    "preset", "task", "task_options", "length", "archs", "hidden_size", "num_layers", "learning_rate", "batch_size",
    "optimizer", "clip_enabled", "clip_threshold", "forget_bias", "seed", "max_steps", "train_to_budget",
    "heads", "positions",
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
    from lstm_viz.ui import navigation

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
    handle()
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
    state["heads"] = config.heads
    state["positions"] = config.positions


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
    from lstm_viz.ui import page_schemas, page_url

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
        heads=int(state.get("heads", base.heads)),
        positions=state.get("positions", base.positions),
    )


def opened_from_link() -> bool:
    """Whether the address carries Train settings this session did not write: a shared link, a reload of one, or
    back/forward. Call it before sync_settings_with_url, which writes the address."""
    from lstm_viz.ui import page_schemas, page_url

    return page_url.from_address(page_schemas.TRAIN)


def show_finished_run() -> bool:
    """If the settings' run has finished (cached here or shipped precomputed) and the session shows no run yet,
    show it finished at once (session_run.show_finished). Returns whether it did."""
    try:
        config = config_from_settings()
    except (KeyError, TypeError, ValueError):
        return False
    return show_finished(config)


def replay_run() -> None:
    """Button callback: play the shown finished run's recorded history back, as if it trained live."""
    joined = subscription()
    start(joined.config if joined is not None else config_from_settings())


def start_training(config: RunConfig | None = None) -> None:
    """Button callback: join the server's run of the settings' configuration (or of `config`), see session_run.start."""
    start(config if config is not None else config_from_settings())

