"""Predict the next note of a Bach chorale melody: its pitch and its duration (with or without a fermata).

Data: the soprano lines of 409 chorales (lstm_viz.data.chorales; key-normalised to C major / A minor). Each split's
chorales are laid end to end in the file's order into one stream (a chorale ends under a fermata, so the seam reads
like a phrase break), and an example is `length` + 1 consecutive notes from a random place in it: the inputs are
the first `length` (one-hot pitch beside one-hot duration), the targets the last `length` (pitch index, duration
index). Training draws from the training tunes only; the test set and the probe examples from the test tunes (no
tune is on both sides: scripts/extract_chorales.py).

The output is two softmaxes side by side, the next pitch and the next duration; the loss and the metric are their
cross-entropies added, in bits per note. The references are count models of the training melodies, scored on every
note of the test stream, exactly (counts, no sampling):
- unigram (the `baseline`): each note's pitch and duration from their training frequencies, add-one smoothed so
  a pitch no training melody sings still costs a finite number of bits;
- bigram: the pitch from the previous pitch and the duration from the previous duration, Witten-Bell interpolated
  with that unigram, so an unseen pair falls back on the unigram in proportion to how many different successors its
  context had in training (no tuned constant). Reaching it is the task's "solved".
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import Tensor

from lstm_viz.data import chorales as data
from lstm_viz.data.text import one_hot, one_hot_tensor, rng_from
from lstm_viz.core.tasks.base import Split, Task

LN2 = math.log(2.0)


@lru_cache(maxsize=2)
def stream(split: str) -> np.ndarray:
    """(notes, 2) the split's chorales end to end; the probe examples come from the test tunes."""
    return np.concatenate(data.split_notes("test" if split == "probe" else split))


def unigram(counts: np.ndarray) -> np.ndarray:
    """Add-one smoothed probabilities from counts."""
    return (counts + 1.0) / (counts.sum() + len(counts))


def witten_bell(pairs: np.ndarray, fallback: np.ndarray) -> np.ndarray:
    """(context, next) probabilities from pair counts, interpolated with `fallback` by Witten-Bell: weight
    c(a) / (c(a) + T(a)) on the counts, where T(a) is the number of distinct successors of a; an unseen context
    gets `fallback` itself."""
    context = pairs.sum(axis=1, keepdims=True)
    types = (pairs > 0).sum(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        mixed = (pairs + types * fallback[None, :]) / (context + types)
    return np.where(context > 0, mixed, fallback[None, :])


@dataclass(frozen=True)
class CountBaselines:
    """Bits per note of the count models on the test stream, pitch and duration apart."""
    unigram_pitch: float
    unigram_duration: float
    bigram_pitch: float
    bigram_duration: float
    notes: int  # test notes scored (every note of the test stream but its first)

    @property
    def unigram(self) -> float:
        return self.unigram_pitch + self.unigram_duration

    @property
    def bigram(self) -> float:
        return self.bigram_pitch + self.bigram_duration


@lru_cache(maxsize=1)
def count_baselines() -> CountBaselines:
    vocab = data.vocabulary()
    train, test = stream("train"), stream("test")
    sizes = (len(vocab.pitches), len(vocab.durations))
    result = {}
    for column, (name, size) in enumerate(zip(("pitch", "duration"), sizes)):
        uni = unigram(np.bincount(train[:, column], minlength=size).astype(float))
        pairs = np.zeros((size, size))
        np.add.at(pairs, (train[:-1, column], train[1:, column]), 1.0)
        bi = witten_bell(pairs, uni)
        result[f"unigram_{name}"] = float(-np.log2(uni[test[1:, column]]).mean())
        result[f"bigram_{name}"] = float(-np.log2(bi[test[:-1, column], test[1:, column]]).mean())
    return CountBaselines(**result, notes=len(test) - 1)


def phrase_position(durations: np.ndarray) -> np.ndarray:
    """Notes since the phrase began, at each note: 0 on the first note after a fermata (or of the example)."""
    fermata = np.array([data.vocabulary().durations[int(d)][1] for d in durations])
    position = np.zeros(len(durations))
    for t in range(1, len(durations)):
        position[t] = 0.0 if fermata[t - 1] else position[t - 1] + 1.0
    return position


class ChoralesTask(Task):
    name = "chorales"
    label = "Bach chorale melodies (next note)"
    readout = "every"
    metric_name = "cross-entropy"
    metric_unit = "bits per note (pitch + duration)"
    default_length = 32
    min_length = 8
    max_length = 256
    description = (
        "Predict the next note (pitch and duration) of the soprano melodies of Bach's chorales; tested on tunes "
        "never seen in training."
    )
    baseline_name = "unigram baseline"
    baseline_description = "each note from the training melodies' pitch and duration frequencies (unigram, exact)"
    length_caption = "T = notes per example, 8–256 (a chorale melody has 22–185 notes; phrases about 8)."

    @property
    def pitch_count(self) -> int:
        return len(data.vocabulary().pitches)

    @property
    def duration_count(self) -> int:
        return len(data.vocabulary().durations)

    @property
    def input_size(self) -> int:  # type: ignore[override]
        return self.pitch_count + self.duration_count

    @property
    def output_size(self) -> int:  # type: ignore[override]
        return self.pitch_count + self.duration_count

    def encode_notes(self, notes: np.ndarray) -> np.ndarray:
        """(steps, input_size) float32 inputs for encoded notes (steps, 2)."""
        notes = np.asarray(notes, dtype=np.int64)
        return np.concatenate([one_hot(notes[:, 0], self.pitch_count), one_hot(notes[:, 1], self.duration_count)],
                              axis=-1)

    def decode_inputs(self, inputs: np.ndarray) -> np.ndarray:
        """The encoded notes (steps, 2) an input array (steps, input_size) holds."""
        inputs = np.asarray(inputs)
        return np.stack([inputs[:, :self.pitch_count].argmax(-1), inputs[:, self.pitch_count:].argmax(-1)], axis=-1)

    def generate(self, count: int, length: int, generator: torch.Generator, split: Split = "train") -> tuple[Tensor, Tensor]:
        notes = stream(split)
        starts = rng_from(generator).integers(0, len(notes) - length, size=count)
        windows = notes[starts[:, None] + np.arange(length + 1)]  # (count, length + 1, 2)
        inputs = torch.cat([one_hot_tensor(windows[:, :-1, 0], self.pitch_count),
                            one_hot_tensor(windows[:, :-1, 1], self.duration_count)], dim=-1)
        return inputs, torch.as_tensor(windows[:, 1:])

    def split_logits(self, outputs: Tensor) -> tuple[Tensor, Tensor]:
        return outputs[..., :self.pitch_count], outputs[..., self.pitch_count:]

    def per_step_bits(self, outputs: Tensor, targets: Tensor) -> tuple[Tensor, Tensor]:
        """(pitch bits, duration bits), each (count, steps)."""
        pitch, duration = self.split_logits(outputs)
        cross = torch.nn.functional.cross_entropy
        return (cross(pitch.transpose(1, 2), targets[..., 0], reduction="none") / LN2,
                cross(duration.transpose(1, 2), targets[..., 1], reduction="none") / LN2)

    def per_example_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        pitch, duration = self.per_step_bits(outputs, targets)
        return (pitch + duration).mean(dim=-1)

    def baseline(self, length: int) -> float:
        return count_baselines().unigram

    def bigram_baseline(self) -> float:
        return count_baselines().bigram

    def solved_threshold(self, length: int) -> float:
        return count_baselines().bigram

    def solved_phrase(self, length: int) -> str:
        return "beat the bigram baseline"

    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        notes = self.decode_inputs(inputs)
        pitches = data.vocabulary().pitches
        return {"pitch (MIDI)": np.array([pitches[int(p)] for p in notes[:, 0]], dtype=float),
                "phrase position": phrase_position(notes[:, 1])}

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        channels = self.input_channels(inputs)
        return {"phrase position": channels["phrase position"], "pitch height": channels["pitch (MIDI)"]}

    def input_tokens(self, inputs: np.ndarray) -> list[str]:
        return data.format_notes(self.decode_inputs(inputs)).split()

    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        words = self.input_tokens(inputs)
        return f"{len(words)} notes of a chorale melody: {' '.join(words[:8])}{' …' if len(words) > 8 else ''}"


CHORALES = ChoralesTask()
