"""What the Music page computes from a trained melody model: a melody sampled after a primer (temperature, seed),
its gates and states, the units that follow phrase position and pitch height, and the cross-entropy of every
architecture on the whole test set beside the count baselines. No Streamlit; arrays in, arrays out.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lstm_viz.analysis.memory import feature_correlations
from lstm_viz.rules.errors import ConfigError
from lstm_viz.rules.ranges import TEMPERATURE_RANGE
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.tasks.chorales import ChoralesTask, count_baselines, stream
from lstm_viz.core.traces import Trace, trace

MAX_SAMPLE_NOTES = 128
FEATURES = ("phrase position", "pitch height")


def check_melody_model(model: SequenceModel, task) -> None:
    if not isinstance(task, ChoralesTask) or model.config.input_size != task.input_size:
        raise ConfigError("sampling a melody needs a model trained on the chorale melodies")
    if not model.architecture.recurrent:
        raise ConfigError("the Music page samples from the recurrent cells (RNN, GRU, LSTM)")


@torch.no_grad()
def sample_melody(model: SequenceModel, task: ChoralesTask, primer: np.ndarray, count: int, temperature: float,
                  seed: int = 0) -> np.ndarray:
    """The primer (n, 2) followed by `count` notes, each note's pitch and duration drawn from the model's two
    softmaxes at `temperature` (logits / temperature) and fed back in. Same seed and temperature, same melody."""
    check_melody_model(model, task)
    low, high = TEMPERATURE_RANGE
    if not (isinstance(temperature, (int, float)) and low <= temperature <= high):
        raise ConfigError(f"temperature must be between {low:g} and {high:g} (got {temperature})")
    if not (isinstance(count, int) and 1 <= count <= MAX_SAMPLE_NOTES):
        raise ConfigError(f"sample between 1 and {MAX_SAMPLE_NOTES} notes (got {count})")
    primer = np.asarray(primer, dtype=np.int64).reshape(-1, 2)
    if len(primer) == 0:
        raise ConfigError("a melody needs a primer of at least one note")
    generator = torch.Generator().manual_seed(int(seed))
    was_training = model.training
    model.eval()
    try:
        notes = [tuple(row) for row in primer]
        hidden, state = model.recurrent(model.embed(torch.as_tensor(task.encode_notes(primer)).unsqueeze(0)), None)
        for _ in range(count):
            pitch_logits, duration_logits = task.split_logits(model.readout(hidden[0, -1]).double() / temperature)
            pitch = int(torch.multinomial(torch.softmax(pitch_logits, -1), 1, generator=generator))
            duration = int(torch.multinomial(torch.softmax(duration_logits, -1), 1, generator=generator))
            notes.append((pitch, duration))
            step = torch.as_tensor(task.encode_notes(np.array([[pitch, duration]]))).unsqueeze(0)
            hidden, state = model.recurrent(model.embed(step), state)
    finally:
        model.train(was_training)
    return np.array(notes, dtype=np.int64)


def melody_trace(model: SequenceModel, task: ChoralesTask, notes: np.ndarray) -> Trace:
    """Every gate and state while the model reads `notes` (n, 2), batch of one."""
    return trace(model, torch.as_tensor(task.encode_notes(notes)).unsqueeze(0))


@dataclass(frozen=True)
class FeatureUnit:
    feature: str
    unit: int
    correlation: float  # Pearson r over every step of the probe examples
    state: str  # "cell_state" for an LSTM, "hidden_state" otherwise


def feature_units(model: SequenceModel, task: ChoralesTask, inputs: torch.Tensor, layer: int = -1) -> list[FeatureUnit]:
    """The neuron search (lstm_viz.analysis.memory): for each of FEATURES, the unit of `layer` whose state follows it
    best (largest |r|) over `inputs` (examples, steps, input_size), e.g. a run's probe examples."""
    arrays = trace(model, inputs).layers[layer]
    state = "cell_state" if "cell_state" in arrays else "hidden_state"
    found = []
    for name in FEATURES:
        feature = np.stack([task.features(example.numpy())[name] for example in inputs])
        correlations = feature_correlations(arrays[state], feature)
        unit = int(np.nanargmax(np.abs(correlations)))
        found.append(FeatureUnit(name, unit, float(correlations[unit]), state))
    return found


@dataclass(frozen=True)
class CrossEntropy:
    name: str
    pitch: float  # bits per note
    duration: float

    @property
    def total(self) -> float:
        return self.pitch + self.duration


@torch.no_grad()
def test_cross_entropy(model: SequenceModel, task: ChoralesTask, length: int) -> CrossEntropy:
    """Bits per note on every note of the test stream but its first, each predicted once: the stream is cut into
    consecutive windows of `length` inputs (the last one shorter), as the model was trained to read. The same notes
    the count baselines are scored on, so the numbers compare exactly."""
    check_melody_model(model, task)
    notes = stream("test")
    pitch_bits, duration_bits, scored = 0.0, 0.0, 0
    was_training = model.training
    model.eval()
    try:
        for start in range(0, len(notes) - 1, length):
            window = notes[start:start + length + 1]
            inputs = torch.as_tensor(task.encode_notes(window[:-1])).unsqueeze(0)
            pitch, duration = task.per_step_bits(model(inputs), torch.as_tensor(window[1:]).unsqueeze(0))
            pitch_bits += float(pitch.sum())
            duration_bits += float(duration.sum())
            scored += len(window) - 1
    finally:
        model.train(was_training)
    return CrossEntropy(model.config.arch, pitch_bits / scored, duration_bits / scored)


def scored_notes() -> int:
    return count_baselines().notes


def baseline_rows() -> list[CrossEntropy]:
    counts = count_baselines()
    return [CrossEntropy("unigram", counts.unigram_pitch, counts.unigram_duration),
            CrossEntropy("bigram", counts.bigram_pitch, counts.bigram_duration)]
