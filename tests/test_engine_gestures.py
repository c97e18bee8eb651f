"""The gestures task and the stroke reader (lstm_viz.core.tasks.gestures, lstm_viz.analysis.strokes).

The generator's rotation and scale are measured from the raw strokes themselves, by a least-squares similarity fit
(Procrustes, in complex numbers) of each stroke onto its undistorted template, not read from the generator's record
alone. The reader is checked against the fused network run on each prefix of the same inputs, and against the
task's own batch for the same strokes."""
import copy
import math

import numpy as np
import pytest
import torch

from lstm_viz.analysis import strokes
from lstm_viz.core.tasks import get_task
from lstm_viz.core.tasks.gesture_shapes import CLASSES, SHAPES
from lstm_viz.core.tasks.gestures import (
    DENSE_POINTS, NO_SHAPE, Variation, RAW_POINTS_RANGE, ROTATION_DEGREES, SCALE_RANGE, BASE_SIZE_PX, draw_strokes, evenly_along,
    scribble, step_inputs,
)
from lstm_viz.rules.errors import UploadError
from lstm_viz.runs.bundled import GESTURES_RUN, load_bundled_run

TASK = get_task("gestures")


@pytest.fixture(scope="module")
def generated():
    return draw_strokes(17 * 40, torch.Generator().manual_seed(11))


@pytest.fixture(scope="module")
def shipped():
    trainer = load_bundled_run(GESTURES_RUN)
    models = {}
    for arch, run in trainer.runs.items():
        model = copy.deepcopy(run.model)  # the loaded run is shared by the process: read-only
        model.load_state_dict(run.checkpoints[-1].state_dict)
        models[arch] = model.eval()
    return trainer, models


def test_classes_are_balanced_and_scribbles_are_one_in_seventeen(generated):
    labels = np.array([stroke.label for stroke in generated])
    counts = {label: int((labels == label).sum()) for label in [*range(len(CLASSES)), NO_SHAPE]}
    assert set(counts.values()) == {40}
    _, targets = TASK.generate(100, 32, torch.Generator().manual_seed(3))
    shape_counts = np.bincount(targets[targets >= 0].numpy(), minlength=16)
    assert shape_counts.max() - shape_counts.min() <= 1 and int((targets == NO_SHAPE).sum()) in (5, 6)


def _reference(stroke) -> np.ndarray:
    """The undistorted template with the stroke's start point and direction, 64 points along it, centred."""
    vertices, closed = SHAPES[CLASSES[stroke.label]]
    path = evenly_along(vertices, DENSE_POINTS)
    if closed:
        ring = np.roll(path[:-1], -round(stroke.start * (DENSE_POINTS - 1)), axis=0)
        path = np.vstack([ring, ring[:1]])
    return evenly_along(path[::-1] if stroke.reversed else path, 64)


def similarity_fit(reference: np.ndarray, drawn: np.ndarray) -> tuple[float, float]:
    """(rotation in degrees, scale) of the least-squares drawn ~ s e^{i theta} reference, both centred."""
    a = reference[:, 0] + 1j * reference[:, 1]
    b = drawn[:, 0] + 1j * drawn[:, 1]
    a, b = a - a.mean(), b - b.mean()
    product = np.sum(np.conj(a) * b)
    return math.degrees(np.angle(product)), float(abs(product) / np.sum(abs(a) ** 2))


def test_rotation_and_scale_measured_from_the_strokes_stay_in_their_stated_ranges():
    # Stretch, shear and moved corners off (they change lengths along the stroke, so no point of the template
    # matches a point of the drawing any more); rotation, scale, start, direction, speed and tremor as always.
    rigid = Variation(aspect_range=(1.0, 1.0), shear_range=(0.0, 0.0), vertex_jitter=0.0)
    shapes = [s for s in draw_strokes(17 * 40, torch.Generator().manual_seed(11), rigid) if s.label != NO_SHAPE]
    fits = np.array([similarity_fit(_reference(s), evenly_along(s.points, 64)) for s in shapes])
    rotation, scale = fits[:, 0], fits[:, 1] / BASE_SIZE_PX
    # A stroke of few raw points cuts the corners, and the tremor wiggles: a fit is off by 0.5 degrees typically,
    # by up to 7 on a sparse rectangle.
    assert np.abs(rotation).max() <= ROTATION_DEGREES + 7
    assert np.quantile(np.abs(rotation), 0.95) >= ROTATION_DEGREES * 0.85  # the range is used to its ends
    assert SCALE_RANGE[0] * 0.9 <= scale.min() < SCALE_RANGE[0] * 1.05
    assert SCALE_RANGE[1] * 0.95 < scale.max() <= SCALE_RANGE[1] * 1.07
    # The strokes are turned by what the generator says it turned them by.
    recorded = np.array([s.rotation_degrees for s in shapes])
    assert np.median(np.abs(rotation - recorded)) < 1.0 and np.quantile(np.abs(rotation - recorded), 0.95) < 3.0
    assert np.abs(recorded).max() <= ROTATION_DEGREES


def test_with_every_variation_on_the_strokes_still_fit_their_templates(generated):
    shapes = [stroke for stroke in generated if stroke.label != NO_SHAPE]
    fits = np.array([similarity_fit(_reference(s), evenly_along(s.points, 64)) for s in shapes])
    recorded = np.array([s.rotation_degrees for s in shapes])
    # A shear of 0.15 alone looks like up to 8.5 degrees of turn to a similarity fit.
    assert np.median(np.abs(fits[:, 0] - recorded)) < 4.0 and np.abs(fits[:, 0]).max() < ROTATION_DEGREES + 20


def test_strokes_vary_in_point_count_spacing_start_and_direction(generated):
    shapes = [stroke for stroke in generated if stroke.label != NO_SHAPE]
    counts = np.array([len(s.points) for s in shapes])
    assert RAW_POINTS_RANGE[0] <= counts.min() and counts.max() <= RAW_POINTS_RANGE[1] and counts.std() > 15
    # Drawing speed: the spacing of the raw points varies along a stroke (even spacing has a spread near 0).
    spreads = [np.std(np.hypot(*np.diff(s.points, axis=0).T)) / np.mean(np.hypot(*np.diff(s.points, axis=0).T))
               for s in shapes]
    assert np.median(spreads) > 0.2
    closed = [s for s in shapes if SHAPES[CLASSES[s.label]][1]]
    assert 0.3 < np.mean([s.reversed for s in closed]) < 0.7 and np.std([s.start for s in closed]) > 0.2


def test_each_step_is_a_normalised_point_and_a_unit_direction():
    inputs, _ = TASK.generate(50, 32, torch.Generator().manual_seed(5))
    points, directions = inputs[..., :2].numpy(), inputs[..., 2:].numpy()
    extent = points.max(axis=1) - points.min(axis=1)
    assert np.allclose(extent.max(axis=1), 1.0, atol=1e-5)
    assert np.allclose((points.max(axis=1) + points.min(axis=1)) / 2, 0.0, atol=1e-5)
    assert np.allclose(np.linalg.norm(directions, axis=-1), 1.0, atol=1e-5)


def test_a_circle_turns_once_in_total():
    circle = step_inputs(strokes.template_stroke("circle"), 48)
    assert abs(TASK.features(circle)["total turning so far"][-1]) == pytest.approx(2 * math.pi, abs=0.3)
    assert abs(TASK.features(step_inputs(strokes.template_stroke("v"), 48))["total turning so far"][-1]) < 3.0


def test_the_reader_gives_what_the_fused_network_gives_on_every_prefix(shipped):
    trainer, models = shipped
    raw = draw_strokes(6, torch.Generator().manual_seed(21))
    for arch, model in models.items():
        for stroke in raw:
            reading = strokes.read_stroke(model, stroke.points, 32)
            inputs = torch.from_numpy(step_inputs(stroke.points, 32)).unsqueeze(0)
            with torch.no_grad():
                expected = np.stack([torch.softmax(model(inputs[:, : t + 1]).double(), -1)[0].numpy()
                                     for t in range(32)])
            np.testing.assert_allclose(reading.probabilities, expected, atol=2e-5)


def test_the_reader_reads_a_stroke_as_the_task_batch_does(shipped):
    _, models = shipped
    raw = draw_strokes(20, torch.Generator().manual_seed(8))
    inputs, _ = TASK.generate(20, 32, torch.Generator().manual_seed(8))
    with torch.no_grad():
        batch = torch.softmax(models["lstm"](inputs).double(), -1).numpy()
    read = np.stack([strokes.read_stroke(models["lstm"], s.points, 32).final for s in raw])
    np.testing.assert_allclose(read, batch, atol=2e-5)


def test_the_shipped_gated_cells_name_generated_strokes_and_doubt_scribbles(shipped):
    _, models = shipped
    inputs, targets = TASK.generate(1024, 32, torch.Generator().manual_seed(99))
    rng = np.random.default_rng(4)
    wanders = [scribble(rng) for _ in range(100)]
    errors = {}
    for arch, model in models.items():
        with torch.no_grad():
            outputs = model(inputs)
        errors[arch] = TASK.metric(outputs, targets)
        if arch != "rnn":
            confident = torch.softmax(outputs[targets >= 0], -1).max(-1).values.numpy()
            assert (confident < strokes.UNSURE_BELOW).mean() < 0.03, arch
            unsure = [strokes.read_stroke(model, w, 32).unsure for w in wanders]
            assert np.mean(unsure) >= 0.9, arch
    assert errors["lstm"] <= 0.02 and errors["gru"] <= 0.02 and errors["rnn"] > max(errors["lstm"], errors["gru"])


@pytest.mark.parametrize("points, message", [
    (None, "empty"), ([], "empty"), ([[10.0, 10.0]], "single point"), ([[1.0, 2.0]] * 40, "dot"),
    ([[0.0, 0.0], [float("nan"), 3.0], [50.0, 50.0]], "not a finite number"),
    ([[0.0, 0.0], [float("inf"), 3.0]], "not a finite number"), ([[0, 1, 2], [3, 4, 5]], "pairs"),
    ([["a", "b"], ["c", "d"]], "not pairs of numbers"), ([[0.0, 0.0]] * (strokes.MAX_POINTS + 1), "at most"),
])
def test_hostile_strokes_get_a_message(points, message):
    with pytest.raises(UploadError, match=message):
        strokes.check_points(points)


def test_the_canvas_drawing_is_read_path_by_path_and_its_size_checked():
    drawing = {"objects": [
        {"type": "path", "path": [["M", 1, 2], ["Q", 3, 4, 5, 6], ["L", 7, 8]]},
        {"type": "rect", "left": 0},
        {"type": "path", "path": [["M", 10, 10], ["L", 20, 20]]},
    ]}
    assert strokes.canvas_strokes(drawing) == [[[1, 2], [3, 4], [5, 6], [7, 8]], [[10, 10], [20, 20]]]
    assert strokes.canvas_strokes(None) == [] and strokes.canvas_strokes({"objects": []}) == []
    assert strokes.canvas_strokes("not a drawing") == []
    with pytest.raises(UploadError, match="more than"):
        strokes.canvas_strokes({"objects": [{"type": "path", "path": [["L", 1, 1]] * (strokes.MAX_POINTS + 1)}]})
    with pytest.raises(UploadError, match="strokes"):
        strokes.canvas_strokes({"objects": [{}] * (strokes.MAX_CANVAS_OBJECTS + 1)})
