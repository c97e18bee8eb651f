"""Uploaded data is private to its session (issue 10, F5): identical content never reveals another session's file
name, and a data set's key opens nothing for another session unless its uploader shared it."""
import json
from contextlib import contextmanager

import numpy as np
import pytest

from lstm_viz.data import datastore
from lstm_viz.data.datastore import PrivateDataError
from lstm_viz.core.tasks import get_task
from lstm_viz.core.tasks.labelled_text import validate_labelled_text
from lstm_viz.core.trainer import RunConfig
from lstm_viz.ui import data_sharing
from tests.app_support import clear_caches_and_data, open_from_home, open_page, shown  # noqa: F401

SERIES = {"values": np.sin(np.arange(80) / 4.0) * 10 + np.arange(80) * 0.1, "times": None}
TEXT_CSV = ("text,label\n" + "\n".join(f"the soup number {i} was cold,{'food' if i % 2 else 'weather'}"
                                        for i in range(30)) + "\n").encode()


@contextmanager
def as_session(name):
    """Code run as if from the browser session `name` (the UI installs Streamlit's session id as the resolver)."""
    datastore.use_sessions(lambda: name)
    try:
        yield
    finally:
        datastore.use_sessions(data_sharing._streamlit_session)


def test_identical_content_from_two_sessions_keeps_each_sessions_file_name():
    with as_session("alice"):
        alice = datastore.put("series", "alice-salaries.csv", dict(SERIES))
    with as_session("bob"):
        bob = datastore.put("series", "bob.csv", dict(SERIES))
        assert bob.key != alice.key
        assert datastore.get(bob.key).name == "bob.csv"
        assert get_task("forecast").with_options(dataset=bob.key).series.label == "bob.csv"
        with pytest.raises(PrivateDataError, match="uploaded in another browser session"):
            datastore.get(alice.key)
    assert bob.content["values"] is alice.content["values"]  # the bytes are held once
    with as_session("alice"):
        assert datastore.get(alice.key).name == "alice-salaries.csv"
        assert datastore.put("series", "alice-salaries.csv", dict(SERIES)).key == alice.key  # stable per session


def test_a_key_from_another_session_opens_nothing_even_after_its_task_was_cached():
    with as_session("alice"):
        key = validate_labelled_text(TEXT_CSV, "alice-diary.csv").key
        get_task("labelled-text").with_options(dataset=key)  # the uploader's task, now in the cache
        series_key = datastore.put("series", "alice.csv", dict(SERIES)).key
        get_task("forecast").with_options(dataset=series_key)
    with as_session("mallory"):
        for task, dataset in (("labelled-text", key), ("forecast", series_key)):
            with pytest.raises(PrivateDataError):
                get_task(task).with_options(dataset=dataset)
            with pytest.raises(PrivateDataError):
                RunConfig(task=task, task_options={"dataset": dataset}, length=10, archs=("lstm",), hidden_size=4).validate()


def test_a_shared_data_set_opens_for_anyone_with_its_key_and_only_its_uploader_can_share_it():
    with as_session("alice"):
        key = validate_labelled_text(TEXT_CSV, "class-survey.csv").key
    with as_session("mallory"), pytest.raises(PrivateDataError, match="only the session that uploaded"):
        datastore.share(key)
    with as_session("alice"):
        datastore.share(key)
    with as_session("bob"):
        assert datastore.get(key).name == "class-survey.csv"
        assert get_task("labelled-text").with_options(dataset=key).classes == ["food", "weather"]


def test_a_link_with_another_sessions_data_set_says_why_it_opens_nothing():
    with as_session("another browser"):
        key = datastore.put("series", "their-private-file.csv", dict(SERIES)).key
    at = open_page("pages/train.py", {"task": "forecast", "task_options": json.dumps({"forecast": {"dataset": key}})})
    assert not at.exception
    page = " ".join(shown(element.value) for element in [*at.error, *at.warning, *at.caption, *at.success])
    assert "uploaded in another browser session and has not been shared" in page
    assert "their-private-file.csv" not in page
    assert at.session_state["task_options"].get("forecast", {}).get("dataset") != key


def test_the_uploader_shares_a_data_set_deliberately_and_is_told_what_that_means():
    at = open_from_home("pages/try_it.py")
    at.file_uploader(key="text_upload_file").set_value(("survey.csv", TEXT_CSV, "text/csv")).run()
    assert not at.exception
    assert any("Private to this browser session" in caption.value for caption in at.caption)
    key = at.session_state["text_dataset"]
    assert not datastore.get(key).shared
    at.button(key="text_upload_share").click().run()
    assert not at.exception and datastore.get(key).shared
    assert any("anyone with this link sees this data" in info.value for info in at.info)
    link = at.code[0].value
    assert link.startswith("train?") and key in link and "labelled-text" in link
