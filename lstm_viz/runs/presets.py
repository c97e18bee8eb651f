"""Named starting points: plain data, each value with the reason it was chosen."""
from __future__ import annotations

from dataclasses import dataclass, replace

from lstm_viz.core.trainer import RunConfig


@dataclass(frozen=True)
class Preset:
    name: str
    title: str
    description: str
    config: RunConfig
    # Shown as a card with its own button on the home page: the demos a class or a talk starts from.
    featured: bool = False
    card_text: str = ""  # one line for that card


PRESETS: dict[str, Preset] = {
    preset.name: preset
    for preset in (
        Preset(
            name="vanishing-gradients",
            title="Vanishing gradients: adding problem, T = 100",
            featured=True,
            card_text="An RNN and an LSTM must add two numbers seen up to 100 steps ago. Watch the RNN's gradient "
                      "vanish while the LSTM's forget gates keep a path open and it solves the task.",
            description=(
                "The RNN and the LSTM see the same batches. At initialisation both pass back ~1e-20 of the last "
                "step's gradient to the first step; the LSTM then opens a path through its forget gates and solves "
                "the task, while the RNN's gradient keeps vanishing and it never leaves the baseline."
            ),
            config=RunConfig(
                task="adding",
                length=100,  # Arjovsky et al. 2016: tanh RNNs never beat the baseline from T=100 up
                archs=("rnn", "lstm"),
                hidden_size=64,
                learning_rate=1e-2,  # LSTM solves in ~700 steps; 1e-3 takes 3-5x more
                batch_size=64,
                clip_grad_norm=1.0,  # keeps the RNN's occasional gradient spikes from wrecking it
                max_steps=1500,  # enough for the LSTM with margin; the RNN stays at 1/6 anyway
            ),
        ),
        Preset(
            name="three-cells",
            title="RNN vs GRU vs LSTM, adding problem, T = 50",
            description="A shorter lag all three can attempt; the gated cells solve it, the RNN does not in this budget.",
            config=RunConfig(task="adding", length=50, archs=("rnn", "gru", "lstm"), max_steps=1200),
        ),
        Preset(
            name="forget-bias",
            title="Why the forget gate matters: forget bias +1, T = 200",
            featured=True,
            card_text="Start the forget gate near 0.73 instead of 0.5: 26 orders of magnitude more gradient "
                      "reaches the first of 200 steps at initialisation.",
            description=(
                "A forget-gate bias of +1 at init starts f near 0.73 instead of 0.5: at initialisation the gradient "
                "reaching the first of 200 steps is ~1e-14 of the last step's instead of ~1e-40 (compare the "
                "gradient chart with bias 0). It does not guarantee faster learning: measured here with seed 0, the "
                "LSTM solves at step 1775 with +1 and at 1300 with 0."
            ),
            config=RunConfig(task="adding", length=200, archs=("rnn", "lstm"), forget_bias=1.0,
                             max_steps=3000),  # seed 0 needs 1775 steps; margin for other seeds
        ),
        Preset(
            name="copy-memory",
            title="Where memory gets hard: copy memory, T = 20",
            description=(
                "Recall ten symbols after a delay of 20 blanks (Arjovsky et al. 2016). Harder than it looks: in 6000 steps "
                "(about a minute and a half) the LSTM gets below 80% of the no-memory baseline 10·log 8/(T+20) without "
                "solving it, and the RNN stays on it."
            ),
            # Measured here (LSTM, % of the baseline at the end): lr 3e-3 and 3000 steps gave 76 / 82 / 92 / 88 on
            # seeds 0-3, so on seed 2 the LSTM had barely left the baseline; 6000 steps give 61 / 70 / 77 on seeds 0-2
            # (tests/test_copy_preset.py holds them to the blurb). H = 128 (84% on seed 2 in 3000 steps) costs 2.5x
            # per step for less; lr 1e-2 stalls near 88%.
            config=RunConfig(task="copy", length=20, archs=("rnn", "lstm"), learning_rate=3e-3, max_steps=6000),
        ),
        Preset(
            name="lstm-vs-transformer",
            title="Why not a Transformer? LSTM vs Transformer, adding problem, T = 100",
            description=(
                "The headline task with a causal Transformer (2 heads, sinusoidal positions) beside the LSTM, at "
                "equal width, on the same batches. Attention reaches both marked values in one step whatever their "
                "distance, so no gradient has to survive 100 steps: measured here with seed 0, the Transformer "
                "solves at step 175, the LSTM at about 700. The Length sweep page shows what that costs per step "
                "and how each does at 2T and 4T."
            ),
            # The headline preset's settings (the LSTM's run is identical to it); Adam 1e-2 also trains this small
            # pre-LN Transformer (solved at step 175, seed 0), so neither gets a rate of its own.
            config=RunConfig(task="adding", length=100, archs=("lstm", "transformer"), hidden_size=64,
                             learning_rate=1e-2, batch_size=64, clip_grad_norm=1.0, max_steps=1500),
        ),
        Preset(
            name="four-architectures",
            title="RNN, GRU, LSTM and Transformer, adding problem, T = 50",
            description=(
                "All four architectures on the same batches at equal width (H = 64). Measured here with seed 0: the "
                "Transformer solves at step 100, the GRU at step 475, the LSTM at step 950, and the RNN stays on the "
                "no-memory baseline."
            ),
            # Adam 3e-3: at 1e-2 (the other adding presets' rate) this Transformer plateaued at 31% of the baseline
            # (seed 0); at 3e-3 every gated cell and the Transformer solve within the budget.
            config=RunConfig(task="adding", length=50, archs=("rnn", "gru", "lstm", "transformer"),
                             learning_rate=3e-3, max_steps=2000),
        ),
        Preset(
            name="forecast-airline",
            title="Forecast airline passengers a year ahead",
            featured=True,
            card_text="Monthly airline passengers 1949-1960 (Box & Jenkins): forecast the next 12 months from the last 24.",
            description=(
                "Monthly airline passengers 1949-1960 (Box & Jenkins): from the last 24 months, forecast the next 12. "
                "Trained on 1949-1956, tested on 1959-1960; both cells beat the naive and seasonal-naive forecasts. "
                "The Forecasting page plots the forecasts against the truth."
            ),
            config=RunConfig(
                task="forecast",  # airline, horizon 12 unless the Train page's series controls say otherwise
                length=24,  # two seasons of input
                archs=("rnn", "lstm"),
                hidden_size=32,  # 61 training windows: 64 units overfit sooner and gain nothing
                learning_rate=3e-3,  # 1e-2 overfits within 100 steps here
                max_steps=400,
                probe_every=50,
                stop_when_solved=False,  # "solved" = beats seasonal naive on the test part: no reason to stop there
            ),
        ),
    )
}

DEFAULT_PRESET = "vanishing-gradients"


def preset_config(name: str, **overrides) -> RunConfig:
    return replace(PRESETS[name].config, **overrides)


# ----- a preset as a starting point: which settings now differ from it, and what the actual settings are -----

# The settings a person can change on the Train page, in the order the sidebar shows them, with their names there.
CHANGEABLE_SETTINGS = (
    ("task", "task"), ("task_options", "series options"), ("length", "sequence length T"),
    ("archs", "architectures"), ("hidden_size", "hidden size"), ("num_layers", "layers"),
    ("forget_bias", "forget-gate bias"), ("optimizer", "optimizer"), ("learning_rate", "learning rate"),
    ("batch_size", "batch size"), ("max_steps", "step budget"), ("clip_grad_norm", "gradient clipping"),
    ("seed", "seed"),
)
# The Transformer's own knobs, listed only while a Transformer is picked: as in RunConfig.key, a recurrent run does
# not depend on them, so a heads value left over from another preset changes nothing.
TRANSFORMER_SETTINGS = (("heads", "attention heads"), ("positions", "positions"))


def _effective_task_options(config: RunConfig) -> dict | None:
    """The task's options with its defaults filled in ({} for tasks without options; None if the options are not
    usable, e.g. an upload that is gone): a forecast preset without options and the sidebar's explicit
    {"series": "airline", "horizon": 12} are the same run."""
    try:
        return dict(getattr(config.make_task(), "options", {}))
    except Exception:  # noqa: BLE001 - any unusable option (missing upload, bad value) simply differs
        return None


def _shown(name: str, value) -> str:
    from lstm_viz.core.architectures import ARCHITECTURES
    from lstm_viz.core.tasks import TASKS

    if name == "task":
        return TASKS[value].label if value in TASKS else str(value)
    if name == "archs":
        return ", ".join(ARCHITECTURES[a].label if a in ARCHITECTURES else str(a) for a in value)
    if name == "clip_grad_norm":
        return "off" if value is None else f"at {value:g}"
    if name == "task_options":
        return ", ".join(f"{key} {option}" for key, option in sorted((value or {}).items())) or "none"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def departures(config: RunConfig, name: str) -> list[str]:
    """What `config` changes from preset `name`, one "hidden size 64 → 32" per setting; empty when it is the preset."""
    preset = PRESETS[name].config
    changes = []
    for field, label in CHANGEABLE_SETTINGS:
        if field == "task_options":
            ours, theirs = _effective_task_options(config), _effective_task_options(preset)
        else:
            ours, theirs = getattr(config, field), getattr(preset, field)
        if ours != theirs:
            changes.append(f"{label} {_shown(field, theirs)} → {_shown(field, ours)}")
    if "transformer" in config.archs:
        changes += [f"{label} {getattr(preset, field)} → {getattr(config, field)}"
                    for field, label in TRANSFORMER_SETTINGS if getattr(config, field) != getattr(preset, field)]
    return changes


def _transformer_words(config: RunConfig) -> str:
    """", the Transformer with 2 attention heads and sinusoidal positions" while a Transformer is picked, else ""."""
    if "transformer" not in config.archs:
        return ""
    heads = f"{config.heads} attention head{'s' if config.heads != 1 else ''}"
    return f", the Transformer with {heads} and {config.positions} positions"


def describe_config(config: RunConfig) -> str:
    """The actual settings in words, generated from the config: what a custom run trains, and against what."""
    from lstm_viz.core.architectures import ARCHITECTURES
    from lstm_viz.core.tasks import TASKS

    archs = [ARCHITECTURES[a].label if a in ARCHITECTURES else a for a in config.archs]
    cells = (" and ".join(archs) if len(archs) <= 2 else ", ".join(archs[:-1]) + " and " + archs[-1]) or "no cell"
    together = " side by side on the same batches" if len(archs) > 1 else ""
    clipping = (f", gradients clipped at norm {config.clip_grad_norm:g}" if config.clip_grad_norm is not None
                else ", no gradient clipping")
    # Only the LSTM has a forget gate: a run without one is not told about its bias.
    forget_bias = f"forget-gate bias {config.forget_bias:g} at initialisation, " if "lstm" in config.archs else ""
    layers = f"{config.num_layers} layer{'s' if config.num_layers != 1 else ''}"
    text = (
        f"{TASKS[config.task].label if config.task in TASKS else config.task}, T = {config.length}. "
        f"{cells}, {config.hidden_size} hidden units, {layers}{_transformer_words(config)}, trained{together} for up to "
        f"{config.max_steps:,} steps: {config.optimizer.capitalize() if config.optimizer != 'rmsprop' else 'RMSProp'} "
        f"at learning rate {config.learning_rate:g}, batch {config.batch_size}{clipping}, "
        f"{forget_bias}seed {config.seed}."
    )
    try:
        task = config.make_task()
        options = _effective_task_options(config)
        if options:
            text += f" Task options: {_shown('task_options', options)}."
        text += (f" {task.description} The {task.baseline_name} scores {task.metric_name} "
                 f"{task.baseline(config.length):.3g}; solved means {task.solved_threshold(config.length):.3g} or below.")
    except Exception:  # noqa: BLE001 - a task that cannot be built here is explained when Start is pressed
        pass
    return text
