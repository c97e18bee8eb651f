"""A drawn stroke read by a trained gestures network: the canvas's points checked, resampled and normalised exactly as
the task's generator does (lstm_viz.core.tasks.gestures.step_inputs), then read step by step with every gate kept.

"After every point" means here: after each of the T points the network reads. The whole stroke is resampled to T
points evenly spaced along it and scaled by its bounding box (that needs the finished stroke), and the network
reads them in drawing order; the probabilities after point t are the readout applied to its state after the first
t of them, so nothing after point t has reached the network (only the stroke's size and centre came from the whole).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from lstm_viz.core.model import SequenceModel
from lstm_viz.core.tasks.gesture_shapes import CLASSES, SHAPES
from lstm_viz.core.tasks.gestures import Variation, draw_stroke, evenly_along, scribble, step_inputs
from lstm_viz.core.traces import Trace, trace
from lstm_viz.rules.errors import UploadError

MAX_POINTS = 2000  # a stroke of a minute at 30 points a second; more is refused before anything is converted
MAX_CANVAS_OBJECTS = 200
MIN_EXTENT_PX = 4.0  # a stroke whose bounding box is smaller than this on both sides is a dot, not a shape
# Below this top probability the page says "not sure": a scribble, or a shape between two classes. Measured on the
# shipped run (tests/test_engine_strokes.py): generated strokes sit above it, most random scribbles below.
UNSURE_BELOW = 0.7
PATH_COMMANDS = {"M", "L", "Q", "C"}


def check_points(points) -> np.ndarray:
    """(n, 2) float64 canvas points, or UploadError saying what is wrong. The count is checked first."""
    if points is None or len(points) == 0:
        raise UploadError("The canvas is empty: draw a shape (one stroke, without lifting the pen) or pick an example.")
    if len(points) > MAX_POINTS:
        raise UploadError(f"The stroke has {len(points)} points; at most {MAX_POINTS} are read. Draw a shorter stroke.")
    try:
        array = np.asarray(points, dtype=np.float64)
    except (TypeError, ValueError):
        raise UploadError("The stroke's points are not pairs of numbers.") from None
    if array.ndim != 2 or array.shape[1] != 2:
        raise UploadError("The stroke's points are not pairs of numbers (x, y).")
    if not np.isfinite(array).all():
        raise UploadError("The stroke has a point that is not a finite number (NaN or infinity); draw it again.")
    if len(array) < 2:
        raise UploadError("The stroke is a single point: draw a line, without lifting the pen.")
    extent = array.max(axis=0) - array.min(axis=0)
    if float(extent.max()) < MIN_EXTENT_PX:
        raise UploadError(f"The stroke is a dot (smaller than {MIN_EXTENT_PX:g} pixels): draw a larger shape.")
    return array


def canvas_strokes(json_data) -> list[list[list[float]]]:
    """The point lists of every freehand path on a Fabric.js canvas (streamlit-drawable-canvas's json_data), in
    drawing order: every coordinate pair of the path's commands (a pencil path is M, then quadratic curves whose
    control points are the recorded mouse positions, then L). Sizes are checked before anything is read."""
    objects = (json_data or {}).get("objects") if isinstance(json_data, dict) else None
    if not objects:
        return []
    if not isinstance(objects, list) or len(objects) > MAX_CANVAS_OBJECTS:
        raise UploadError(f"The canvas holds more than {MAX_CANVAS_OBJECTS} strokes; clear it and draw one.")
    strokes = []
    for item in objects:
        path = item.get("path") if isinstance(item, dict) else None
        if not isinstance(path, list):
            continue
        if len(path) > MAX_POINTS:
            raise UploadError(f"A stroke has more than {MAX_POINTS} points; draw a shorter stroke.")
        points = []
        for command in path:
            if isinstance(command, list) and command and command[0] in PATH_COMMANDS:
                values = command[1:]
                points.extend([values[i], values[i + 1]] for i in range(0, len(values) - 1, 2))
        strokes.append(points)
    return strokes


@dataclass
class StrokeReading:
    arch: str
    points: np.ndarray  # (T, 2) the resampled points in canvas pixels, where each step's values are drawn
    inputs: np.ndarray  # (T, 4) what the network read: x, y (normalised) and the unit step direction
    trace: Trace  # every gate and state, batch of one
    probabilities: np.ndarray  # (T, classes): after each point read

    @property
    def final(self) -> np.ndarray:
        return self.probabilities[-1]

    @property
    def predicted(self) -> int:
        return int(np.argmax(self.final))

    @property
    def confidence(self) -> float:
        return float(self.final.max())

    @property
    def unsure(self) -> bool:
        return self.confidence < UNSURE_BELOW

    def knew_at(self) -> float:
        """The fraction of the stroke (0..1) from which on the final answer stayed the network's top class."""
        top = self.probabilities.argmax(axis=1)
        wrong = np.flatnonzero(top != self.predicted)
        first = int(wrong[-1]) + 1 if len(wrong) else 0
        return first / max(len(top) - 1, 1)


def stroke_inputs(points, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """(the T resampled points in canvas pixels, the (T, 4) inputs) of a checked stroke."""
    array = check_points(points)
    return evenly_along(array, steps), step_inputs(array, steps)


@torch.no_grad()
def read_stroke(model: SequenceModel, points, steps: int) -> StrokeReading:
    """The network's class probabilities after each of the `steps` resampled points, with its gates."""
    if model.config.output_size != len(CLASSES) or model.config.input_size != 4:
        raise UploadError("This model was not trained on the gestures task.")
    shown, inputs = stroke_inputs(points, steps)
    result = trace(model, torch.from_numpy(inputs).unsqueeze(0))
    top = torch.as_tensor(result.layers[-1]["hidden_state"][0])
    if not model.architecture.recurrent:
        top = model.transformer.final_norm(top)
    logits = model.readout(top)  # the readout after every step, not only the last
    return StrokeReading(model.config.arch, shown, inputs, result, torch.softmax(logits.double(), dim=-1).numpy())


def _fit_box(points: np.ndarray, size: float, offset: tuple[float, float]) -> np.ndarray:
    low = points.min(axis=0)
    return (points - low) / max(float((points.max(axis=0) - low).max()), 1e-12) * size + np.asarray(offset)


def template_stroke(name: str, size: float = 200.0, offset: tuple[float, float] = (60.0, 40.0)) -> np.ndarray:
    """A class's template itself as a canvas stroke (60 points along it): straight lines, no tremor."""
    vertices, _ = SHAPES[name]
    return _fit_box(evenly_along(vertices, 60), size, offset)


# The example buttons' strokes: the generator's own hand (tremor, uneven speed, moved corners), turned a little.
EXAMPLE_VARIATION = Variation(rotation_degrees=5.0, scale_range=(1.0, 1.0))


def example_stroke(name: str, size: float = 260.0, offset: tuple[float, float] = (110.0, 50.0)) -> np.ndarray:
    """A stroke of class `name` (or "scribble") as a hand might draw it, the same every time, fitted into a box of
    `size` pixels at `offset` on the canvas. A template's exact straight lines are no hand's: on the shipped run
    the GRU doubts the exact triangle (49%) but names every one of these."""
    if name == "scribble":
        return _fit_box(scribble(np.random.default_rng(3), 90), size, offset)
    index = CLASSES.index(name)
    return _fit_box(draw_stroke(index, np.random.default_rng(index), EXAMPLE_VARIATION).points, size, offset)


def fraction_text(fraction: float) -> str:
    return f"{math.floor(100 * fraction + 0.5)}%"
