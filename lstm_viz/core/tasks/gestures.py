"""Unistroke gestures: the 16 shapes of Wobbrock, Wilson & Li's $1 recognizer (UIST 2007; templates in
gesture_shapes.py), drawn with the variation a hand brings, read point by point, and named at the end.

Each example starts as a raw stroke, the way a canvas records one: the template's corners jittered, stretched,
sheared, rotated and scaled, started anywhere on a closed shape and sometimes drawn the other way round, sampled at
a speed that varies along the stroke (so the raw points are unevenly spaced) with a little tremor. Then, as $1
does, it is resampled to T points evenly spaced along its length, centred on its bounding box and divided by the
box's larger side. Each of the T steps the network reads is (x, y, dx, dy): the point and the unit direction of the
step that reached it. Readout at the last step; 16 classes, drawn in equal numbers, so guessing scores 15/16.

One example in 17 is a scribble, a random wander of the pen that is none of the shapes (label NO_SHAPE). Its loss is
the cross-entropy against the uniform distribution over the 16 classes, Hendrycks, Mazeika & Dietterich's "outlier
exposure" (ICLR 2019): without it a softmax names a scribble with 95% confidence as readily as a circle, and the
page could not say "not sure". The metric, the error rate, counts the shapes only.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from lstm_viz.core.tasks.base import Split, Task
from lstm_viz.core.tasks.gesture_shapes import CLASSES, SHAPES
from lstm_viz.rules.errors import ConfigError

# The variation of a generated stroke: every range is drawn uniformly.
ROTATION_DEGREES = 20.0  # rotated by -20..+20 degrees
SCALE_RANGE = (0.5, 2.0)  # times BASE_SIZE_PX
BASE_SIZE_PX = 120.0
ASPECT_RANGE = (0.8, 1.25)  # width stretched against height
SHEAR_RANGE = (-0.15, 0.15)
VERTEX_JITTER = 0.03  # each corner of a polyline template moves by this (standard deviation, fraction of its size)
TREMOR = 0.006  # each raw point moves by this (standard deviation, fraction of the stroke's size)
RAW_POINTS_RANGE = (24, 120)  # how many points the canvas recorded
SPEED_VARIATION = 0.8  # drawing speed varies by up to +-80 % along the stroke (1 + a cos(...), a <= 0.8)
REVERSE_CLOSED, REVERSE_OPEN = 0.5, 0.15  # chance a stroke is drawn the other way round
NO_SHAPE = -1  # the label of a scribble
SCRIBBLE_TURN = 0.9  # a scribble turns by this much (radians, standard deviation) between recorded points
SCRIBBLE_STEP_PX = (4.0, 12.0)
DENSE_POINTS = 256  # the template's path, before the drawing samples it
CURVE_VERTICES = 10  # templates with more vertices than this are curves: no corner jitter


@dataclass(frozen=True)
class Variation:
    """The ranges above as one value, so a test can switch parts off and measure the others alone."""
    rotation_degrees: float = ROTATION_DEGREES
    scale_range: tuple[float, float] = SCALE_RANGE
    aspect_range: tuple[float, float] = ASPECT_RANGE
    shear_range: tuple[float, float] = SHEAR_RANGE
    vertex_jitter: float = VERTEX_JITTER
    tremor: float = TREMOR


HAND = Variation()


@dataclass(frozen=True)
class Stroke:
    """One generated raw stroke (canvas pixels, y down) and what was drawn."""
    points: np.ndarray  # (n, 2)
    label: int
    rotation_degrees: float
    scale: float
    start: float  # where on a closed shape it starts, as a fraction of its length (0 for open shapes)
    reversed: bool


def evenly_along(points: np.ndarray, count: int) -> np.ndarray:
    """`count` points evenly spaced along the polyline `points` (n, 2), both ends kept."""
    distance = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(points, axis=0).T))])
    targets = np.linspace(0.0, distance[-1], count)
    return np.stack([np.interp(targets, distance, points[:, 0]), np.interp(targets, distance, points[:, 1])], axis=1)


def resample(points: np.ndarray, steps: int) -> np.ndarray:
    """$1's first steps: `steps` points evenly spaced along the stroke, centred on their bounding box and divided by
    its larger side (the stroke keeps its aspect ratio). `points` must have a length > 0 (callers check)."""
    even = evenly_along(np.asarray(points, dtype=np.float64), steps)
    low, high = even.min(axis=0), even.max(axis=0)
    return (even - (low + high) / 2) / max(float((high - low).max()), 1e-12)


def step_inputs(points: np.ndarray, steps: int) -> np.ndarray:
    """(steps, 4) float32: the resampled, normalised point (x, y) and the unit direction (dx, dy) of the step that
    reached it (the first step takes the second's direction)."""
    even = resample(points, steps)
    moves = np.diff(even, axis=0)
    moves = np.vstack([moves[:1], moves])
    lengths = np.hypot(moves[:, 0], moves[:, 1])[:, None]
    directions = np.divide(moves, lengths, out=np.zeros_like(moves), where=lengths > 0)
    return np.hstack([even, directions]).astype(np.float32)


def _shape_path(label: int, rng: np.random.Generator, jitter: float) -> tuple[np.ndarray, float, bool]:
    """The template's dense path with its corners jittered, start point moved and direction chosen."""
    vertices, closed = SHAPES[CLASSES[label]]
    vertices = vertices.copy()
    if len(vertices) <= CURVE_VERTICES:
        vertices += rng.normal(0.0, jitter, vertices.shape)
        if closed:
            vertices[-1] = vertices[0]
    path = evenly_along(vertices, DENSE_POINTS)
    start = 0.0
    if closed:
        shift = int(rng.integers(0, DENSE_POINTS - 1))
        start = shift / (DENSE_POINTS - 1)
        ring = np.roll(path[:-1], -shift, axis=0)
        path = np.vstack([ring, ring[:1]])
    flip = bool(rng.random() < (REVERSE_CLOSED if closed else REVERSE_OPEN))
    return (path[::-1] if flip else path), start, flip


def _drawn(path: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """`count` points of `path` as a hand at a varying speed records them: dense where it slows down."""
    amplitude = rng.uniform(0.0, SPEED_VARIATION)
    frequency, phase = rng.uniform(0.5, 3.0), rng.uniform(0.0, 2 * np.pi)
    u = np.linspace(0.0, 1.0, count)
    omega = 2 * np.pi * frequency
    # The distance travelled by time u at speed 1 + a cos(omega u + phase): positive, so it only moves forwards.
    travelled = u + amplitude * (np.sin(omega * u + phase) - np.sin(phase)) / omega
    travelled /= travelled[-1]
    distance = np.concatenate([[0.0], np.cumsum(np.hypot(*np.diff(path, axis=0).T))])
    targets = travelled * distance[-1]
    return np.stack([np.interp(targets, distance, path[:, 0]), np.interp(targets, distance, path[:, 1])], axis=1)


def draw_stroke(label: int, rng: np.random.Generator, variation: Variation = HAND) -> Stroke:
    path, start, flip = _shape_path(label, rng, variation.vertex_jitter)
    path = path - (path.min(axis=0) + path.max(axis=0)) / 2
    angle = np.radians(rng.uniform(-variation.rotation_degrees, variation.rotation_degrees))
    scale = rng.uniform(*variation.scale_range)
    aspect = np.sqrt(rng.uniform(*variation.aspect_range))
    shear = rng.uniform(*variation.shear_range)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    distortion = np.array([[aspect, shear], [0.0, 1.0 / aspect]])
    size = scale * BASE_SIZE_PX
    raw = _drawn(path, int(rng.integers(RAW_POINTS_RANGE[0], RAW_POINTS_RANGE[1] + 1)), rng)
    raw = raw @ (rotation @ distortion).T * size
    raw += rng.normal(0.0, variation.tremor * size, raw.shape) + rng.uniform(100.0, 300.0, 2)
    return Stroke(raw, label, float(np.degrees(angle)), float(scale), start, flip)


def scribble(rng: np.random.Generator, count: int | None = None) -> np.ndarray:
    """A random wander of the pen (canvas pixels): it turns by a random amount at every point, so it is none of the
    16 shapes."""
    count = count or int(rng.integers(RAW_POINTS_RANGE[0], RAW_POINTS_RANGE[1] + 1))
    turns = np.cumsum(rng.normal(0.0, SCRIBBLE_TURN, count)) + rng.uniform(0.0, 2 * np.pi)
    steps = np.stack([np.cos(turns), np.sin(turns)], axis=1) * rng.uniform(*SCRIBBLE_STEP_PX, (count, 1))
    return 200.0 + np.cumsum(steps, axis=0)


def balanced_labels(count: int, rng: np.random.Generator) -> np.ndarray:
    """The 16 classes and NO_SHAPE, each count // 17 or count // 17 + 1 times, in random order."""
    labels = np.arange(count) % (len(CLASSES) + 1)
    return rng.permutation(np.where(labels == len(CLASSES), NO_SHAPE, labels))


def draw_strokes(count: int, generator: torch.Generator, variation: Variation = HAND) -> list[Stroke]:
    # NumPy's generator, seeded from the torch one: same torch state, same strokes.
    rng = np.random.default_rng(int(torch.randint(0, 2**62, (1,), generator=generator)))
    return [draw_stroke(int(label), rng, variation) if label != NO_SHAPE else Stroke(scribble(rng), NO_SHAPE, 0.0, 1.0, 0.0, False)
            for label in balanced_labels(count, rng)]


class GesturesTask(Task):
    name = "gestures"
    label = "Gestures ($1 unistrokes)"
    input_size = 4
    output_size = len(CLASSES)
    readout = "last"
    metric_name = "error rate"
    metric_unit = "fraction of strokes misnamed"
    default_length = 32
    min_length = 8
    max_length = 128
    description = (
        "Read a drawn stroke point by point (x, y and the direction of each step; T points evenly spaced along "
        "it) and name which of the 16 shapes of the $1 recognizer it is: triangle, x, rectangle, circle, check, "
        "caret, zig-zag, arrow, brackets, v, delete, braces, star or pigtail."
    )
    baseline_description = "guess one shape (no memory of the stroke): error 15/16"
    classes = CLASSES

    def generate(self, count: int, length: int, generator: torch.Generator, split: Split = "train") -> tuple[Tensor, Tensor]:
        # Every split is drawn the same way; only the generator's seed tells them apart.
        strokes = draw_strokes(count, generator)
        inputs = np.stack([step_inputs(stroke.points, length) for stroke in strokes]) if strokes else \
            np.zeros((0, length, self.input_size), np.float32)
        return torch.from_numpy(inputs), torch.tensor([stroke.label for stroke in strokes], dtype=torch.long)

    def per_example_loss(self, outputs: Tensor, targets: Tensor) -> Tensor:
        log_probabilities = torch.log_softmax(outputs, dim=-1)
        named = -log_probabilities.gather(1, targets.clamp(min=0).unsqueeze(1)).squeeze(1)
        # A scribble's target is the uniform distribution: its cross-entropy is the mean of -log p over the classes.
        return torch.where(targets >= 0, named, -log_probabilities.mean(dim=-1))

    def metric(self, outputs: Tensor, targets: Tensor) -> float:
        shapes = targets >= 0
        return float((outputs.argmax(dim=-1)[shapes] != targets[shapes]).float().mean()) if shapes.any() else 0.0

    def baseline(self, length: int) -> float:
        return 1.0 - 1.0 / len(CLASSES)

    def solved_threshold(self, length: int) -> float:
        return 0.05

    def solved_phrase(self, length: int) -> str:
        return f"named 95% of the gestures (T={length})"

    def input_channels(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        return {"x": inputs[:, 0], "y (down)": inputs[:, 1], "turning angle (rad)": turning(inputs)}

    def describe_example(self, inputs: np.ndarray, target: np.ndarray) -> str:
        label = int(np.asarray(target).reshape(-1)[0])
        shape = "scribble (none of the 16 shapes)" if label == NO_SHAPE else CLASSES[label]
        return f"A {shape}, {len(inputs)} points along the stroke."

    def features(self, inputs: np.ndarray) -> dict[str, np.ndarray]:
        steps = len(inputs)
        angle = turning(inputs)
        return {
            "fraction of the stroke drawn": np.arange(steps) / max(steps - 1, 1),
            "turning angle": angle,
            # Total turning tells a circle (one full turn) from a pigtail or a star (more).
            "total turning so far": np.cumsum(angle),
            "x": inputs[:, 0].astype(np.float64),
            "y": inputs[:, 1].astype(np.float64),
            "distance from the start": np.hypot(*(inputs[:, :2] - inputs[0, :2]).T).astype(np.float64),
        }

    def class_name(self, index: int) -> str:
        if not 0 <= index < len(CLASSES):
            raise ConfigError(f"no gesture class {index}")
        return CLASSES[index]


def turning(inputs: np.ndarray) -> np.ndarray:
    """Signed angle (radians) between each step's direction and the previous one's; 0 at the first step."""
    dx, dy = inputs[:, 2].astype(np.float64), inputs[:, 3].astype(np.float64)
    cross = dx[:-1] * dy[1:] - dy[:-1] * dx[1:]
    dot = dx[:-1] * dx[1:] + dy[:-1] * dy[1:]
    return np.concatenate([[0.0], np.arctan2(cross, dot)])


GESTURES = GesturesTask()
