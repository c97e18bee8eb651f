"""The Translate page's sections: the task and the sentence, both models' translations side by side (greedy and
beam), the attention alignment, gates and states per token, the fixed vector a decoder without attention gets, and
the measured test metrics. The widgets use the keys of lstm_viz.ui.page_schemas.TRANSLATE."""
from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from lstm_viz.core.seq2seq.reading import SentenceReading
from lstm_viz.core.tasks import TRANSLATION_TASKS
from lstm_viz.core.tasks.translation_base import MAX_TYPED_CHARACTERS, TranslationTask
from lstm_viz.figures import translation as figures
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.rules.ranges import BEAM_WIDTH_RANGE
from lstm_viz.ui import charts, page_url
from lstm_viz.ui.page_schemas import TR_CELLS, TR_QUANTITIES, TR_STEPS_RANGE
from lstm_viz.ui.translate import models as model_store

NAMES = {True: "With attention", False: "Without attention"}


def _new_task() -> None:
    """A task picked: its first example replaces the sentence (a date in the French model reads as unknown words)."""
    st.session_state["tr_text"] = TRANSLATION_TASKS[st.session_state["tr_task"]].example_inputs[0]


def task_from_address(name: str) -> None:
    """A link's task brings its first example too; the link's own sentence, if it has one, then replaces it."""
    st.session_state["tr_text"] = TRANSLATION_TASKS[name].example_inputs[0]


def pick_input() -> tuple[TranslationTask, str, int]:
    left, right = st.columns([4, 9])
    left.selectbox("Task", list(TRANSLATION_TASKS), key="tr_task", on_change=_new_task,
                   format_func=lambda name: TRANSLATION_TASKS[name].label)
    task = TRANSLATION_TASKS[st.session_state["tr_task"]]
    right.text_input("Sentence to translate", key="tr_text", max_chars=MAX_TYPED_CHARACTERS,
                     help=f"Words or a date; at most {task.max_source_tokens} words.")
    st.caption(f"{task.description} Try: " + " · ".join(f"“{example}”" for example in task.example_inputs))
    st.slider("Beam width", *BEAM_WIDTH_RANGE, key="tr_beam",
              help="Beam search keeps this many partial translations at each step; 1 is greedy.")
    return task, st.session_state["tr_text"], st.session_state["tr_beam"]


def read_both(task: TranslationTask, text: str, beam_width: int) -> dict[bool, SentenceReading] | None:
    """Both models' readings of the sentence, or None after saying why the sentence (or a model file) cannot be
    read; the page's other sections are still drawn."""
    try:
        models = model_store.models_for(task.name, st.session_state["tr_models"])
        return {attention: model_store.reading(model, task, text, beam_width) for attention, model in models.items()}
    except LstmVizError as error:
        st.error(str(error), icon=":material/error:")
        return None


def translations(task: TranslationTask, readings: dict[bool, SentenceReading]) -> None:
    reading = readings[True]
    if reading.unknown:
        words = ", ".join(reading.source_tokens[i] for i in reading.unknown)
        st.warning(f"Not in the training vocabulary, read as <unk>: {words}", icon=":material/help:")
    cell = model_store.shown_cell(task.name, st.session_state["tr_models"]).upper()
    for column, (attention, shown) in zip(st.columns(2), readings.items()):
        with column.container(border=True):
            st.markdown(f"**{NAMES[attention]}** ({cell})")
            st.markdown(f"Greedy: `{task.join(shown.greedy_tokens) or '(nothing)'}` "
                        f"(probability {math.exp(shown.greedy_log_probability):.1%})")
            st.markdown(f"Beam (width {st.session_state['tr_beam']}): `{task.join(shown.beam_tokens) or '(nothing)'}` "
                        f"(probability {math.exp(shown.beam_log_probability):.1%})")
            if not shown.finished:
                st.caption(f"Stopped at {task.max_target_tokens} tokens without writing the end token.")


def alignment(reading: SentenceReading) -> None:
    st.subheader("Where the decoder looked")
    st.caption("Each row is one step of the decoder (the greedy translation), each column a source token; a row's "
               "weights sum to 1. Luong dot attention: weight = softmax of the dot products of the decoder's state "
               "with each encoder state.")
    figure = model_store.reading_figure(reading, ("attention",), lambda: figures.attention_heatmap(
        reading.source_tokens, reading.decoder_steps, reading.attention,
        title="Attention alignment: source tokens × written tokens", unknown=reading.unknown))
    charts.show(figure, key="tr_attention", in_zip=False)


def gates_and_states(readings: dict[bool, SentenceReading]) -> None:
    st.subheader("Gates and states per token")
    available = [q for q in TR_QUANTITIES if q in readings[True].encoder_gates]
    page_url.fit("tr_quantity", available, available[0])
    st.selectbox("Show", available, key="tr_quantity", format_func=lambda name: figures.TRACE_LABELS.get(name, name))
    quantity = st.session_state["tr_quantity"]
    for tab, (attention, reading) in zip(st.tabs([NAMES[True], NAMES[False]]), readings.items()):
        with tab:
            name = figures.TRACE_LABELS.get(quantity, quantity)
            charts.show(model_store.reading_figure(reading, ("encoder", quantity), lambda: figures.token_state_heatmap(
                reading.source_tokens, reading.encoder_gates[quantity], quantity, unknown=reading.unknown,
                title=f"Encoder {name}, per source token ({NAMES[attention].lower()})")),
                key=f"tr_encoder_{attention}", in_zip=False)
            charts.show(model_store.reading_figure(reading, ("decoder", quantity), lambda: figures.token_state_heatmap(
                reading.decoder_inputs, reading.decoder_gates[quantity], quantity,
                title=f"Decoder {name}, per token fed in ({NAMES[attention].lower()})")),
                key=f"tr_decoder_{attention}", in_zip=False)


def bottleneck(reading: SentenceReading) -> None:
    st.subheader("Everything the decoder gets, without attention")
    st.caption(f"The encoder's state after the last of the {len(reading.source_tokens)} source tokens: the decoder "
               "without attention starts from these numbers and never sees the source again, however long it is.")
    charts.show(model_store.reading_figure(reading, ("final state",), lambda: figures.final_state_bars(
        reading.final_state, title="Final encoder state (the model without attention)")),
        key="tr_final_state", in_zip=False)


def measured(task: TranslationTask) -> None:
    st.subheader("Measured on the test set (the shipped models)")
    try:
        _metrics_table(task, model_store.shipped_metrics(task.name))
    except LstmVizError as error:
        st.warning(str(error), icon=":material/help:")
    except (KeyError, TypeError, ValueError, AttributeError):  # valid JSON, but not the report the CLI writes
        st.warning(f"The shipped metrics of {task.label} are damaged: run scripts/train_translation_models.py.",
                   icon=":material/help:")


def _metrics_table(task: TranslationTask, metrics: dict[bool, dict]) -> None:
    scored = [(NAMES[a].lower(), metrics[a]["model"]) for a in (True, False)]
    scored.append((f"baseline: {task.baseline_name}", metrics[True]["baseline"]))
    rows = [{"model": name, "exact match (%)": 100 * s["exact_match"], "token accuracy (%)": 100 * s["token_accuracy"],
             "BLEU (0-100)": s["bleu"]} for name, s in scored]
    st.dataframe(pd.DataFrame(rows).round(1), hide_index=True)
    by_length = {NAMES[a].lower(): metrics[a]["by_source_length"] for a in (True, False)}
    by_length[f"baseline: {task.baseline_name}"] = metrics[True]["baseline_by_source_length"]
    charts.show(figures.exact_match_by_length(by_length, title=f"Exact match by source length: {task.label}"),
                key="tr_by_length", in_zip=False)
    load = metrics[True].get("load_average")
    st.caption(f"{metrics[True]['model']['count']} test examples; BLEU by sacrebleu on the task's tokens. Trained with "
               f"one torch thread" + (f" (load average {load[0]:.1f} then)." if load else "."))


def narrow_dates() -> None:
    """The bottleneck where it shows: the same task at 16 units, with and without attention."""
    try:
        report = model_store.measurements()
    except LstmVizError as error:
        st.warning(str(error), icon=":material/help:")
        return
    if not report or not isinstance(report.get("narrow"), dict):
        return
    rows = {f"16 units, {NAMES[a].lower()}": report["narrow"]["attention" if a else "plain"]["by_source_length"]
            for a in (True, False)}
    charts.show(figures.exact_match_by_length(rows, title="Exact match by source length, 16 units (dates)"),
                key="tr_narrow", in_zip=False)
    st.caption("At 64 units the final encoder state holds a date as well as attention does, at every length. At 16 "
               "units it holds none within 3,000 steps, while attention still reads 87% of the test dates "
               "(scripts/measure_translation.py).")


def own_models(task: TranslationTask) -> None:
    with st.expander("Train the two models yourself"):
        if st.session_state.pop("tr_train_requested", False):
            trained = _train(task)
            if trained:
                st.session_state["tr_models"] = "session"  # before its radio is drawn below
                st.rerun()
            if trained is False:
                st.warning("The server stopped this training before it finished (its time limit, or a restart). "
                           "Press the button to try again, or pick fewer steps.")
        st.radio("Models shown", ("shipped", "session"), key="tr_models", horizontal=True,
                 format_func=lambda source: {"shipped": "the shipped ones", "session": "the ones trained here"}[source])
        left, right = st.columns(2)
        left.radio("Cell of encoder and decoder", TR_CELLS, key="tr_cell", horizontal=True, format_func=str.upper,
                   help="The shipped models are LSTMs; a GRU has no cell state and no output gate.")
        right.number_input("Steps per model", *TR_STEPS_RANGE, key="tr_steps", step=100)
        # A callback, not `if st.button(...)`: its flag survives the rerun init_session may make.
        st.button("Train both (with and without attention)", key="tr_train", icon=":material/play_arrow:",
                  on_click=lambda: st.session_state.update(tr_train_requested=True))
        st.caption("The shipped settings of this task with the cell picked, from new seeded weights, as one job of "
                   "the server's queue.")
        if st.session_state["tr_models"] == "session" and model_store.session_models(task.name) is None:
            st.caption("No models trained here yet for this task: the shipped ones are shown.")


def _train(task: TranslationTask) -> bool | None:
    """True once trained; False if the scheduler stopped it; None after saying why it could not start."""
    try:
        return model_store.train_pair(task.name, int(st.session_state["tr_steps"]), st.session_state["tr_cell"])
    except LstmVizError as error:  # the shipped model files its settings come from are damaged
        st.error(str(error), icon=":material/error:")
        return None


def translate_page() -> None:
    task, text, beam_width = pick_input()
    readings = read_both(task, text, beam_width)
    if readings is not None:
        translations(task, readings)
        alignment(readings[True])
        bottleneck(readings[False])
        gates_and_states(readings)
    measured(task)
    if task.name == "dates":
        narrow_dates()
    own_models(task)
