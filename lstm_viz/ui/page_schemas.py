"""Every page's view settings, one table per page (lstm_viz.ui.page_state.PageSchema): each key's default, the
validator its address text must pass, and the widget drawn under it. lstm_viz.ui.page_url reads and writes them.

Below every view module: the views import these tables (and the ranges and defaults their widgets share with them),
never the reverse; ranges come from the engine. What only the run shown can say (which checkpoints, which
units, which task features) the page checks with PageView.fit, which falls back and names a value the address gave.
Keys are unique across pages by their prefix (gm_, glab_, cell_, try_, forecast_, sweep_, tr_, deploy_, lab_, gest_, music_; the Train page's
settings have none).
"""
from __future__ import annotations

import functools

import streamlit as st

from lstm_viz.analysis import memory
from lstm_viz.analysis.jacobians import CLIPPING_STEPS
from lstm_viz.analysis.text_generation import MAX_SAMPLE_CHARACTERS, TEMPERATURE_RANGE
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.architectures.transformer import POSITION_KINDS
from lstm_viz.core.model import FORGET_BIAS_RANGE, HIDDEN_SIZE_RANGE, LAYER_RANGE
from lstm_viz.core.tasks import TASKS, TRANSLATION_TASKS
from lstm_viz.core.tasks.translation_base import MAX_TYPED_CHARACTERS
from lstm_viz.core.trainer import (
    BATCH_SIZE_RANGE, CLIP_RANGE, LEARNING_RATE_RANGE, MAX_STEPS_RANGE, OPTIMIZERS, SEED_RANGE, RunConfig,
)
from lstm_viz.data import datastore
from lstm_viz.practices import baseline, normalisation, overfitting
from lstm_viz.practices.lengths import LengthsConfig
from lstm_viz.practices.stacking import StackingConfig
from lstm_viz.practices.tuning import TuningConfig
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.rules.ranges import BEAM_WIDTH_RANGE, HEADS_RANGE
from lstm_viz.rules.ranges import (
    LAB_HIDDEN_RANGE, LAB_LENGTH_RANGE, LAB_LENGTH_STEPS_RANGE, LAB_STACK_STEPS_RANGE, LAB_TUNE_BATCH_SIZES,
    LAB_TUNE_HIDDEN_SIZES, LAB_TUNE_LEARNING_RATES, LAB_TUNE_STEPS_RANGE,
)
from lstm_viz.runs.bundled import BRACKETS_RUN, SENTIMENT_RUN
from lstm_viz.runs.bundled import EXPLORER_RUN  # Deploy small's default model
from lstm_viz.runs.presets import DEFAULT_PRESET, PRESETS
from lstm_viz.runs.sweep import DEFAULT_SWEEP, MAX_SEEDS, STEPS_PER_POINT_RANGE
from lstm_viz.ui import page_url
from lstm_viz.ui.page_state import Digits, Field, ListOf, PageSchema, name, one_of, real, texts, whole

LATEST = -1  # a checkpoint's or probe's step: the latest; an example, time step or unit: "pick for me"
ANY_STEP = whole(-1, 10**9)
ANY_INDEX = whole(-1, 10**6)
ANY_LAYER = whole(0, LAYER_RANGE[1] - 1)
ARCHS = one_of(ARCHITECTURES)
# The text boxes of Try it and Gates and memory (the widgets' max_chars read these).
TEXT_LIMITS = {"try_text": 2000, "try_paste": 1000, "try_prompt": 200, "gm_text": 2000}

# ----- shared by every page -----
APP = PageSchema("app", (Field("presenter", False, widget="toggle", always_in_address=False),), shared=True)

HOME = PageSchema("home", (), path="pages/home.py")
IMPORT_MODEL = PageSchema("import_model", (), path="pages/import_model.py")  # a file cannot be in a link


# ----- Train -----
def _valid_task_options(options_per_task: dict) -> bool:
    """{task name: options}: every named task must exist and accept its options."""
    try:
        for task, options in options_per_task.items():
            if task not in TASKS or not isinstance(options, dict):
                return False
            # The same checks as every other way in: option names and values typed and bounded, then the task's own.
            RunConfig(task=task, length=TASKS[task].default_length, task_options=options).validate()
    except datastore.PrivateDataError as error:
        st.session_state["error"] = str(error)  # shown by the Start/Stop buttons: why the link's data did not open
        return False
    except (LstmVizError, TypeError, ValueError, KeyError, AttributeError):
        return False
    return True


def _length_fits_task(length, current) -> bool:
    task = TASKS.get(current.get("task"))
    return task is not None and whole(task.min_length, task.max_length)(length)


_preset = PRESETS[DEFAULT_PRESET].config
TRAIN = PageSchema("train", (
    Field("preset", DEFAULT_PRESET, one_of(PRESETS)),  # its box is the preset_box widget, CUSTOM once departed
    Field("task", _preset.task, one_of(TASKS), "selectbox"),
    Field("task_options", {_preset.task: dict(_preset.task_options)} if _preset.task_options else {},
          _valid_task_options),
    Field("length", _preset.length, whole(1, 10**6), "number_input", valid_given=_length_fits_task),
    Field("archs", list(_preset.archs), ListOf(tuple(ARCHITECTURES)), "multiselect"),
    Field("hidden_size", _preset.hidden_size, whole(*HIDDEN_SIZE_RANGE), "number_input"),
    Field("num_layers", _preset.num_layers, whole(*LAYER_RANGE), "number_input"),
    Field("learning_rate", _preset.learning_rate, real(*LEARNING_RATE_RANGE), "number_input"),
    Field("batch_size", _preset.batch_size, whole(*BATCH_SIZE_RANGE), "number_input"),
    Field("optimizer", _preset.optimizer, one_of(OPTIMIZERS), "selectbox"),
    Field("clip_enabled", _preset.clip_grad_norm is not None, widget="toggle"),
    Field("clip_threshold", _preset.clip_grad_norm if _preset.clip_grad_norm is not None else 1.0, real(*CLIP_RANGE),
          "number_input"),
    Field("forget_bias", float(_preset.forget_bias), real(*FORGET_BIAS_RANGE), "number_input"),
    Field("seed", _preset.seed, whole(*SEED_RANGE), "number_input"),
    Field("max_steps", _preset.max_steps, whole(*MAX_STEPS_RANGE), "number_input"),
    Field("train_to_budget", _preset.train_to_budget, widget="toggle"),
    # The Transformer's knobs: in the address only when changed, so the links of recurrent runs stay as they were.
    Field("heads", _preset.heads, whole(*HEADS_RANGE), "selectbox", always_in_address=False),
    Field("positions", _preset.positions, one_of(POSITION_KINDS), "segmented_control", always_in_address=False),
), warning="The link's value for {keys} is not possible here; the defaults are used instead.", path="pages/train.py")

# ----- Try it -----
DEFAULT_SENTENCE = "good food but the service was not great . we went there on a tuesday with my sister ."
DEFAULT_BRACKETS = 'f(a [b c] {"(not a bracket)" d})\nx[{e} (g h)]'
TRY_IT = PageSchema("try_it", (
    # "auto": the session's text run if it has one, else the first bundled run; "session": the session's run.
    Field("try_source", "auto", one_of(("auto", "session", SENTIMENT_RUN, BRACKETS_RUN)), "radio"),
    Field("try_arch", "lstm", ARCHS, "segmented_control"),
    Field("try_text", DEFAULT_SENTENCE, texts(TEXT_LIMITS["try_text"]), "text_input"),
    Field("try_paste", DEFAULT_BRACKETS, texts(TEXT_LIMITS["try_paste"]), "text_area"),
    Field("try_temperature", 0.8, real(*TEMPERATURE_RANGE), "slider"),
    Field("try_sample_length", 300, whole(1, MAX_SAMPLE_CHARACTERS), "slider"),
    Field("try_prompt", "(", texts(TEXT_LIMITS["try_prompt"]), "text_input"),
    Field("try_seed", 0, whole(*SEED_RANGE), "number_input"),
    Field("try_feature", "nesting depth", name(), "radio"),  # the task's features: the page fits it to the run
), warning="Ignored values in the address that do not fit this page: {keys}; their defaults are shown.",
    path="pages/try_it.py")

# ----- Forecast and anomalies -----
FORECAST = PageSchema("forecast", (
    Field("forecast_anomaly_seed", 0, whole(*SEED_RANGE), "number_input"),
    Field("forecast_detector", "lstm", one_of((*ARCHITECTURES, "naive")), "segmented_control"),
), warning="Ignored values in the address that do not fit this page: {keys}; their defaults are shown.",
    path="pages/forecast.py")

# ----- Gates and memory -----
THRESHOLD_RANGE = (0.0, 10.0)  # "on" above this, in the span search (the widget and the field read it)
GM_SOURCES = ("test", "probe", "text")
GM_PICKS = {"active": "most active", "feature": "most correlated with the feature", "hand": "by hand"}
GM_SEARCHES = {"feature": "a task feature", "span": "a span of this example"}
GM_STATES = ("cell_state", "hidden_state")
GATES_MEMORY = PageSchema("gates_memory", (
    Field("gm_arch", "", ARCHS, "selectbox"),  # "": the LSTM if the run has one
    Field("gm_step", LATEST, ANY_STEP, "select_slider"),
    Field("gm_layer", 0, ANY_LAYER, "selectbox"),
    Field("gm_source", "test", one_of(GM_SOURCES), "radio"),
    Field("gm_example", 1, whole(1, 10**6), "number_input"),
    Field("gm_probe", 1, whole(1, 10**6), "segmented_control"),
    Field("gm_text", "", texts(TEXT_LIMITS["gm_text"]), "text_input"),
    Field("gm_order", "clustered", one_of(memory.ORDERINGS), "selectbox"),
    Field("gm_pick", "active", one_of(GM_PICKS), "radio"),
    Field("gm_units", [], ListOf(max_items=12), "multiselect", items=int),
    Field("gm_state", "cell_state", one_of(GM_STATES), "selectbox"),
    Field("gm_search", "feature", one_of(GM_SEARCHES), "radio"),
    Field("gm_feature", "", name(), "selectbox"),  # the task's features: the page fits it to the run
    Field("gm_span_start", LATEST, ANY_INDEX),  # both ends of the gm_span slider
    Field("gm_span_end", LATEST, ANY_INDEX),
    Field("gm_span_method", "contrast", one_of(memory.SPAN_METHODS), "selectbox"),
    Field("gm_threshold", 0.3, real(*THRESHOLD_RANGE), "number_input"),
    Field("gm_compare", True, widget="toggle"),
    Field("gm_head", 0, whole(0, HEADS_RANGE[1] - 1), "selectbox"),  # the Transformer's attention head
), warning="Ignored unreadable values in the address: {keys}.", path="pages/gates_memory.py")

# ----- Gradient flow lab -----
GLAB_TABS = ("Over training", "Why it vanishes", "Forget-gate bias", "Clamp the forget gate", "Recurrent weight scale",
             "Gradient clipping")
GRADIENT_LAB = PageSchema("gradient_lab", (
    Field("glab_tab", GLAB_TABS[0], one_of(GLAB_TABS), "tabs"),
    Field("glab_step", LATEST, ANY_STEP, "select_slider"),  # LATEST: the run's latest probe
    Field("glab_layer", 0, ANY_LAYER, "selectbox"),
    Field("glab_relative", True, widget="toggle"),
    Field("glab_play", False, widget="toggle"),
    Field("glab_example", 0, whole(0, 10**6), "segmented_control"),
    Field("glab_clamp", 0.95, real(0.0, 1.0), "slider"),
    Field("glab_clip_arch", "rnn", ARCHS, "selectbox"),
    Field("glab_clip_opt", "sgd", name(), "selectbox"),  # the lab's optimiser choices: the page fits it
    Field("glab_clip_steps", 200, one_of(CLIPPING_STEPS), "selectbox"),
), warning="Settings that do not fit this run were reset to their defaults: {keys}.", path="pages/gradient_lab.py")

# ----- Inside the cell -----
# The sandbox's sliders: one LSTM unit set by hand (the page's sliders read the ranges here).
SANDBOX_DEFAULTS = {
    "cell_sb_x": 0.5, "cell_sb_h": 0.0, "cell_sb_c": 0.5,
    "cell_sb_bi": 0.0, "cell_sb_bf": 1.0, "cell_sb_bg": 0.0, "cell_sb_bo": 0.0,
}
SANDBOX_RANGES = {
    "cell_sb_x": (-3.0, 3.0), "cell_sb_h": (-1.0, 1.0), "cell_sb_c": (-3.0, 3.0),
    "cell_sb_bi": (-6.0, 6.0), "cell_sb_bf": (-6.0, 6.0), "cell_sb_bg": (-6.0, 6.0), "cell_sb_bo": (-6.0, 6.0),
}
CELL_MODES = ("trained", "sandbox")
INSIDE_CELL = PageSchema("inside_cell", (
    Field("cell_mode", "trained", one_of(CELL_MODES), "radio"),
    Field("cell_arch", "lstm", ARCHS, "radio"),
    Field("cell_example", 0, ANY_INDEX, "selectbox"),
    Field("cell_checkpoint", LATEST, ANY_STEP, "select_slider"),  # LATEST: the last checkpoint
    Field("cell_layer", 0, ANY_LAYER, "selectbox"),
    Field("cell_step", LATEST, ANY_INDEX, "slider"),  # LATEST: the first step the task marks, else the last
    Field("cell_unit", LATEST, ANY_INDEX, "number_input"),  # LATEST: the unit that holds its memory best
    Field("cell_head", 0, whole(0, HEADS_RANGE[1] - 1), "selectbox"),  # the Transformer's attention head
    *(Field(key, default, real(*SANDBOX_RANGES[key]), "slider") for key, default in SANDBOX_DEFAULTS.items()),
), warning="Ignored values in the address that do not fit this page: {keys}.", path="pages/inside_cell.py")


# ----- Length sweep -----
@functools.cache
def sweep_tasks() -> tuple[str, ...]:
    """Tasks a sweep can run: those that train with no task options (data-backed tasks need a choice of data)."""
    names = []
    for task_name, task in TASKS.items():
        try:
            RunConfig(task=task_name, length=task.default_length).make_task()
        except LstmVizError:
            continue
        names.append(task_name)
    return tuple(names)


LENGTH_SWEEP = PageSchema("length_sweep", (
    Field("sweep_task", DEFAULT_SWEEP.task, lambda value: value in sweep_tasks(), "selectbox"),
    Field("sweep_lengths", [str(length) for length in DEFAULT_SWEEP.lengths], Digits(64), "multiselect"),
    Field("sweep_archs", list(DEFAULT_SWEEP.archs), ListOf(tuple(ARCHITECTURES)), "multiselect"),
    Field("sweep_seeds", len(DEFAULT_SWEEP.seeds), whole(1, MAX_SEEDS), "number_input"),
    Field("sweep_steps", DEFAULT_SWEEP.steps_per_point, whole(*STEPS_PER_POINT_RANGE), "number_input"),
    Field("sweep_hidden", DEFAULT_SWEEP.hidden_size, whole(*HIDDEN_SIZE_RANGE), "number_input"),
    Field("sweep_lr", DEFAULT_SWEEP.learning_rate, real(*LEARNING_RATE_RANGE), "number_input"),
    Field("sweep_batch", DEFAULT_SWEEP.batch_size, whole(*BATCH_SIZE_RANGE), "number_input"),
), warning="Some settings in the link could not be used and were reset: {keys}.", path="pages/length_sweep.py")

# ----- Translate -----
TR_QUANTITIES = ("cell_state", "hidden_state", "input_gate", "forget_gate", "output_gate", "candidate",
                 "reset_gate", "update_gate")  # what the gate heatmaps show; a GRU has no cell state (page fits it)
TR_MODELS = ("shipped", "session")  # the models in assets/runs/translation, or the ones trained in this session
TR_STEPS_RANGE = (100, 4000)
TR_CELLS = ("lstm", "gru")  # the recurrent cell of the encoder and decoder a session trains (the shipped: LSTM)
TRANSLATE = PageSchema("translate", (
    Field("tr_task", "dates", one_of(TRANSLATION_TASKS), "selectbox"),
    Field("tr_text", TRANSLATION_TASKS["dates"].example_inputs[0], texts(MAX_TYPED_CHARACTERS), "text_input"),
    Field("tr_beam", 3, whole(*BEAM_WIDTH_RANGE), "slider"),
    Field("tr_quantity", "cell_state", one_of(TR_QUANTITIES), "selectbox"),
    Field("tr_models", "shipped", one_of(TR_MODELS), "radio"),
    Field("tr_steps", 1000, whole(*TR_STEPS_RANGE), "number_input"),
    Field("tr_cell", "lstm", one_of(TR_CELLS), "radio"),
), warning="Ignored values in the address that do not fit this page: {keys}; their defaults are shown.",
    path="pages/translate.py")

# ----- Deploy small -----
# Which model: a shipped run (the adding problem's three cells, the sentiment reviews) or the session's own run.
DEPLOY_SOURCES = (EXPLORER_RUN, SENTIMENT_RUN, "session")
DEPLOY_FINE_TUNE_STEPS = (0, 25, 50, 100, 200)  # the pruned models' fine-tune; 0: pruned variants without one only
DEPLOY = PageSchema("deploy_small", (
    Field("deploy_source", EXPLORER_RUN, one_of(DEPLOY_SOURCES), "radio"),
    Field("deploy_arch", "lstm", ARCHS, "segmented_control"),  # the run's recurrent cells: the page fits it
    Field("deploy_fine_tune", 50, one_of(DEPLOY_FINE_TUNE_STEPS), "selectbox"),
), warning="Ignored values in the address that do not fit this page: {keys}; their defaults are shown.",
    path="pages/deploy_small.py")

# ----- Best-practice lab -----

OVERFIT, NORM, BASE = overfitting.OverfitSettings(), normalisation.NormSettings(), baseline.BaselineSettings()
# The practices in the order the page offers them; each has a section in lstm_viz.ui.lab.
LAB_PRACTICES = ("overfitting", "normalisation", "baseline", "lengths", "tuning", "stacking")
LAB_LEN_DEFAULT, LAB_TUNE_DEFAULT, LAB_STACK_DEFAULT = LengthsConfig(), TuningConfig(), StackingConfig()
LAB_LEN_CELLS = ("lstm", "gru", "rnn")  # the fused cells that take packed sequences
LAB_TUNE_LR_TEXTS = tuple(f"{value:g}" for value in LAB_TUNE_LEARNING_RATES)
LAB_TUNE_HIDDEN_TEXTS = tuple(str(value) for value in LAB_TUNE_HIDDEN_SIZES)
LAB_TUNE_BATCH_TEXTS = tuple(str(value) for value in LAB_TUNE_BATCH_SIZES)
LAB_TUNE_VIEWS = ("metric", "steps", "seconds")  # what the tuning heatmap colours
LAB = PageSchema("lab", (
    Field("lab_practice", LAB_PRACTICES[0], one_of(LAB_PRACTICES), "segmented_control"),
    # Overfitting, normalisation, the honest baseline (lstm_viz.practices): their settings; the rest fixed there.
    Field("lab_fit_series", OVERFIT.series, one_of(overfitting.SERIES_CHOICES), "selectbox"),
    Field("lab_fit_hidden", OVERFIT.hidden_size, one_of(overfitting.HIDDEN_CHOICES), "selectbox"),
    Field("lab_fit_steps", OVERFIT.steps, one_of(overfitting.STEP_CHOICES), "selectbox"),
    Field("lab_fit_dropout", OVERFIT.dropout, lambda value: value in overfitting.DROPOUT_CHOICES, "selectbox"),
    Field("lab_fit_decay", OVERFIT.weight_decay, lambda value: value in overfitting.DECAY_CHOICES, "selectbox"),
    Field("lab_fit_patience", OVERFIT.patience, one_of(overfitting.PATIENCE_CHOICES), "selectbox"),
    Field("lab_norm_series", NORM.series, one_of(normalisation.SERIES_CHOICES), "selectbox"),
    Field("lab_norm_arch", NORM.arch, one_of(normalisation.ARCH_CHOICES), "selectbox"),
    Field("lab_norm_steps", NORM.steps, one_of(normalisation.STEP_CHOICES), "selectbox"),
    Field("lab_base_series", list(BASE.series), ListOf(baseline.SERIES), "multiselect"),
    Field("lab_base_steps", BASE.steps, one_of(baseline.STEP_CHOICES), "selectbox"),
    # Consistent lengths (lstm_viz.ui.lab.lengths): the cell, the range of true lengths, the truncation, the budget.
    Field("lab_len_arch", LAB_LEN_DEFAULT.arch, one_of(LAB_LEN_CELLS), "segmented_control"),
    Field("lab_len_min", LAB_LEN_DEFAULT.min_length, whole(*LAB_LENGTH_RANGE), "number_input"),
    Field("lab_len_max", LAB_LEN_DEFAULT.max_length, whole(*LAB_LENGTH_RANGE), "number_input"),
    Field("lab_len_cut", LAB_LEN_DEFAULT.truncate_to, whole(*LAB_LENGTH_RANGE), "number_input"),
    Field("lab_len_hidden", LAB_LEN_DEFAULT.hidden_size, whole(*LAB_HIDDEN_RANGE), "number_input"),
    Field("lab_len_steps", LAB_LEN_DEFAULT.steps, whole(*LAB_LENGTH_STEPS_RANGE), "number_input"),
    # Tuning (lstm_viz.ui.lab.tuning): the grid's values per axis (as text: multiselect options), budget, view.
    Field("lab_tune_lrs", [f"{v:g}" for v in LAB_TUNE_DEFAULT.learning_rates],
          ListOf(LAB_TUNE_LR_TEXTS), "multiselect"),
    Field("lab_tune_hiddens", [str(v) for v in LAB_TUNE_DEFAULT.hidden_sizes],
          ListOf(LAB_TUNE_HIDDEN_TEXTS), "multiselect"),
    Field("lab_tune_batches", [str(v) for v in LAB_TUNE_DEFAULT.batch_sizes],
          ListOf(LAB_TUNE_BATCH_TEXTS), "multiselect"),
    Field("lab_tune_steps", LAB_TUNE_DEFAULT.steps_per_point, whole(*LAB_TUNE_STEPS_RANGE), "number_input"),
    Field("lab_tune_view", "seconds", one_of(LAB_TUNE_VIEWS), "segmented_control"),  # solved runs differ in time
    # Stacking (lstm_viz.ui.lab.stacking): the cell, its width and the budget of each depth.
    Field("lab_stack_arch", LAB_STACK_DEFAULT.arch, one_of(LAB_LEN_CELLS), "segmented_control"),
    Field("lab_stack_hidden", LAB_STACK_DEFAULT.hidden_size, whole(*LAB_HIDDEN_RANGE), "number_input"),
    Field("lab_stack_steps", LAB_STACK_DEFAULT.steps, whole(*LAB_STACK_STEPS_RANGE), "number_input"),
), warning="Ignored values in the address that do not fit this page: {keys}; their defaults are shown.",
    path="pages/best_practice_lab.py")

# ----- Gestures -----
# (lstm_viz.ui.gestures; this block's imports sit here so the Music block's edits never touch them)
from lstm_viz.core.tasks.gesture_shapes import CLASSES as GESTURE_CLASSES  # noqa: E402
from lstm_viz.runs.bundled import GESTURES_RUN  # noqa: E402

# What the canvas opens with: a template stroke of a class, a scribble (none of the 16), or nothing (after Clear).
GEST_EXAMPLES = (*GESTURE_CLASSES, "scribble", "none")
GESTURES = PageSchema("gestures", (
    Field("gest_source", GESTURES_RUN, one_of((GESTURES_RUN, "session")), "radio"),
    Field("gest_example", "circle", one_of(GEST_EXAMPLES)),  # set by the example buttons and Clear
    Field("gest_arch", "lstm", ARCHS, "segmented_control"),  # whose gates are drawn along the stroke
    Field("gest_unit", LATEST, ANY_INDEX, "selectbox"),  # LATEST: the unit that tracks the total turning
), warning="Ignored values in the address that do not fit this page: {keys}; their defaults are shown.",
    path="pages/gestures.py")

# ----- Music -----
# (lstm_viz.ui.music; this block's imports sit here so the Gestures block's edits never touch them)
MUSIC = PageSchema("music", (
), warning="Ignored values in the address that do not fit this page: {keys}; their defaults are shown.",
    path="pages/music.py")

PAGES = (HOME, TRAIN, IMPORT_MODEL, INSIDE_CELL, GATES_MEMORY, GRADIENT_LAB, LENGTH_SWEEP, TRY_IT, FORECAST, TRANSLATE,
         DEPLOY, LAB, GESTURES, MUSIC)
SCHEMAS = {schema.name: schema for schema in (APP, *PAGES)}
page_url.register(*SCHEMAS.values())
