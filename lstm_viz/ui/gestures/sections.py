"""Glue of the Gestures page: which trained networks read the stroke (the shipped run, or the session's own run of
the gestures task), the canvas (streamlit-drawable-canvas, freehand) with Clear and the example strokes, and the
sections that show the readings. Numbers from lstm_viz.analysis.strokes, figures from lstm_viz.figures.gestures."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from lstm_viz.analysis.strokes import StrokeReading, canvas_strokes, example_stroke, read_stroke
from lstm_viz.analysis.text_generation import TrackingUnit, find_feature_unit
from lstm_viz.figures import gestures as figures
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.runs.bundled import GESTURES_RUN, load_bundled_run
from lstm_viz.ui import charts, page_url, session_run
from lstm_viz.ui.page_schemas import GEST_EXAMPLES, LATEST
from lstm_viz.ui.plain import plain

CANVAS_WIDTH, CANVAS_HEIGHT = 480, 360
STROKE_COLOUR = "#0072B2"
TRACKED_FEATURE = "total turning so far"  # what the automatic unit follows: a shape is, above all, how it turns
# Button labels short enough for a third of the column.
BUTTON_LABELS = {"left square bracket": "[ bracket", "right square bracket": "] bracket",
                 "left curly brace": "{ brace", "right curly brace": "} brace"}
SOURCES = {GESTURES_RUN: "Shipped: RNN, GRU and LSTM", "session": "Your run (Train page)"}
READING_NOTE = ("How it reads: the finished stroke is resampled to {steps} points evenly spaced along it and scaled "
                "by its bounding box, as in training; the probabilities after point t use only the first t points.")


@dataclass(frozen=True)
class Readers:
    explored: session_run.ExploredRun
    models: dict  # arch -> model at the latest checkpoint
    steps: int


def pick_readers() -> Readers:
    """The Model radio (the session's run only if it trained the gestures task) and each cell's latest model."""
    trainer = session_run.current_trainer()
    sources = dict(SOURCES) if trainer is not None and trainer.task.name == "gestures" else {GESTURES_RUN: SOURCES[GESTURES_RUN]}
    page_url.fit("gest_source", list(sources), GESTURES_RUN)
    st.radio("Networks", list(sources), key="gest_source", format_func=sources.get, horizontal=True)
    if st.session_state["gest_source"] == "session":
        explored = session_run.session_explored(trainer)
    else:
        explored = session_run.ExploredRun(load_bundled_run(GESTURES_RUN), "bundled", f"bundled:{GESTURES_RUN}")
    models = {}
    for arch, run in explored.trainer.runs.items():
        if run.model.architecture.recurrent:
            models[arch] = explored.model(arch)
            models[arch].load_state_dict(run.checkpoints[-1].state_dict)
    return Readers(explored, models, explored.trainer.config.length)


def example_points(name: str) -> np.ndarray | None:
    return None if name == "none" else example_stroke(name)


def fabric_path(points: np.ndarray | None) -> dict | None:
    """An example stroke as the canvas's own drawing: one Fabric.js path (M, then L to every point)."""
    if points is None:
        return None
    commands = [["M", *map(float, points[0])], *(["L", *map(float, p)] for p in points[1:])]
    return {"objects": [{"type": "path", "path": commands, "stroke": STROKE_COLOUR, "strokeWidth": 4, "fill": None,
                         "strokeLineCap": "round", "strokeLineJoin": "round"}]}


def draw_canvas(**options):
    """streamlit-drawable-canvas's st_canvas. Imported here, not at the top: the component registers its frontend
    files when imported, which only works once Streamlit's runtime has read the installed components' manifests
    (in the app, or under AppTest); a plain import of this module, outside both, would fail."""
    from streamlit_drawable_canvas import st_canvas
    return st_canvas(**options)


def _show_example(name: str) -> None:
    st.session_state["gest_example"] = name
    st.session_state["_gest_canvas_nonce"] = st.session_state.get("_gest_canvas_nonce", 0) + 1


def canvas_section() -> dict | None:
    """The canvas and its buttons; the canvas's drawing (Fabric.js JSON), read by `reading_sections`."""
    ss = st.session_state
    left, right = st.columns([5, 4])
    with left, st.container(key="gest_canvas_area"):
        drawing = fabric_path(example_points(ss["gest_example"]))
        result = draw_canvas(stroke_width=4, stroke_color=STROKE_COLOUR, background_color="#FFFFFF",
                           height=CANVAS_HEIGHT, width=CANVAS_WIDTH, drawing_mode="freedraw", initial_drawing=drawing,
                           key=f"gest_canvas_{ss['gest_example']}_{ss.get('_gest_canvas_nonce', 0)}")
        st.button("Clear", icon=":material/delete:", on_click=_show_example, args=("none",), key="gest_clear")
    with right:
        st.caption("Draw one of the 16 shapes in one stroke, or let an example draw it (the page reads the newest "
                   "stroke on the canvas):")
        columns = st.columns(3)
        for index, name in enumerate(GEST_EXAMPLES[:-1]):
            columns[index % 3].button(BUTTON_LABELS.get(name, name), key=f"gest_ex_{index}", help=name, on_click=_show_example, args=(name,),
                                      type="primary" if ss["gest_example"] == name else "secondary", width="stretch")
    return result.json_data


def readings(readers: Readers, points) -> dict[str, StrokeReading]:
    return {arch: read_stroke(model, points, readers.steps) for arch, model in readers.models.items()}


def tracking_unit(readers: Readers, arch: str) -> TrackingUnit:
    """The unit of `arch` whose memory follows the total turning best on the run's probe strokes (memoised)."""
    memo = st.session_state.setdefault("_gest_units", {})
    key = (readers.explored.run_key, arch, readers.explored.trainer.runs[arch].checkpoints[-1].step)
    if key not in memo:
        memo[key] = find_feature_unit(readers.models[arch], readers.explored.trainer.task,
                                      readers.explored.trainer.probe_inputs, TRACKED_FEATURE)
    return memo[key]


def verdict_row(found: dict[str, StrokeReading]) -> None:
    columns = st.columns(len(found))
    for column, (arch, reading) in zip(columns, found.items()):
        answer = "not sure" if reading.unsure else figures.CLASSES[reading.predicted]
        detail = (f"at most {reading.confidence:.0%} ({figures.CLASSES[reading.predicted]})" if reading.unsure
                  else f"{reading.confidence:.0%}, from {100 * reading.knew_at():.0f}% of the stroke on")
        column.metric(figures.ARCHITECTURES[arch].label, answer, detail, delta_color="off", delta_arrow="off")


def inside_section(readers: Readers, found: dict[str, StrokeReading]) -> None:
    """One cell's reading in detail: its probabilities as the stroke grows, its gates and memory along the stroke."""
    archs = list(found)
    page_url.fit("gest_arch", archs, "lstm" if "lstm" in archs else archs[0])
    st.segmented_control("Cell to look inside", archs, key="gest_arch",
                         format_func=lambda arch: figures.ARCHITECTURES[arch].label)
    arch = st.session_state["gest_arch"] or archs[0]
    reading = found[arch]
    charts.show(figures.growth_figure(reading), "gest_growth", name=f"{arch}_probabilities_as_the_stroke_grows",
                in_zip=False)
    hidden = readers.models[arch].config.hidden_size
    page_url.fit("gest_unit", lambda unit: unit == LATEST or 0 <= unit < hidden, LATEST)
    tracked = tracking_unit(readers, arch)
    memory = "cell state" if tracked.state == "cell_state" else "hidden state"
    st.selectbox("Memory unit", [LATEST, *range(hidden)], key="gest_unit",
                 format_func=lambda u: (f"unit {tracked.unit}: its {memory} follows the total turning "
                                        f"(r = {tracked.correlation:+.2f} on the probe strokes)") if u == LATEST
                 else f"unit {u}")
    unit = tracked.unit if st.session_state["gest_unit"] == LATEST else int(st.session_state["gest_unit"])
    charts.show(figures.along_stroke_figure(reading, unit), "gest_along", name=f"{arch}_unit_{unit}_along_the_stroke",
                in_zip=False)


def reading_sections(readers: Readers, drawing: dict | None) -> None:
    """The newest stroke on the canvas read by every cell, or a message saying why it cannot be read."""
    try:
        strokes = canvas_strokes(drawing)
        if not strokes:
            st.info("The canvas is empty: draw a shape in one stroke, or pick an example.", icon=":material/draw:")
            return
        found = readings(readers, strokes[-1])
    except LstmVizError as error:
        st.error(plain(error))
        return
    st.caption(READING_NOTE.format(steps=readers.steps))
    verdict_row(found)
    inside_section(readers, found)
    charts.show(figures.comparison_figure(list(found.values())), "gest_compare", name="cells_on_the_same_drawing",
                in_zip=False)
