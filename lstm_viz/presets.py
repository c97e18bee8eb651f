"""Named starting points: plain data, each value with the reason it was chosen."""
from __future__ import annotations

from dataclasses import dataclass, replace

from .trainer import RunConfig


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
                "Recall ten symbols after a delay of 20 blanks (Arjovsky et al. 2016). Harder than it looks: in 3000 steps "
                "the LSTM gets to about 80% of the no-memory baseline 10·log 8/(T+20) and the RNN stays on it."
            ),
            # Measured here: lr 3e-3 reaches 78% of the baseline in 3000 steps, 1e-2 stalls near 88%.
            config=RunConfig(task="copy", length=20, archs=("rnn", "lstm"), learning_rate=3e-3, max_steps=3000),
        ),
        Preset(
            name="forecast-airline",
            title="Forecast airline passengers a year ahead",
            featured=True,
            card_text="Monthly airline passengers 1949-1960 (Box & Jenkins): forecast the next 12 months from the last 24.",
            description=(
                "Monthly airline passengers 1949-1960 (Box & Jenkins): from the last 24 months, forecast the next 12. "
                "Trained on 1949-1956, tested on 1959-1960; both cells beat the naive and seasonal-naive forecasts. "
                "The Forecast and anomalies page plots the forecasts against the truth."
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
