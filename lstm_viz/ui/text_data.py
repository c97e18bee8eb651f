"""The upload section for labelled text (a CSV of text and label, uploaded or pasted): validate, summarise, and hand
the data set to the Train page. Lives on the Try it page, next to where the trained model is tried; the Train page
only receives the choice (task "labelled-text" with the data set's key as its option), so its settings sidebar
stays the one every task shares."""
from __future__ import annotations

import streamlit as st

from lstm_viz.data import datastore
from lstm_viz.rules.errors import LstmVizError, UploadError
from lstm_viz.core.tasks.labelled_text import (
    KIND, LABELLED_TEXT, MAX_CLASSES, MAX_TEXT_CHARACTERS, MAX_TEXT_ROWS, MAX_VOCABULARY, MIN_TEXT_ROWS,
    LabelledData, validate_labelled_text,
)
from lstm_viz.data.uploads import MAX_PASTED_CHARACTERS, check_pasted_text
from lstm_viz.ui import data_sharing, session_run, state
from lstm_viz.ui.plain import plain, plain_short

DATASET_KEY = "text_dataset"
ERROR_KEY = "text_upload_error"
LIMITS = (
    f"Limits: a CSV (UTF-8, comma, semicolon or tab separated) of at most 5 MB and {MAX_TEXT_ROWS:,} rows, at least "
    f"{MIN_TEXT_ROWS}; one column named **text** and one named **label**; 2 to {MAX_CLASSES} classes; texts up to "
    f"{MAX_TEXT_CHARACTERS:,} characters; pasted text up to {MAX_PASTED_CHARACTERS:,} characters. The vocabulary keeps "
    f"the {MAX_VOCABULARY - 2} most frequent words; the others are read as <unk>. Nothing you upload is run as code."
)
PASTE_PLACEHOLDER = "text,label\nthe soup was cold,food\nrain all afternoon,weather\n…"


def _validate(raw: bytes, name: str) -> None:
    st.session_state.pop(ERROR_KEY, None)
    try:
        dataset = validate_labelled_text(raw, name)
    except UploadError as error:
        st.session_state[ERROR_KEY] = str(error)
        st.session_state.pop(DATASET_KEY, None)
    else:
        st.session_state[DATASET_KEY] = dataset.key


def _on_upload() -> None:
    upload = st.session_state.get("text_upload_file")
    if upload is not None:
        _validate(upload.getvalue(), upload.name)


def _on_paste() -> None:
    try:
        text = check_pasted_text(st.session_state.get("text_upload_paste", ""))
    except UploadError as error:
        st.session_state[ERROR_KEY] = str(error)
        st.session_state.pop(DATASET_KEY, None)
        return
    _validate(text.encode("utf-8"), "the pasted text")


def _train_on(key: str) -> None:
    """Button callback: pick the labelled-text task on this data set and open the Train page."""
    if session_run.is_running():
        st.session_state[ERROR_KEY] = "Stop the current training run on the Train page first."
        return
    options = dict(st.session_state.get("task_options", {}))
    options[LABELLED_TEXT.name] = {"dataset": key}
    st.session_state["task_options"] = options
    st.session_state["task"] = LABELLED_TEXT.name
    st.session_state["length"] = LABELLED_TEXT.default_length
    st.session_state[state.SWITCH_TO_TRAIN_KEY] = True


def labelled_text_upload() -> None:
    st.subheader("Train on your own labelled text")
    st.caption(LIMITS)
    left, right = st.columns(2)
    left.file_uploader("Upload a CSV of texts and labels", type=["csv", "tsv", "txt"], key="text_upload_file",
                       on_change=_on_upload, help="Checked as soon as it arrives.")
    right.text_area("…or paste CSV text", key="text_upload_paste", placeholder=PASTE_PLACEHOLDER, height=120,
                    max_chars=MAX_PASTED_CHARACTERS)
    right.button("Check the pasted text", key="text_upload_check", on_click=_on_paste)
    if st.session_state.get(ERROR_KEY):
        st.error(plain(st.session_state[ERROR_KEY]), icon=":material/error:")
        return
    key = st.session_state.get(DATASET_KEY)
    if not key:
        return
    try:
        dataset = datastore.get(key, KIND)
        data = LabelledData(dataset.name, dataset.content["texts"], dataset.content["labels"], dataset.content["classes"])
    except LstmVizError as error:
        st.warning(plain(error))
        return
    counts = dataset.content["counts"]
    total = sum(counts.values())
    baseline = 1.0 - data.test_share_of_majority
    st.success(
        f"**{plain_short(dataset.name)}** is ready: {total:,} rows, {len(data.classes)} classes ("
        + ", ".join(f"{plain_short(name, 30)} {count:,}" for name, count in counts.items())
        + f"). {len(data.train_rows):,} rows train, {len(data.test_rows):,} test. Vocabulary: {len(data.vocabulary) - 2} "
        f"words kept, {data.words_left_out:,} rarer ones read as <unk> ({data.unknown_share:.0%} of all words). "
        f"Guessing the most common label scores a test error of {baseline:.3f}: that is the baseline to beat.",
        icon=":material/check_circle:",
    )
    data_sharing.share_controls(dataset, task=LABELLED_TEXT.name, widget_key="text_upload_share")
    st.button("Train on it ▶", key="text_upload_train", type="primary", on_click=_train_on, args=(key,),
              help="Opens the Train page with the task “Your labelled text” on this data set.")
