"""Glue of the "Try it" page: which model it reads with (the session's text run or a bundled one), and its two
sections, a classifier reading a typed sentence and a character model sampling and tracing pasted text. The numbers
come from lstm_viz.analysis.text_generation, the figures from lstm_viz.figures.text."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st

from lstm_viz.analysis.text_generation import (
    MAX_SAMPLE_CHARACTERS, TEMPERATURE_RANGE, find_feature_unit, nesting_of, probability_of_what_follows, read_text,
    sample_characters,
)
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.trainer import ArchRun, Trainer
from lstm_viz.figures import text as text_figures
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.runs.bundled import BRACKETS_RUN, SENTIMENT_RUN, load_bundled_run
from lstm_viz.ui import charts, page_url, session_run
from lstm_viz.ui.plain import plain, short
from lstm_viz.ui.page_schemas import TEXT_LIMITS

# Clickable sentences for the bundled sentiment model: the seed's own examples first, then negation, contrast, and
# an opinion followed by filler the network must remember across.
EXAMPLE_SENTENCES = (
    "I love this product!",
    "This restaurant is okay...",
    "The service was terrible!",
    "The food was not bad at all.",
    "Great location, but the room was dirty.",
    "I didn't like this phone. I bought it in June and my sister used it on the train every morning.",
)
BUNDLED = {
    SENTIMENT_RUN: "Bundled: sentiment of reviews",
    BRACKETS_RUN: "Bundled: brackets and quotes",
}


@dataclass(frozen=True)
class Reader:
    """The trained network the page reads with: its run, one architecture, its model at the latest checkpoint."""
    trainer: Trainer
    arch: str
    run: ArchRun
    model: SequenceModel
    names: list[str]  # the traces drawn word by word (the LSTM's hidden state is its output gate times tanh(c))


def pick_source() -> session_run.ExploredRun:
    """The Model radio: the session's run if it takes typed text, else (or on request) a bundled one."""
    ss = st.session_state
    session_trainer = session_run.current_trainer()
    sources = {}
    if session_trainer is not None and session_trainer.task.accepts_text:
        sources["session"] = f"Your run: {session_trainer.task.label}"
    sources.update(BUNDLED)
    # A run trained since this page was last seen is what the visitor came back to try.
    if "session" in sources and ss.get("_try_seen_run") != session_run.handle().run_id:
        ss["try_source"] = "session"
    ss["_try_seen_run"] = session_run.handle().run_id
    page_url.fit("try_source", list(sources), next(iter(sources)))
    st.radio("Model", list(sources), key="try_source", format_func=sources.get, horizontal=True)
    if session_trainer is not None and "session" not in sources:
        st.caption(f"Your run on the Train page ({session_trainer.task.label}) does not take typed input; "
                   "train a text task there to try your own model here.")
    source = ss["try_source"]
    if source == "session":
        return session_run.session_explored(session_trainer)
    return session_run.ExploredRun(trainer=load_bundled_run(source), source="bundled", run_key=f"bundled:{source}")


def pick_reader(explored: session_run.ExploredRun) -> Reader:
    """The Network control and the caption that says how well it learned."""
    ss, trainer = st.session_state, explored.trainer
    task, archs = trainer.task, list(trainer.runs)
    page_url.fit("try_arch", archs, "lstm" if "lstm" in archs else archs[0])
    st.segmented_control("Network", archs, key="try_arch", format_func=lambda a: trainer.runs[a].label)
    arch = ss["try_arch"] or archs[0]
    run = trainer.runs[arch]
    checkpoint = run.checkpoints[-1]
    model = explored.model(arch)
    model.load_state_dict(checkpoint.state_dict)
    metric = run.last_metric
    st.caption(
        f"{run.label} after {checkpoint.step} training steps on T = {trainer.config.length}: test {task.metric_name} "
        f"{metric:.3f} against the no-memory baseline {trainer.baseline:.3f} ({task.baseline_description})."
        if metric is not None else f"{run.label} at step {checkpoint.step}."
    )
    names = [n for n in model.architecture.trace_names if n != "hidden_state" or arch != "lstm"]
    return Reader(trainer, arch, run, model, names)


def use_example(sentence: str) -> None:
    st.session_state["try_text"] = sentence


def example_buttons() -> None:
    st.caption("Or click an example:")
    columns = st.columns(3)
    for i, sentence in enumerate(EXAMPLE_SENTENCES):
        columns[i % 3].button(sentence, key=f"try_example_{i}", on_click=use_example, args=(sentence,),
                              width="stretch")


def classifier_section(reader: Reader) -> None:
    task, arch = reader.trainer.task, reader.arch
    st.subheader("Type a sentence")
    if task.name == "sentiment":
        example_buttons()
    st.text_input("Sentence", key="try_text", max_chars=TEXT_LIMITS["try_text"],
                  help=f"Words outside the model's vocabulary ({len(task.vocabulary) - 2} words) are read as <unk> "
                       "and marked ⚠. Up to " + f"{getattr(task, 'max_typed_words', task.max_length)} words.")
    try:
        reading = read_text(reader.model, task, st.session_state["try_text"])
    except LstmVizError as error:
        st.error(plain(error))
        return
    classes = list(task.classes)
    winner = int(np.argmax(reading.final))
    left, right = st.columns([2, 3])
    left.metric("Prediction", short(classes[winner], 30), f"probability {reading.final[winner]:.1%}", delta_color="off",
                delta_arrow="off", help=plain(classes[winner]) if len(classes[winner]) > 30 else None)
    if reading.unknown:
        unknown_words = sorted({reading.tokens[t] for t in reading.unknown})
        left.warning(
            "Unknown to the model, read as <unk>: " + ", ".join(f"“{plain(w)}”" for w in unknown_words)
            + ". It has never seen them, so they carry no meaning for it.", icon=":material/help:")
    else:
        left.caption("Every word is in the model's vocabulary.")
    with right:
        charts.show(text_figures.class_probabilities(classes, reading.final, title="Probability of each class"),
                    "try_probabilities", name=f"{arch}_class_probabilities", in_zip=False)
    charts.show(text_figures.word_by_word(
        reading.tokens, reading.unknown, {f"P({c})": reading.probabilities[:, i] for i, c in enumerate(classes)},
        {n: a[0] for n, a in reading.trace.layers[0].items()}, names=reader.names,
        title=f"{reader.run.label} reading the sentence",
        colours=[text_figures.class_colour(c, i) for i, c in enumerate(classes)],
    ), "try_words", name=f"{arch}_reading_word_by_word", in_zip=False)
    with st.expander("Words the model knows"):
        st.write(plain(", ".join(w for w in task.vocabulary.words[2:])))


def sampling_section(reader: Reader) -> None:
    ss, task = st.session_state, reader.trainer.task
    st.subheader("Sample from the model")
    low, high = TEMPERATURE_RANGE
    columns = st.columns([2, 2, 1, 1])
    columns[0].slider(f"Temperature ({low:g}–{high:g})", low, high, step=0.05, key="try_temperature",
                      help="Below 1: the model's likeliest characters; above 1: more random.")
    columns[1].slider(f"Characters (1–{MAX_SAMPLE_CHARACTERS})", 1, MAX_SAMPLE_CHARACTERS, step=10,
                      key="try_sample_length")
    columns[2].text_input("Start with", key="try_prompt", max_chars=TEXT_LIMITS["try_prompt"])
    columns[3].number_input("Seed", 0, 2**31 - 1, step=1, key="try_seed")
    try:
        sample = sample_characters(reader.model, task, ss["try_prompt"], int(ss["try_sample_length"]),
                                   float(ss["try_temperature"]), seed=int(ss["try_seed"]))
    except LstmVizError as error:
        st.error(plain(error))
        return
    text = ss["try_prompt"] + sample
    nesting = nesting_of(task, text)
    st.code(text, language=None, wrap_lines=True)
    st.caption(f"{len(sample)} sampled characters after the prompt; deepest nesting {nesting.deepest}; "
               + ("balanced." if nesting.balanced else "not balanced at the end.")
               + (" The Transformer keeps no state: each character reruns it over the whole text so far, the O(T) "
                  "work per character that a key-value cache avoids (the RNN, GRU and LSTM carry one fixed-size "
                  "state instead)." if not reader.model.architecture.recurrent else ""))


def tracking_section(reader: Reader) -> None:
    ss, trainer, task, run, arch = st.session_state, reader.trainer, reader.trainer.task, reader.run, reader.arch
    st.subheader("The unit that counts brackets")
    feature_names = list(task.features(trainer.probe_inputs[0].numpy()))
    page_url.fit("try_feature", feature_names, feature_names[0])
    st.radio("Search for the unit that follows", feature_names, key="try_feature", horizontal=True)
    feature = ss["try_feature"]
    found = find_feature_unit(reader.model, task, trainer.probe_inputs, feature)
    st.caption(
        f"Searched all {reader.model.config.hidden_size} units of the {run.label} on {len(trainer.probe_inputs)} "
        f"generated sequences: the {found.state.replace('_', ' ')} of unit {found.unit} follows the {feature} best "
        f"(correlation {found.correlation:+.2f}; 0 means unrelated, ±1 a perfect tracker)."
    )
    st.text_area("Paste or type text to trace (brackets, quotes, newlines)", key="try_paste", height=110,
                 max_chars=TEXT_LIMITS["try_paste"])
    try:
        reading = read_text(reader.model, task, ss["try_paste"])
    except LstmVizError as error:
        st.error(plain(error))
        return
    inputs = task.encode_text(ss["try_paste"])[0]
    features = task.features(inputs)
    if reading.unknown:
        shown = sorted({reading.tokens[t] for t in reading.unknown})
        st.warning("Characters outside the alphabet, read as ¤ (unknown): " + plain(" ".join(shown)),
                   icon=":material/help:")
    values = reading.trace.layers[found.layer][found.state][0][:, found.unit]
    charts.show(text_figures.depth_unit(
        reading.tokens, features[feature], values, unit=found.unit, correlation=found.correlation, arch=arch,
        feature=feature, quoted=features["inside quotes"],
        value_label="cell state cₜ" if found.state == "cell_state" else "hidden state hₜ",
        title=f"{run.label} unit {found.unit} against the true “{feature}” of your text",
    ), "try_depth", name=f"{arch}_unit{found.unit}_{feature}", in_zip=False)
    charts.show(text_figures.word_by_word(
        reading.tokens, reading.unknown, {"P(the character that follows)": probability_of_what_follows(reading, inputs)},
        {n: a[0] for n, a in reading.trace.layers[0].items()}, names=reader.names,
        title=f"{run.label} reading your text, character by character",
        lines_title="probability the model gave to the next character", token_name="character",
    ), "try_chars", name=f"{arch}_reading_character_by_character", in_zip=False)


def reading_sections(reader: Reader) -> None:
    """The sections this task's model has: a classifier's, or a bracket model's."""
    task = reader.trainer.task
    if task.readout == "last" and hasattr(task, "classes"):
        classifier_section(reader)
    elif "nesting depth" in task.features(reader.trainer.probe_inputs[0].numpy()):
        sampling_section(reader)
        tracking_section(reader)
    else:
        st.info(f"The {task.label} task takes typed text, but this page does not know how to show it yet.")
