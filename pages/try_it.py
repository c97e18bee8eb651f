import numpy as np
import streamlit as st

from lstm_viz.figures import text as text_figures
from lstm_viz.runs.bundled import BRACKETS_RUN, SENTIMENT_RUN, load_bundled_run
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.analysis.text_generation import MAX_SAMPLE_CHARACTERS, TEMPERATURE_RANGE, find_feature_unit, read_text, sample_characters
from lstm_viz.ui import charts, page_schemas, page_url, state, text_data
from lstm_viz.ui.plain import plain, short

state.init_session()

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
TEXT_LIMITS = page_schemas.TEXT_LIMITS
page = page_url.sync(page_schemas.TRY_IT)

st.title("Try it")
st.caption("Type your own input into a trained network and watch it read, word by word or character by character.")
page.warn()

session_trainer = state.current_trainer()
sources = {}
if session_trainer is not None and session_trainer.task.accepts_text:
    sources["session"] = f"Your run: {session_trainer.task.label}"
sources.update(BUNDLED)
# A run trained since this page was last seen is what the visitor came back to try.
if "session" in sources and st.session_state.get("_try_seen_run") != st.session_state.get("run_id"):
    st.session_state["try_source"] = "session"
st.session_state["_try_seen_run"] = st.session_state.get("run_id")
if st.session_state["try_source"] not in sources:
    st.session_state["try_source"] = next(iter(sources))
st.radio("Model", list(sources), key="try_source", format_func=sources.get, horizontal=True)
if session_trainer is not None and "session" not in sources:
    st.caption(f"Your run on the Train page ({session_trainer.task.label}) does not take typed input; "
               "train a text task there to try your own model here.")

source = st.session_state["try_source"]
if source == "session":
    explored = state.ExploredRun(trainer=session_trainer, source="session", run_key=st.session_state.get("run_id", 0))
else:
    explored = state.ExploredRun(trainer=load_bundled_run(source), source="bundled", run_key=f"bundled:{source}")
trainer, task = explored.trainer, explored.trainer.task
archs = list(trainer.runs)
if st.session_state["try_arch"] not in archs:
    st.session_state["try_arch"] = "lstm" if "lstm" in archs else archs[0]
st.segmented_control("Network", archs, key="try_arch", format_func=lambda a: trainer.runs[a].label)
arch = st.session_state["try_arch"] or archs[0]
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


def use_example(sentence: str) -> None:
    st.session_state["try_text"] = sentence


def classifier_section() -> None:
    st.subheader("Type a sentence")
    if task.name == "sentiment":
        st.caption("Or click an example:")
        columns = st.columns(3)
        for i, sentence in enumerate(EXAMPLE_SENTENCES):
            columns[i % 3].button(sentence, key=f"try_example_{i}", on_click=use_example, args=(sentence,),
                                  width="stretch")
    st.text_input("Sentence", key="try_text", max_chars=TEXT_LIMITS["try_text"],
                  help=f"Words outside the model's vocabulary ({len(task.vocabulary) - 2} words) are read as <unk> "
                       "and marked ⚠. Up to " + f"{getattr(task, 'max_typed_words', task.max_length)} words.")
    try:
        reading = read_text(model, task, st.session_state["try_text"])
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
        {n: a[0] for n, a in reading.trace.layers[0].items()}, names=names, title=f"{run.label} reading the sentence",
        colours=[text_figures.class_colour(c, i) for i, c in enumerate(classes)],
    ), "try_words", name=f"{arch}_reading_word_by_word", in_zip=False)
    with st.expander("Words the model knows"):
        st.write(plain(", ".join(w for w in task.vocabulary.words[2:])))


def language_section() -> None:
    st.subheader("Sample from the model")
    low, high = TEMPERATURE_RANGE
    columns = st.columns([2, 2, 1, 1])
    columns[0].slider(f"Temperature ({low:g}–{high:g})", low, high, step=0.05, key="try_temperature",
                      help="Below 1: the model's likeliest characters; above 1: more random.")
    columns[1].slider(f"Characters (1–{MAX_SAMPLE_CHARACTERS})", 1, MAX_SAMPLE_CHARACTERS, step=10, key="try_sample_length")
    columns[2].text_input("Start with", key="try_prompt", max_chars=TEXT_LIMITS["try_prompt"])
    columns[3].number_input("Seed", 0, 2**31 - 1, step=1, key="try_seed")
    try:
        sample = sample_characters(model, task, st.session_state["try_prompt"], int(st.session_state["try_sample_length"]),
                                   float(st.session_state["try_temperature"]), seed=int(st.session_state["try_seed"]))
    except LstmVizError as error:
        st.error(plain(error))
    else:
        text = st.session_state["try_prompt"] + sample
        features = task.features(task.encode_text(text)[0])
        depth = features["nesting depth"]
        balanced = "balanced" if depth[-1] == 0 and features["inside quotes"][-1] == 0 else "not balanced at the end"
        st.code(text, language=None, wrap_lines=True)
        st.caption(f"{len(sample)} sampled characters after the prompt; deepest nesting {int(depth.max())}; {balanced}.")

    st.subheader("The unit that counts brackets")
    feature_names = list(task.features(trainer.probe_inputs[0].numpy()))
    if st.session_state["try_feature"] not in feature_names:
        st.session_state["try_feature"] = feature_names[0]
    st.radio("Search for the unit that follows", feature_names, key="try_feature", horizontal=True)
    feature = st.session_state["try_feature"]
    found = find_feature_unit(model, task, trainer.probe_inputs, feature)
    st.caption(
        f"Searched all {model.config.hidden_size} units of the {run.label} on {len(trainer.probe_inputs)} generated "
        f"sequences: the {found.state.replace('_', ' ')} of unit {found.unit} follows the {feature} best "
        f"(correlation {found.correlation:+.2f}; 0 means unrelated, ±1 a perfect tracker)."
    )
    st.text_area("Paste or type text to trace (brackets, quotes, newlines)", key="try_paste", height=110, max_chars=TEXT_LIMITS["try_paste"])
    try:
        reading = read_text(model, task, st.session_state["try_paste"])
    except LstmVizError as error:
        st.error(plain(error))
        return
    inputs = task.encode_text(st.session_state["try_paste"])[0]
    features = task.features(inputs)
    if reading.unknown:
        shown = sorted({reading.tokens[t] for t in reading.unknown})
        st.warning("Characters outside the alphabet, read as ¤ (unknown): " + plain(" ".join(shown)), icon=":material/help:")
    values = reading.trace.layers[found.layer][found.state][0][:, found.unit]
    charts.show(text_figures.depth_unit(
        reading.tokens, features[feature], values, unit=found.unit, correlation=found.correlation, arch=arch, feature=feature,
        quoted=features["inside quotes"], value_label="cell state cₜ" if found.state == "cell_state" else "hidden state hₜ",
        title=f"{run.label} unit {found.unit} against the true “{feature}” of your text",
    ), "try_depth", name=f"{arch}_unit{found.unit}_{feature}", in_zip=False)
    following = inputs.argmax(axis=-1)[1:]
    surprise = np.r_[reading.probabilities[np.arange(len(following)), following], np.nan]
    charts.show(text_figures.word_by_word(
        reading.tokens, reading.unknown, {"P(the character that follows)": surprise}, {n: a[0] for n, a in reading.trace.layers[0].items()},
        names=names, title=f"{run.label} reading your text, character by character",
        lines_title="probability the model gave to the next character", token_name="character",
    ), "try_chars", name=f"{arch}_reading_character_by_character", in_zip=False)


if task.readout == "last" and hasattr(task, "classes"):
    classifier_section()
elif "nesting depth" in task.features(trainer.probe_inputs[0].numpy()):
    language_section()
else:
    st.info(f"The {task.label} task takes typed text, but this page does not know how to show it yet.")

st.divider()
text_data.labelled_text_upload()
