"""No traceback reaches a user (issue 10): a page or a fragment that raises shows a message and logs the details;
Streamlit's own control flow (st.rerun, st.stop, st.switch_page) passes through the boundary."""
import logging
import tomllib
from pathlib import Path

import streamlit as st

from lstm_viz.rules.errors import ConfigError
from lstm_viz.ui.train import dashboard
from tests.app_support import open_page
from tests.app_support import clear_caches  # noqa: F401


def boom(*args, **kwargs):
    raise RuntimeError("secret internal detail /srv/app/x.py")


def test_a_page_that_raises_shows_a_message_and_logs_the_traceback(monkeypatch, caplog):
    monkeypatch.setattr(st, "title", boom)  # the Home page's first element
    with caplog.at_level(logging.ERROR, logger="lstm_viz.ui.boundary"):
        at = open_page("pages/home.py")
    assert not at.exception
    message = at.error[0].value
    assert "Something went wrong here" in message and "secret internal detail" not in message
    reference = message.split("reference ")[1].split(";")[0]
    logged = [record for record in caplog.records if reference in record.getMessage()]
    assert logged and logged[0].exc_info[0] is RuntimeError


def test_an_explained_error_shows_its_own_message(monkeypatch):
    def explained(*args, **kwargs):
        raise ConfigError("the horizon must be between 1 and 12 steps")

    monkeypatch.setattr(st, "title", explained)
    at = open_page("pages/home.py")
    assert not at.exception and at.error[0].value == "the horizon must be between 1 and 12 steps"


def test_a_fragment_that_raises_shows_a_message_inside_the_fragment(monkeypatch, caplog):
    monkeypatch.setattr(dashboard, "_empty_state", boom)  # drawn by the Train page's live fragment before training
    with caplog.at_level(logging.ERROR, logger="lstm_viz.ui.boundary"):
        at = open_page("pages/train.py")
    assert not at.exception
    assert any("Something went wrong here" in error.value for error in at.error)
    assert any("training_fragment" in record.getMessage() for record in caplog.records)
    assert at.button(key="start").label  # the rest of the page is there


def test_streamlit_control_flow_passes_through_the_boundary(monkeypatch):
    def stop_here(*args, **kwargs):
        st.stop()

    monkeypatch.setattr(st, "title", stop_here)
    at = open_page("pages/home.py")
    assert not at.exception and not at.error  # st.stop ended the run quietly, as it should


def test_uncaught_errors_outside_a_boundary_show_no_details():
    config = tomllib.loads((Path(__file__).resolve().parents[1] / ".streamlit" / "config.toml").read_text())
    assert config["client"]["showErrorDetails"] == "none"
