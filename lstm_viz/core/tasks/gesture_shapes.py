"""The 16 unistroke shapes of Wobbrock, Wilson & Li's $1 recognizer ("Gestures without libraries, toolkits or
training", UIST 2007, figure 1), written here as polylines: the shapes and their drawing order follow the paper's
figure; the coordinates are our own. Screen coordinates (y grows downwards, as on the canvas), each shape inside
about a unit box; the task rotates, scales, distorts and resamples them (lstm_viz.core.tasks.gestures).
"""
from __future__ import annotations

import numpy as np


def _arc(centre: tuple[float, float], radius: float, start: float, stop: float, points: int = 48) -> np.ndarray:
    """Points on a circle from angle `start` to `stop` (radians, screen coordinates: positive turns clockwise)."""
    angles = np.linspace(start, stop, points)
    return np.stack([centre[0] + radius * np.cos(angles), centre[1] + radius * np.sin(angles)], axis=1)


def _smooth(vertices: list[tuple[float, float]], rounds: int = 3) -> np.ndarray:
    """Chaikin's corner cutting with the end points kept: a polyline's corners become curves (the braces)."""
    points = np.asarray(vertices, dtype=np.float64)
    for _ in range(rounds):
        first, second = points[:-1], points[1:]
        cut = np.empty((2 * len(first), 2))
        cut[0::2] = 0.75 * first + 0.25 * second
        cut[1::2] = 0.25 * first + 0.75 * second
        points = np.vstack([points[:1], cut, points[-1:]])
    return points


def _pigtail() -> np.ndarray:
    # A prolate cycloid's one loop: up from the bottom left, a loop at the top, down to the bottom right.
    u = np.linspace(-0.85 * np.pi, 0.85 * np.pi, 64)
    return np.stack([(u - 1.9 * np.sin(u)) / 6.0, 0.5 - 1.9 * np.cos(u) / 4.0], axis=1)


def _star() -> np.ndarray:
    # Five points joined every second one, starting and ending at the bottom left.
    angles = -np.pi / 2 + 2 * np.pi * np.arange(5) / 5  # the top point first, clockwise on screen
    tips = np.stack([0.5 + 0.5 * np.cos(angles), 0.55 + 0.5 * np.sin(angles)], axis=1)
    order = [3, 0, 2, 4, 1, 3]  # bottom left, top, bottom right, left, right, bottom left
    return tips[order]


# name -> (vertices in drawing order, closed: the stroke ends where it starts, so its start point may be anywhere)
SHAPES: dict[str, tuple[np.ndarray, bool]] = {
    "triangle": (np.array([[0.5, 0.0], [0.0, 0.9], [1.0, 0.9], [0.5, 0.0]]), True),
    "x": (np.array([[0.0, 0.0], [1.0, 1.0], [1.0, 0.0], [0.0, 1.0]]), False),
    "rectangle": (np.array([[0.0, 0.0], [0.0, 0.7], [1.0, 0.7], [1.0, 0.0], [0.0, 0.0]]), True),
    "circle": (_arc((0.5, 0.5), 0.5, -np.pi / 2, -np.pi / 2 - 2 * np.pi, 64), True),
    "check": (np.array([[0.0, 0.55], [0.3, 1.0], [1.0, 0.0]]), False),
    "caret": (np.array([[0.0, 1.0], [0.5, 0.0], [1.0, 1.0]]), False),
    "zig-zag": (np.array([[0.0, 0.0], [0.2, 0.6], [0.4, 0.0], [0.6, 0.6], [0.8, 0.0], [1.0, 0.6]]), False),
    "arrow": (np.array([[0.0, 1.0], [1.0, 0.1], [0.45, 0.1], [1.0, 0.1], [0.95, 0.65]]), False),
    "left square bracket": (np.array([[0.5, 0.0], [0.0, 0.0], [0.0, 1.0], [0.5, 1.0]]), False),
    "right square bracket": (np.array([[0.0, 0.0], [0.5, 0.0], [0.5, 1.0], [0.0, 1.0]]), False),
    "v": (np.array([[0.0, 0.0], [0.5, 1.0], [1.0, 0.0]]), False),
    "delete": (np.array([[0.0, 0.0], [1.0, 1.0], [0.0, 1.0], [1.0, 0.0]]), False),
    "left curly brace": (_smooth([(0.55, 0.0), (0.25, 0.05), (0.25, 0.45), (0.0, 0.5), (0.25, 0.55),
                                  (0.25, 0.95), (0.55, 1.0)], rounds=2), False),
    "right curly brace": (_smooth([(0.0, 0.0), (0.3, 0.05), (0.3, 0.45), (0.55, 0.5), (0.3, 0.55),
                                   (0.3, 0.95), (0.0, 1.0)], rounds=2), False),
    "star": (_star(), True),
    "pigtail": (_pigtail(), False),
}
CLASSES: tuple[str, ...] = tuple(SHAPES)
