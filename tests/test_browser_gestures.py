"""The Gestures page in a real browser: strokes drawn with the mouse on the canvas (Playwright's mouse.down, move,
up) are read by the shipped networks, and each cell's answer is taken from the page. The shapes are written here,
independently of the task's templates, and drawn with small random distortions (rotation, size, corners moved,
uneven mouse steps), two of each of the 16 classes, the closed ones the second time from another start and the
other way round. The accuracy per cell goes to tests/artifacts/gestures_drawn.json with a screenshot."""
import json
import math
import re

import numpy as np
import pytest

from tests.browser_support import ARTIFACTS, app_server, app_url, browser, expect, page, wait_until_idle  # noqa: F401

pytestmark = pytest.mark.browser

APP_LOG = "streamlit_gestures.log"
VIEWPORT = {"width": 1400, "height": 1200}
CELLS = ("RNN (tanh)", "GRU", "LSTM")


def _circle(turns: float = 1.0, count: int = 40):
    angles = np.linspace(0, 2 * np.pi * turns, count)
    return np.stack([0.5 - 0.45 * np.sin(angles), 0.5 - 0.45 * np.cos(angles)], axis=1)  # from the top, anticlockwise


def _pigtail():
    u = np.linspace(-0.8 * np.pi, 0.8 * np.pi, 40)
    return np.stack([0.5 + (u - 1.8 * np.sin(u)) / 6.5, 0.55 - 1.8 * np.cos(u) / 4.2], axis=1)


def _star():
    tips = [(0.5 + 0.45 * math.cos(a), 0.52 + 0.45 * math.sin(a))
            for a in (-math.pi / 2 + 2 * math.pi * k / 5 for k in range(5))]
    return np.array([tips[k] for k in (3, 0, 2, 4, 1, 3)])


# The 16 shapes as a hand draws them, in a unit box (y down), with whether they are closed.
DRAWN = {
    "triangle": (np.array([[0.5, 0.05], [0.05, 0.9], [0.95, 0.9], [0.5, 0.05]]), True),
    "x": (np.array([[0.1, 0.1], [0.9, 0.9], [0.9, 0.1], [0.1, 0.9]]), False),
    "rectangle": (np.array([[0.05, 0.2], [0.05, 0.8], [0.95, 0.8], [0.95, 0.2], [0.05, 0.2]]), True),
    "circle": (_circle(), True),
    "check": (np.array([[0.05, 0.5], [0.35, 0.9], [0.95, 0.1]]), False),
    "caret": (np.array([[0.05, 0.9], [0.5, 0.1], [0.95, 0.9]]), False),
    "zig-zag": (np.array([[0.05, 0.2], [0.25, 0.75], [0.45, 0.2], [0.65, 0.75], [0.85, 0.2], [0.95, 0.6]]), False),
    "arrow": (np.array([[0.05, 0.95], [0.9, 0.15], [0.45, 0.15], [0.9, 0.15], [0.9, 0.6]]), False),
    "left square bracket": (np.array([[0.6, 0.05], [0.2, 0.05], [0.2, 0.95], [0.6, 0.95]]), False),
    "right square bracket": (np.array([[0.4, 0.05], [0.8, 0.05], [0.8, 0.95], [0.4, 0.95]]), False),
    "v": (np.array([[0.1, 0.1], [0.5, 0.9], [0.9, 0.1]]), False),
    "delete": (np.array([[0.1, 0.1], [0.9, 0.9], [0.1, 0.9], [0.9, 0.1]]), False),
    "left curly brace": (np.array([[0.65, 0.05], [0.45, 0.1], [0.42, 0.4], [0.2, 0.5], [0.42, 0.6], [0.45, 0.9],
                                   [0.65, 0.95]]), False),
    "right curly brace": (np.array([[0.35, 0.05], [0.55, 0.1], [0.58, 0.4], [0.8, 0.5], [0.58, 0.6], [0.55, 0.9],
                                    [0.35, 0.95]]), False),
    "star": (_star(), True),
    "pigtail": (_pigtail(), False),
}


def distorted(name: str, repeat: int, rng: np.random.Generator, origin: tuple[float, float]) -> list:
    """Page pixels of one drawing of `name`: turned by up to 8 degrees, 150-230 px, corners moved by up to 3% of
    the size, the pen moving 3-9 px per mouse event; a closed shape's second drawing starts elsewhere, reversed."""
    vertices, closed = DRAWN[name]
    vertices = vertices + (rng.uniform(-0.03, 0.03, vertices.shape) if len(vertices) < 10 else 0.0)
    if closed and repeat == 1:
        ring = np.roll(vertices[:-1], -(len(vertices) // 3), axis=0)[::-1]
        vertices = np.vstack([ring, ring[:1]])
    angle = math.radians(rng.uniform(-8, 8))
    rotation = np.array([[math.cos(angle), -math.sin(angle)], [math.sin(angle), math.cos(angle)]])
    size = rng.uniform(150, 230)
    pixels = (vertices - 0.5) @ rotation.T * size + np.array(origin)
    points = [pixels[0]]
    for start, end in zip(pixels[:-1], pixels[1:]):
        count = max(1, int(np.linalg.norm(end - start) / rng.uniform(3, 9)))
        points.extend(start + (end - start) * (k / count) for k in range(1, count + 1))
    return [tuple(map(float, p)) for p in points]


def answers(page) -> dict[str, str]:
    """{cell label: its answer} from the page's verdict row."""
    found = {}
    for text in page.locator('[data-testid="stMetric"]').all_inner_texts():
        parts = [part.strip() for part in re.split(r"\n+", text) if part.strip()]
        if len(parts) >= 2 and parts[0] in CELLS:
            found[parts[0]] = parts[1]
    return found


def draw(page, points) -> None:
    # Fabric.js takes the mouse on its upper canvas; after Clear the component mounts a new one a moment after the
    # script run has ended, and events sent before that are lost.
    canvas = page.locator(".st-key-gest_canvas_area canvas.upper-canvas").last
    expect(canvas).to_be_visible(timeout=30_000)
    page.wait_for_timeout(500)
    box = canvas.bounding_box()
    shifted = [(box["x"] + x, box["y"] + y) for x, y in points]
    page.mouse.move(*shifted[0])
    page.mouse.down()
    for point in shifted[1:]:
        page.mouse.move(*point)
    page.mouse.up()


def test_strokes_drawn_with_the_mouse_are_named(app_url, page):
    rng = np.random.default_rng(15)
    page.goto(f"{app_url}/gestures?gest_example=none")
    wait_until_idle(page, 60_000)
    expect(page.get_by_text("The canvas is empty")).to_be_visible(timeout=60_000)
    right = {cell: 0 for cell in CELLS}
    drawn, missed = [], 0
    for repeat in range(2):
        for name in DRAWN:
            page.locator(".st-key-gest_clear button").click()
            wait_until_idle(page)
            expect(page.get_by_text("The canvas is empty")).to_be_visible(timeout=30_000)
            stroke = distorted(name, repeat, rng, (240, 180))
            for attempt in range(2):  # a second try only when the canvas missed the whole stroke (see `draw`)
                draw(page, stroke)
                try:
                    expect(page.locator('[data-testid="stMetric"]')).to_have_count(3, timeout=15_000)
                    break
                except AssertionError:
                    page.screenshot(path=ARTIFACTS / "page_gestures_not_read.png")
                    expect(page.get_by_text("The canvas is empty")).to_be_visible()
                    missed += 1
            else:
                raise AssertionError(f"the page did not read the {name} (drawing {repeat + 1}), twice")
            wait_until_idle(page)
            found = answers(page)
            assert set(found) == set(CELLS), found
            drawn.append({"shape": name, "repeat": repeat, **found})
            for cell in CELLS:
                right[cell] += found[cell] == name
            if (repeat, name) == (0, "star"):
                page.screenshot(path=ARTIFACTS / "page_gestures_drawn_star.png")
    accuracy = {cell: right[cell] / len(drawn) for cell in CELLS}
    (ARTIFACTS / "gestures_drawn.json").write_text(json.dumps({"accuracy": accuracy, "strokes_missed_by_the_canvas_and_drawn_again": missed, "strokes": drawn}, indent=1))
    expect(page.locator(".stException")).to_have_count(0)
    assert len(drawn) >= 20
    # The target of issue 15: the gated cells name the drawn shapes as they name the generated ones.
    assert accuracy["LSTM"] >= 0.9 and accuracy["GRU"] >= 0.9, accuracy
