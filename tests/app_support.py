"""What the AppTest tests share: opening a page, the charts drawn, the tiny training settings, and refreshing the page until a run in
the background has finished. Training runs in a background thread; every `at.run()` is one refresh of the page.

A module that wants the caches cleared around each test imports the autouse fixture:
`from tests.app_support import clear_caches  # noqa: F401`."""
import json
import time
from pathlib import Path
from typing import Callable

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from lstm_viz.data import datastore

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 60
TRAINING_TIMEOUT_SECONDS = 60
TINY_SETTINGS = dict(max_steps=20, hidden_size=8, length=20, batch_size=16)


def clear_streamlit_caches() -> None:
    st.cache_data.clear()
    st.cache_resource.clear()


@pytest.fixture(autouse=True)
def clear_caches():
    # AppTest instances share one session id, so cached values would leak between tests.
    clear_streamlit_caches()
    yield
    clear_streamlit_caches()


@pytest.fixture(autouse=True)
def clear_caches_and_data():
    """clear_caches, and the validated user data (uploads) held in memory; import it to use it."""
    clear_streamlit_caches()
    datastore.clear()
    yield
    clear_streamlit_caches()


def plotly_charts(at: AppTest) -> dict:
    """{title: figure} of the page's charts. Plotly charts appear as unknown elements; the figure JSON is in
    proto.spec."""
    charts = {}
    for element in at.get("plotly_chart"):
        figure = json.loads(element.proto.spec)
        charts[figure["layout"]["title"]["text"]] = figure
    return charts


def open_page(page: str, query: dict | None = None, *, timeout: float = TIMEOUT) -> AppTest:
    """A link straight to `page` (with `query` in the address), as a browser opens it."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def open_from_home(page: str, *, timeout: float = TIMEOUT) -> AppTest:
    """The app opened at Home, then `page` picked in the navigation."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    at.run()
    at.switch_page(page).run()
    assert not at.exception, at.exception
    return at


def tiny_settings(at: AppTest, **overrides) -> None:
    """Set the Train page's number inputs to a run of a few seconds (TINY_SETTINGS, with `overrides`)."""
    for key, value in {**TINY_SETTINGS, **overrides}.items():
        at.number_input(key=key).set_value(value)


def refresh_while(at: AppTest, busy: Callable[[AppTest], bool], seconds: float = TRAINING_TIMEOUT_SECONDS,
                  pause: float = 0.1, check_exceptions: bool = False) -> None:
    """Refresh the page every `pause` s while `busy(at)`, for at most `seconds` (the caller checks the outcome);
    `check_exceptions` fails as soon as the page shows an exception, before and after every refresh."""
    deadline = time.monotonic() + seconds
    while busy(at) and time.monotonic() < deadline:
        if check_exceptions:
            assert not at.exception, at.exception
        time.sleep(pause)
        at.run()
    if check_exceptions:
        assert not at.exception, at.exception


def training(at: AppTest) -> bool:
    return at.session_state["run"].running


def start_training(at: AppTest, seconds: float = TRAINING_TIMEOUT_SECONDS, pause: float = 0.1) -> None:
    """Press Start on the Train page and refresh until the run has ended (or `seconds` have passed)."""
    at.button(key="start").click().run()
    refresh_while(at, training, seconds, pause)


def train_until_done(at: AppTest) -> None:
    """Press Start and refresh until the run has ended, failing on any exception shown meanwhile."""
    at.button(key="start").click().run()
    refresh_while(at, training, check_exceptions=True)
    assert not at.session_state["run"].running, "training did not finish"
    assert not at.exception


def shown(markdown: str) -> str:
    """The text a markdown element shows: user strings reach the page escaped (lstm_viz.ui.plain)."""
    import re

    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)
