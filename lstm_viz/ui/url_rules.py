"""What each page accepts from the address, in one place: a rule per URL key (keys are unique across pages by their
prefix), consulted by url_state.read_query after the value was parsed with its default's type and its size checked.

A value a rule refuses is reported to the page, which warns and keeps its default; a value that passes is one the
page's widget can show. Ranges come from where they are defined (the engine, or the ui module owning the page's
defaults); rules that depend on the run shown (which checkpoint, which unit) stay with the page, which falls back
when a value does not fit the run. The Train page passes its own rules (lstm_viz.ui.state.sync_settings_with_url).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

from lstm_viz.rules import checks
from lstm_viz.analysis import memory
from lstm_viz.core.architectures import ARCHITECTURES
from lstm_viz.analysis.jacobians import CLIPPING_STEPS
from lstm_viz.runs.sweep import MAX_SEEDS, STEPS_PER_POINT_RANGE
from lstm_viz.analysis.text_generation import MAX_SAMPLE_CHARACTERS, TEMPERATURE_RANGE
from lstm_viz.core.trainer import BATCH_SIZE_RANGE, LEARNING_RATE_RANGE, SEED_RANGE
from lstm_viz.core.model import HIDDEN_SIZE_RANGE, LAYER_RANGE
from . import cell_view, memory_view
from .url_state import Bounds

Rule = Callable[[Any], bool]

# The text boxes of Try it and Gates and memory (the widgets' max_chars read these).
TEXT_LIMITS = {"try_text": 2000, "try_paste": 1000, "try_prompt": 200, "gm_text": 2000}


def whole(low: int, high: int) -> Rule:
    return Bounds(low, high, whole=True)


def real(low: float, high: float) -> Rule:
    return Bounds(low, high)


def name() -> Rule:
    """A name the page looks up among its own options (and falls back from when it is not one)."""
    return lambda value: isinstance(value, str) and len(value) <= checks.MAX_NAME_CHARS


@dataclass(frozen=True)
class Text:
    max_chars: int

    def __call__(self, value: Any) -> bool:
        return isinstance(value, str) and len(value) <= self.max_chars

    def edges(self) -> list[str]:
        return ["é" * self.max_chars, "x" * (self.max_chars + 1)]


def texts(max_chars: int) -> Rule:
    return Text(max_chars)


def names_of(options) -> Rule:
    allowed = set(options)
    return lambda values: (isinstance(values, (list, tuple)) and len(set(values)) == len(values)
                           and all(isinstance(v, str) and v in allowed for v in values))


def digit_strings(max_items: int) -> Rule:
    return lambda values: (isinstance(values, (list, tuple)) and len(values) <= max_items
                           and all(isinstance(v, str) and v.isdigit() and len(v) <= 6 for v in values))


ANY_STEP = whole(-1, 10**9)  # a checkpoint's training step, or -1 for "the latest"
ANY_INDEX = whole(-1, 10**6)  # an example, a time step, a unit; -1 for "pick for me"
ANY_LAYER = whole(0, LAYER_RANGE[1] - 1)

RULES: dict[str, Rule] = {
    # Try it
    "try_source": name(), "try_arch": name(), "try_feature": name(),
    "try_text": texts(TEXT_LIMITS["try_text"]), "try_paste": texts(TEXT_LIMITS["try_paste"]),
    "try_prompt": texts(TEXT_LIMITS["try_prompt"]),
    "try_temperature": real(*TEMPERATURE_RANGE), "try_sample_length": whole(1, MAX_SAMPLE_CHARACTERS),
    "try_seed": whole(*SEED_RANGE),
    # Forecast and anomalies
    "forecast_anomaly_seed": whole(*SEED_RANGE), "forecast_detector": name(),
    # Gates and memory
    "gm_arch": name(), "gm_step": ANY_STEP, "gm_layer": ANY_LAYER, "gm_source": name(),
    "gm_example": whole(1, 10**6), "gm_probe": whole(1, 10**6), "gm_text": texts(TEXT_LIMITS["gm_text"]),
    "gm_order": lambda value: value in memory.ORDERINGS, "gm_pick": name(), "gm_units": digit_strings(12),
    "gm_state": name(), "gm_search": name(), "gm_feature": name(), "gm_span_start": ANY_INDEX,
    "gm_span_end": ANY_INDEX, "gm_span_method": lambda value: value in memory.SPAN_METHODS,
    "gm_threshold": real(*memory_view.THRESHOLD_RANGE),
    # Gradient flow lab (the page checks the rest against the run shown)
    "glab_tab": name(), "glab_step": ANY_STEP, "glab_layer": ANY_LAYER, "glab_example": whole(0, 10**6),
    "glab_clamp": real(0.0, 1.0), "glab_clip_arch": lambda value: value in ARCHITECTURES, "glab_clip_opt": name(),
    "glab_clip_steps": lambda value: value in CLIPPING_STEPS,
    # Inside the cell
    "cell_mode": lambda value: value in ("trained", "sandbox"), "cell_arch": name(), "cell_example": ANY_INDEX,
    "cell_checkpoint": ANY_STEP, "cell_layer": ANY_LAYER, "cell_step": ANY_INDEX, "cell_unit": ANY_INDEX,
    **{key: real(*bounds) for key, bounds in cell_view.SANDBOX_RANGES.items()},
    # Length sweep (sweep_state.normalise_settings also drops what this run's task does not offer)
    "sweep_task": name(), "sweep_lengths": digit_strings(64), "sweep_archs": names_of(ARCHITECTURES),
    "sweep_seeds": whole(1, MAX_SEEDS), "sweep_steps": whole(*STEPS_PER_POINT_RANGE),
    "sweep_hidden": whole(*HIDDEN_SIZE_RANGE), "sweep_lr": real(*LEARNING_RATE_RANGE),
    "sweep_batch": whole(*BATCH_SIZE_RANGE),
}
