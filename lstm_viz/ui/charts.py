"""Drawing a Plotly figure on a page, with its two downloads: a PNG from the chart's own camera button and a
self-contained interactive HTML page.

The PNG is made in the browser by plotly.js (the modebar's camera button, shown when the pointer is over a chart):
the server needs no image renderer, and the file is the chart as the user sees it, at twice the screen resolution.
The HTML page is built only when its button is clicked (a deferred download), with plotly.js inline, so it opens
offline. Every chart a page shows through `show` is also remembered for this run, so the Download section can
offer all of them in one zip (the latest figure per chart key: what is on screen).
"""
from __future__ import annotations

import re
from collections.abc import Callable

import plotly.graph_objects as go
import streamlit as st

from lstm_viz.io.export import figure_html
from lstm_viz.ui import presenter, session_run

SHOWN_FIGURES_KEY = "shown_figures"
PNG_SCALE = 2


def file_stem(text: str) -> str:
    """A file name from a chart's title or key: lower case, words joined by underscores."""
    stem = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return stem[:80] or "chart"


def plotly_config(name: str) -> dict:
    """Plotly's config for a chart: the camera button saves `<name>.png` at PNG_SCALE x; no Plotly logo."""
    return {
        "displaylogo": False,
        "toImageButtonOptions": {"format": "png", "filename": file_stem(name), "scale": PNG_SCALE},
    }


def show(figure: go.Figure, key: str, *, name: str | None = None, html_button: bool = False,
         in_zip: bool = True) -> None:
    """st.plotly_chart with a good PNG file name (the chart's `name`, else its key), remembered for the charts zip;
    `html_button` adds a small button under the chart that downloads it as an interactive HTML page.
    `in_zip=False` for charts of the explorer pages: the Train page's charts zip holds the session run's charts on
    the Train page, not what another page drew (often of a bundled run)."""
    name = name or key
    # Presenter mode enlarges every chart drawn through here, on every page.
    st.plotly_chart(presenter.figure(figure), key=key, width="stretch", config=plotly_config(name))
    if in_zip:
        shown = st.session_state.setdefault(SHOWN_FIGURES_KEY, {})
        run_id = session_run.handle().run_id
        shown.setdefault(run_id, {})[key] = (file_stem(name), figure)  # by key: what is on screen now, bounded
        for old in [k for k in shown if k != run_id]:
            del shown[old]
    if html_button:
        st.download_button(
            "Interactive HTML", data=lambda: figure_html(figure), file_name=f"{file_stem(name)}.html",
            mime="text/html", key=f"{key}_html", on_click="ignore", icon=":material/download:", type="tertiary",
        )


def shown_figures() -> Callable[[], dict[str, go.Figure]]:
    """A function giving {file stem: figure} of the charts `show` has drawn for the current run, read when it is
    called: a fragment rerun (a new checkpoint picked) updates what a download button built earlier receives.
    Safe to call from a download callable's thread: it touches no Streamlit API."""
    shown = st.session_state.setdefault(SHOWN_FIGURES_KEY, {}).setdefault(session_run.handle().run_id, {})
    return lambda: {stem: figure for stem, figure in list(shown.values())}
