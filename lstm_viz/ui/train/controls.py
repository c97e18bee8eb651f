"""The settings widgets. Values live under the keys of `state.SETTING_KEYS`; limits come from the engine."""
from __future__ import annotations

import functools
import math

import streamlit as st

from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.core.architectures.transformer import POSITION_KINDS
from lstm_viz.core.run_config import MEASURED_GFLOP_PER_SECOND, OPTIMIZERS, RunConfig
from lstm_viz.core.tasks import TASKS
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.rules.ranges import (
    BATCH_SIZE_RANGE, CLIP_RANGE, FORGET_BIAS_RANGE, HEADS_RANGE, HIDDEN_SIZE_RANGE, LAYER_RANGE, LEARNING_RATE_RANGE,
    MAX_STEPS_RANGE, SEED_RANGE,
)
from lstm_viz.ui import presenter, series_data, session_run, state
from lstm_viz.ui.plain import plain


def settings_sidebar() -> None:
    """The Train page's sidebar: the preset, then (outside presenter mode) every setting of the run."""
    disabled = session_run.is_running()
    with st.sidebar:
        st.header("Settings")
        if disabled:
            st.caption("Stop training to change the settings.")
        _preset_box(disabled)
        if presenter.on():
            st.caption("Presenter mode hides the other settings; switch it off at the foot of this sidebar.")
            return
        _task_settings(disabled)
        with st.expander("Model", expanded=True):
            _model_settings(disabled)
        with st.expander("Optimisation", expanded=True):
            _optimisation_settings(disabled)
        _compute_estimate()


def _preset_box(disabled: bool) -> None:
    st.selectbox(
        "Preset", state.preset_box_options(), key=state.PRESET_BOX_KEY,
        format_func=functools.partial(state.preset_label, origin=st.session_state["preset"]),
        on_change=state.on_preset_change, disabled=disabled,
        help="A tested starting point. Picking one (again) sets every setting below to it; once you change "
             "one, the box says Custom.",
    )
    changes = state.preset_departures()
    if changes:
        st.caption("Changed from the preset: " + "; ".join(changes) + ". Pick it again to reset.")


def _task_settings(disabled: bool) -> None:
    task = TASKS[st.session_state["task"]]
    st.selectbox(
        "Task", list(TASKS), key="task", format_func=lambda name: TASKS[name].label,
        on_change=state.on_task_change, disabled=disabled,
        help="; ".join(f"{t.label}: {t.description}" for t in TASKS.values()),
    )
    if st.session_state["task"] in series_data.SERIES_TASKS: task = series_data.series_settings(disabled)  # noqa: E701
    st.number_input(
        "Sequence length T", min_value=task.min_length, max_value=task.max_length, step=10, key="length",
        disabled=disabled,
        help=f"How far back the network must remember ({task.min_length}–{task.max_length} for {task.label.lower()}). "
             "Longer is harder and slower.",
    )
    _length_caption()
    st.multiselect(
        "Architectures", list(ARCHITECTURES), key="archs", format_func=lambda name: ARCHITECTURES[name].label,
        disabled=disabled,
        help="Trained side by side on identical batches. " + " ".join(
            f"{a.label}: {a.description}" for a in ARCHITECTURES.values()),
    )


def _model_settings(disabled: bool) -> None:
    left, right = st.columns(2)
    left.number_input(
        "Hidden size", min_value=HIDDEN_SIZE_RANGE[0], max_value=HIDDEN_SIZE_RANGE[1], step=8,
        key="hidden_size", disabled=disabled,
        help=f"Units per layer ({HIDDEN_SIZE_RANGE[0]}–{HIDDEN_SIZE_RANGE[1]}).",
    )
    right.number_input(
        "Layers", min_value=LAYER_RANGE[0], max_value=LAYER_RANGE[1], step=1, key="num_layers",
        disabled=disabled, help=f"Stacked recurrent layers, or Transformer blocks ({LAYER_RANGE[0]}–{LAYER_RANGE[1]}).",
    )
    st.number_input(
        "Forget-gate bias at init (LSTM)", min_value=FORGET_BIAS_RANGE[0], max_value=FORGET_BIAS_RANGE[1],
        step=0.5, key="forget_bias", disabled=disabled,
        help="Added to the LSTM forget-gate bias at initialisation (−10 to 10). 0 gives f ≈ 0.5; "
             "+1 gives f ≈ 0.73, so gradients survive longer (Gers et al. 2000, Jozefowicz et al. 2015).",
    )
    if "transformer" in st.session_state["archs"]:
        _transformer_settings(disabled)
    _parameter_counts()


def _transformer_settings(disabled: bool) -> None:
    """The Transformer's own knobs, shown only while it is picked (the recurrent cells ignore them)."""
    # Full width, one under the other: in two sidebar columns the labels wrapped and the positions were cut off.
    st.selectbox("Transformer: attention heads", list(range(HEADS_RANGE[0], HEADS_RANGE[1] + 1)), key="heads",
                   disabled=disabled, help="Each head attends with its own queries and keys over hidden size / heads "
                                           "dimensions; the hidden size must divide by the number of heads.")
    st.segmented_control("Transformer: positions", list(POSITION_KINDS), key="positions", disabled=disabled,
                            format_func=str.capitalize,
                            help="Sinusoidal: computed for any position (Vaswani et al. 2017). Learned: a trained "
                                 "vector per position, for up to 4x the trained length; rows past it never train.")
    hidden, heads = int(st.session_state["hidden_size"]), int(st.session_state["heads"])
    if hidden % heads:
        fits = [h for h in range(HEADS_RANGE[0], HEADS_RANGE[1] + 1) if hidden % h == 0]
        choices = ", ".join(map(str, fits[:-1])) + f" or {fits[-1]}" if len(fits) > 1 else str(fits[0])
        st.warning(f"The Transformer's hidden size {hidden} does not divide by {heads} attention heads: pick "
                   f"{choices} heads, or a hidden size that is a multiple of {heads}.")


def parameter_counts(config: RunConfig) -> dict[str, int]:
    """{architecture: trainable parameters} of every picked one at the config's width, from the state dict's shapes
    (ModelConfig.parameter_shapes: no weight is allocated). Raises ConfigError for settings a model refuses."""
    counts = {}
    for arch in config.archs:
        model_config = config.model_config(arch).validate(config.make_task())
        counts[arch] = sum(math.prod(shape) for shape in model_config.parameter_shapes().values())
    return counts


def _parameter_counts() -> None:
    try:
        config = state.config_from_settings()
        counts = parameter_counts(config)
    except (LstmVizError, KeyError, TypeError, ValueError):  # the warning above, or Start, says why
        return
    if counts:
        st.caption(f"Parameters at hidden size {config.hidden_size}, {config.num_layers} "
                   f"layer{'s' if config.num_layers > 1 else ''}: " +
                   " · ".join(f"{ARCHITECTURES[arch].label} {count:,}" for arch, count in counts.items()))


def _optimisation_settings(disabled: bool) -> None:
    left, right = st.columns(2)
    left.selectbox("Optimizer", list(OPTIMIZERS), key="optimizer", disabled=disabled,
                   help="Adam, RMSProp or plain SGD.")
    right.number_input(
        "Learning rate", min_value=LEARNING_RATE_RANGE[0], max_value=LEARNING_RATE_RANGE[1],
        step=1e-3, format="%g", key="learning_rate", disabled=disabled,
        help=f"{LEARNING_RATE_RANGE[0]:g} to {LEARNING_RATE_RANGE[1]:g}. Adam at 0.01 solves the headline "
             "preset; very large rates without clipping diverge.",
    )
    left, right = st.columns(2)
    left.number_input(
        "Batch size", min_value=BATCH_SIZE_RANGE[0], max_value=BATCH_SIZE_RANGE[1], step=16,
        key="batch_size", disabled=disabled,
        help=f"Sequences per training step ({BATCH_SIZE_RANGE[0]}–{BATCH_SIZE_RANGE[1]}).",
    )
    right.number_input(
        "Step budget", min_value=MAX_STEPS_RANGE[0], max_value=MAX_STEPS_RANGE[1], step=100,
        key="max_steps", disabled=disabled,
        help=f"Training stops after this many steps ({MAX_STEPS_RANGE[0]}–{MAX_STEPS_RANGE[1]:,}) "
             "or earlier, once the verdict is known (see “Train to the full budget”).",
    )
    st.toggle("Train to the full budget", key="train_to_budget", disabled=disabled,
              help="Off: the run ends when its verdict is known: every gated cell (GRU, LSTM) has solved, "
                   "stopped improving or diverged, and the RNN has trained as long and is still at the "
                   "no-memory baseline. On: each cell trains until it solves or diverges, or the step budget "
                   "is used, to check that the RNN's failure is not a matter of time.")
    st.toggle("Clip gradients", key="clip_enabled", disabled=disabled,
                help="Rescale the gradient when its total norm exceeds the threshold (Pascanu et al. 2013).")
    st.number_input(
        "Clip threshold (total gradient norm)", min_value=CLIP_RANGE[0], max_value=CLIP_RANGE[1], step=0.5, key="clip_threshold",
        disabled=disabled or not st.session_state["clip_enabled"],
        help=f"Maximum total gradient norm ({CLIP_RANGE[0]:g}–{CLIP_RANGE[1]:g}).",
    )
    st.number_input("Seed", min_value=SEED_RANGE[0], max_value=SEED_RANGE[1], step=1, key="seed",
                    disabled=disabled, help="Same seed and settings, same run: weights and data are seeded.")


def _length_caption() -> None:
    """What T means for this task and its limits (vocabulary, data), for tasks that say so (the text tasks)."""
    try:
        task = state.config_from_settings().make_task()  # configured, e.g. on the user's uploaded data
    except (KeyError, ValueError):
        return
    if getattr(task, "length_caption", None):
        st.caption(plain(task.length_caption))  # names the user's data set


def step_time_text(gflop: float) -> str:
    """The measured CPU time of a step of `gflop`, in a unit that shows it (a small model's step is well under
    10 ms: "0.00 s" would read as free)."""
    seconds = gflop / MEASURED_GFLOP_PER_SECOND
    if seconds >= 0.995:
        return f"{seconds:.1f} s"
    milliseconds = seconds * 1000
    return f"{milliseconds:.0f} ms" if milliseconds >= 1 else "under 1 ms"


def _compute_estimate() -> None:
    """The settings' cost per training step beside the budget, so the limit is visible before it is hit."""
    try:
        config = state.config_from_settings()
        needed = config.estimated_step_gflop()
    except (KeyError, ValueError):  # e.g. no architecture picked yet: Start explains that
        return
    budget = config.max_step_gflop
    line = (f"Compute: {needed:.1f} GFLOP per training step (about {step_time_text(needed)} on a 2-core CPU); "
            f"limit {budget:.0f} GFLOP.")
    if budget is not None and needed > budget:
        st.warning(line + " Lower the hidden size, layers, length or batch size.")
    else:
        st.caption(line)
