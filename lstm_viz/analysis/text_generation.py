"""What the Try it page computes from a trained model: the prediction for a typed sentence (after every word, with
the gates), characters sampled with a temperature, and the unit whose cell state follows a feature such as the
nesting depth. No Streamlit here; every function takes a model and a task and returns arrays.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lstm_viz.analysis.attention_step import check_fits_positions
from lstm_viz.rules.errors import ConfigError, UploadError
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.tasks import Task
from lstm_viz.core.traces import Trace, trace
from lstm_viz.rules.ranges import TEMPERATURE_RANGE

MAX_SAMPLE_CHARACTERS = 1000


@dataclass
class TextReading:
    """A model reading one typed text."""
    tokens: list[str]  # as shown, one per step
    unknown: list[int]  # steps whose token is not in the task's vocabulary (read as the unknown token)
    trace: Trace  # every gate and state, batch of one
    # Class probabilities after each step (steps, classes) for a classifier ("last" readout); for a language model
    # ("every" readout), the probabilities of the next token after each step (steps, vocabulary).
    probabilities: np.ndarray

    @property
    def final(self) -> np.ndarray:
        return self.probabilities[-1]


@torch.no_grad()
def read_text(model: SequenceModel, task: Task, text: str) -> TextReading:
    """Encode `text` with the task's vocabulary (UploadError with a message if it cannot be read) and run the model."""
    if not task.accepts_text:
        raise ConfigError(f"the {task.label} task does not take typed input")
    inputs, tokens, unknown = task.encode_text(text)
    if inputs.shape[-1] != model.config.input_size:
        raise ConfigError("this model was trained on a different vocabulary than the task's; retrain it")
    check_fits_positions(model, len(inputs), "the text")
    batch = torch.as_tensor(inputs, dtype=torch.float32).unsqueeze(0)
    result = trace(model, batch)
    top = torch.as_tensor(result.layers[-1]["hidden_state"][0])  # (steps, H)
    if not model.architecture.recurrent:
        top = model.transformer.final_norm(top)  # what its readout reads, as in its forward
    logits = model.readout(top)  # the readout applied after every step, not only the last
    return TextReading(tokens=tokens, unknown=unknown, trace=result,
                       probabilities=torch.softmax(logits.double(), dim=-1).numpy())


@torch.no_grad()
def sample_characters(model: SequenceModel, task: Task, prompt: str, count: int, temperature: float, seed: int = 0,
                      forbidden: tuple[int, ...] = (0,)) -> str:
    """Continue `prompt` by `count` characters, each drawn from softmax(logits / temperature), feeding each drawn
    character back in. `forbidden` token indices (the unknown token) are never drawn."""
    low, high = TEMPERATURE_RANGE
    if not low <= temperature <= high:
        raise ConfigError(f"temperature must be between {low:g} and {high:g} (got {temperature:g})")
    if not 1 <= count <= MAX_SAMPLE_CHARACTERS:
        raise ConfigError(f"sample between 1 and {MAX_SAMPLE_CHARACTERS} characters (got {count})")
    if model.config.readout != "every":
        raise ConfigError("sampling needs a language model (a prediction at every step)")
    alphabet: str = task.alphabet  # type: ignore[attr-defined]
    generator = torch.Generator().manual_seed(seed)
    model.eval()
    if prompt:
        inputs, _, unknown = task.encode_text(prompt)
        if unknown:
            raise UploadError(f"the prompt has characters the model does not know at positions {unknown[:5]}")
    else:
        inputs = task.encode_text(" ")[0]  # no prompt: the language's first-character distribution, after a space
    prefix = torch.as_tensor(inputs).unsqueeze(0)

    def draw(hidden_last: torch.Tensor) -> tuple[int, torch.Tensor]:
        """The next character from the top layer's last output; and its one-hot step (1, 1, V)."""
        logits = model.readout(hidden_last).double() / temperature
        logits[list(forbidden)] = -torch.inf
        index = int(torch.multinomial(torch.softmax(logits, dim=-1), 1, generator=generator))
        step = torch.zeros(1, 1, model.config.input_size)
        step[0, 0, index] = 1.0
        return index, step

    if not model.architecture.recurrent:
        return "".join(alphabet[index] for index in _sample_by_rerunning(model, prefix, count, draw))
    out = []
    hidden, state = model.recurrent(model.embed(prefix), None)
    for _ in range(count):
        index, step = draw(hidden[0, -1])
        out.append(alphabet[index])
        hidden, state = model.recurrent(model.embed(step), state)
    return "".join(out)


def _sample_by_rerunning(model: SequenceModel, prefix: torch.Tensor, count: int, draw) -> list[int]:
    """A Transformer carries no state: each character reruns the whole prefix so far, O(T) positions per character
    (O(T^2) attention). A key-value cache, which keeps every position's keys and values, is what avoids that; it is
    also the O(T) state streaming needs, where a recurrence keeps O(1)."""
    limit = model.transformer.position_embedding.num_embeddings if model.config.positions == "learned" else None
    if limit is not None and prefix.shape[1] + count > limit:
        raise ConfigError(f"this Transformer's learned positions cover {limit} characters: with a "
                          f"{prefix.shape[1]}-character prompt, sample at most {max(0, limit - prefix.shape[1])}")
    drawn = []
    for _ in range(count):
        hidden, _ = model.transformer(model.embed(prefix))  # final-normed, as its readout reads it
        index, step = draw(hidden[0, -1])
        drawn.append(index)
        prefix = torch.cat([prefix, step.to(prefix.dtype)], dim=1)
    return drawn


@dataclass
class TrackingUnit:
    unit: int
    correlation: float  # Pearson correlation of the unit's value with the feature over all steps of all examples
    layer: int
    state: str  # "cell_state" or "hidden_state"


def tracking_unit(arrays: np.ndarray, feature: np.ndarray, layer: int = 0, state: str = "cell_state") -> TrackingUnit:
    """The unit whose value (examples, steps, H) correlates best (largest |r|) with `feature` (examples, steps)."""
    values = np.asarray(arrays, dtype=np.float64).reshape(-1, np.shape(arrays)[-1])
    target = np.asarray(feature, dtype=np.float64).reshape(-1)
    if values.shape[0] != target.shape[0]:
        raise ValueError("feature and states cover different steps")
    values = values - values.mean(axis=0)
    target = target - target.mean()
    denominator = np.sqrt((values**2).sum(axis=0) * (target**2).sum())
    with np.errstate(invalid="ignore", divide="ignore"):
        correlation = np.where(denominator > 0, values.T @ target / denominator, 0.0)
    unit = int(np.argmax(np.abs(correlation)))
    return TrackingUnit(unit=unit, correlation=float(correlation[unit]), layer=layer, state=state)


def find_feature_unit(model: SequenceModel, task: Task, inputs: torch.Tensor, feature: str, layer: int = 0) -> TrackingUnit:
    """Search every unit of `layer` (cell state for an LSTM, hidden state otherwise) for the one that follows the
    task feature `feature` (e.g. "nesting depth") over the examples `inputs` (examples, steps, input_size)."""
    result = trace(model, inputs)
    arrays = result.layers[layer]
    name = "cell_state" if "cell_state" in arrays else "hidden_state"
    values = np.stack([task.features(example.numpy())[feature] for example in inputs])
    return tracking_unit(arrays[name], values, layer=layer, state=name)


def probability_of_what_follows(reading: TextReading, inputs: np.ndarray) -> np.ndarray:
    """(steps,) the probability a language model gave, after each step, to the token that actually comes next
    (one-hot `inputs` of the same text); NaN at the last step, which nothing follows."""
    following = inputs.argmax(axis=-1)[1:]
    return np.r_[reading.probabilities[np.arange(len(following)), following], np.nan]


@dataclass(frozen=True)
class Nesting:
    deepest: int  # the largest bracket depth anywhere in the text
    balanced: bool  # every bracket closed and no quote open at the end


def nesting_of(task: Task, text: str) -> Nesting:
    """How a bracket task's text nests, from the task's own features ("nesting depth", "inside quotes")."""
    features = task.features(task.encode_text(text)[0])
    depth = features["nesting depth"]
    return Nesting(int(depth.max()), bool(depth[-1] == 0 and features["inside quotes"][-1] == 0))
