"""Glue of the Music page: which melody model it samples from (the session's chorale run or the shipped one), the
primer (a test chorale's opening or typed note names), the sampled and the real melody each played and drawn with
the units the neuron search finds, and the cross-entropy table. Numbers from lstm_viz.analysis.melody, sound from
lstm_viz.io.audio, figures from lstm_viz.figures.melody."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import streamlit as st

from lstm_viz.analysis import melody
from lstm_viz.core.model import SequenceModel
from lstm_viz.core.trainer import ArchRun, Trainer
from lstm_viz.data import chorales as data
from lstm_viz.figures import melody as melody_figures
from lstm_viz.figures.style import UNIT_INTERVAL_TRACES
from lstm_viz.io.audio import TEMPO_RANGE, melody_wav
from lstm_viz.rules.errors import LstmVizError
from lstm_viz.rules.ranges import TEMPERATURE_RANGE
from lstm_viz.runs.bundled import CHORALES_RUN, load_bundled_run
from lstm_viz.ui import charts, memo, page_url, session_run
from lstm_viz.ui.page_schemas import MUSIC_PRIMERS
from lstm_viz.ui.plain import plain


@dataclass(frozen=True)
class Reader:
    """The melody model the page samples from: its run, one architecture, its model at the latest checkpoint."""
    trainer: Trainer
    arch: str
    run: ArchRun
    model: SequenceModel
    explored: session_run.ExploredRun

    def latest_model(self, arch: str) -> SequenceModel:
        """A private copy of `arch`'s model at its latest checkpoint."""
        model = self.explored.model(arch)
        model.load_state_dict(self.trainer.runs[arch].checkpoints[-1].state_dict)
        return model


def explored_run() -> session_run.ExploredRun:
    """The session's run when it trained the chorale task, else the shipped one."""
    trainer = session_run.current_trainer()
    if trainer is not None and trainer.task.name == "chorales":
        return session_run.session_explored(trainer)
    return session_run.ExploredRun(trainer=load_bundled_run(CHORALES_RUN), source="bundled",
                                   run_key=f"bundled:{CHORALES_RUN}")


def pick_reader() -> Reader:
    explored = explored_run()
    trainer = explored.trainer
    archs = [a for a, run in trainer.runs.items() if run.model.architecture.recurrent]
    page_url.fit("music_arch", archs, "lstm" if "lstm" in archs else archs[0])
    st.segmented_control("Network", archs, key="music_arch", format_func=lambda a: trainer.runs[a].label)
    arch = st.session_state["music_arch"] or archs[0]
    run = trainer.runs[arch]
    model = explored.model(arch)
    model.load_state_dict(run.checkpoints[-1].state_dict)
    where = "your run" if explored.source == "session" else "the shipped run"
    st.caption(f"{run.label} of {where}, after {run.checkpoints[-1].step} training steps on {trainer.config.length}-note "
               f"excerpts of {len(data.split_notes('train'))} chorale melodies (key-normalised to C major / A minor).")
    return Reader(trainer, arch, run, model, explored)


def test_chorales() -> dict[str, data.Chorale]:
    return {c.id: c for c in data.load_chorales() if c.split == "test"}


def pick_primer() -> tuple[np.ndarray, data.Chorale] | None:
    """The primer's notes (n, 2) and the test chorale shown beside the melody; None (with a message) when the typed
    notes cannot be read."""
    ss = st.session_state
    chorales = test_chorales()
    st.radio("Primer", list(MUSIC_PRIMERS), key="music_primer", format_func=MUSIC_PRIMERS.get, horizontal=True)
    left, right = st.columns([1, 1])
    left.selectbox("Test chorale (a tune never trained on)", list(chorales), key="music_chorale",
                   format_func=lambda c: f"BWV {c.removeprefix('bwv')} ({chorales[c].notes} notes)")
    chorale = chorales[ss["music_chorale"]]
    if ss["music_primer"] == "chorale":
        right.slider(f"Notes of its opening (1–{data.MAX_PRIMER_NOTES})", 1, data.MAX_PRIMER_NOTES, key="music_opening")
        primer = data.encode(chorale)[:ss["music_opening"]]
        st.caption(f"Primer: {data.format_notes(primer)}")
        return primer, chorale
    right.text_input("Notes", key="music_typed", max_chars=data.MAX_PRIMER_CHARACTERS,
                     help="Note names with an octave (C4 is middle C), optionally /beats (quarter notes; 1 if left out) "
                          "and ! for a fermata (the end of a phrase): G4 A4 B4/2!. The model learned the chorales in "
                          f"C major / A minor, from {data.note_name(data.vocabulary().pitches[0])} to "
                          f"{data.note_name(data.vocabulary().pitches[-1])}.")
    try:
        return data.parse_notes(ss["music_typed"]), chorale
    except LstmVizError as error:
        st.error(plain(error))
        return None


def sampling_controls() -> None:
    low, high = TEMPERATURE_RANGE
    columns = st.columns(4)
    columns[0].slider(f"Temperature ({low:g}–{high:g})", low, high, step=0.05, key="music_temperature",
                      help="Below 1: the model's likeliest notes, often repeating; above 1: more surprising.")
    columns[1].slider(f"Notes to sample (1–{melody.MAX_SAMPLE_NOTES})", 1, melody.MAX_SAMPLE_NOTES, key="music_length")
    columns[2].number_input("Seed", 0, 2**31 - 1, step=1, key="music_seed")
    columns[3].slider("Tempo (beats per minute)", *TEMPO_RANGE, step=5, key="music_tempo",
                      help="Quarter notes per minute: 80 is a walking pace.")


def unit_panels(reader: Reader, notes: np.ndarray, units: list[melody.FeatureUnit]) -> list[melody_figures.UnitPanel]:
    arrays = melody.melody_trace(reader.model, reader.trainer.task, notes).layers[-1]
    names = [n for n in arrays if n in UNIT_INTERVAL_TRACES] + [units[0].state]
    return [melody_figures.UnitPanel(u.unit, u.feature, u.correlation, {n: arrays[n][0][:, u.unit] for n in names})
            for u in units]


def melody_view(reader: Reader, notes: np.ndarray, primer: int, units: list[melody.FeatureUnit], *, title: str,
                key: str, continuation: str = "sampled") -> None:
    """Play `notes` (n, 2) and draw them as a piano roll over the units' gates and state."""
    vocab = data.vocabulary()
    pitches = [vocab.pitches[int(p)] for p in notes[:, 0]]
    beats = [vocab.durations[int(d)][0] for d in notes[:, 1]]
    fermatas = [vocab.durations[int(d)][1] for d in notes[:, 1]]
    try:
        st.audio(melody_wav(pitches, beats, tempo=st.session_state["music_tempo"]), format="audio/wav")
    except LstmVizError as error:
        st.error(plain(error))
    charts.show(melody_figures.piano_roll(pitches, beats, fermatas, primer=primer, arch=reader.arch, title=title,
                                          panels=unit_panels(reader, notes, units), continuation=continuation),
                key, name=f"{reader.arch}_{key}", in_zip=False)


def melodies(reader: Reader, primer: np.ndarray, chorale: data.Chorale) -> None:
    ss, task = st.session_state, reader.trainer.task
    try:
        notes = melody.sample_melody(reader.model, task, primer, int(ss["music_length"]), float(ss["music_temperature"]),
                                     seed=int(ss["music_seed"]))
    except LstmVizError as error:
        st.error(plain(error))
        return
    step = reader.run.checkpoints[-1].step
    units = memo.explorer_memo(reader.explored, ("music_units", reader.arch, step),
                               lambda: melody.feature_units(reader.model, task, reader.trainer.probe_inputs))
    found = "; ".join(f"{u.feature}: unit {u.unit} (r = {u.correlation:+.2f})" for u in units)
    st.caption(f"Neuron search over the {reader.model.config.hidden_size} units' {units[0].state.replace('_', ' ')} "
               f"on {len(reader.trainer.probe_inputs)} test excerpts: {found}. Dotted lines: the unit's gates.")
    st.subheader(f"Written by the {reader.run.label}")
    melody_view(reader, notes, len(primer), units, key="music_sampled",
                title=f"{len(notes) - len(primer)} notes sampled after a primer of {len(primer)} (grey), "
                      f"temperature {ss['music_temperature']:g}, seed {ss['music_seed']}")
    st.caption(f"Sampled: {data.format_notes(notes[len(primer):])}")
    st.subheader(f"Bach: the chorale BWV {chorale.id.removeprefix('bwv')}, for comparison")
    real = data.encode(chorale)
    melody_view(reader, real, len(primer) if ss["music_primer"] == "chorale" else 0, units, key="music_real",
                continuation="Bach's notes",
                title=f"The real soprano ({chorale.notes} notes), in C major / A minor as the model reads it")
    st.caption(data.format_notes(real))


def cross_entropy_section(reader: Reader) -> None:
    trainer, task = reader.trainer, reader.trainer.task
    st.subheader("How well each network predicts the test tunes")
    # Once per server for each architecture's latest checkpoint: 88 windows through each model, 0.2 s.
    rows = [memo.explorer_memo(reader.explored, ("music_cross_entropy", a, trainer.runs[a].checkpoints[-1].step),
                               lambda a=a: melody.test_cross_entropy(reader.latest_model(a), task, trainer.config.length))
            for a in trainer.runs if trainer.runs[a].model.architecture.recurrent]
    rows += melody.baseline_rows()
    labels = {a: run.label for a, run in trainer.runs.items()} | {"unigram": "unigram (counts)",
                                                                   "bigram": "bigram (counts)"}
    table = pd.DataFrame({"model": [labels[r.name] for r in rows], "pitch": [r.pitch for r in rows],
                          "duration": [r.duration for r in rows], "total": [r.total for r in rows]})
    st.dataframe(table.style.format({"pitch": "{:.3f}", "duration": "{:.3f}", "total": "{:.3f}"}), hide_index=True)
    charts.show(melody_figures.cross_entropy_bars([(r.name, labels[r.name], r.pitch, r.duration) for r in rows],
                                                  title="Cross-entropy on every note of the test tunes: pitch (solid) + duration (hatched)"),
                "music_cross_entropy", name="music_cross_entropy", in_zip=False)
    st.caption(f"Bits per note on all {melody.scored_notes():,} notes of the test tunes but the first; lower "
               "is better. Unigram: each note's pitch and duration from their training frequencies (add-one). Bigram: "
               "from the previous pitch and previous duration (Witten-Bell: an unseen pair falls back on the unigram).")
