"""The soprano melodies of the Bach chorales (assets/data/bach_chorales.json, written by scripts/extract_chorales.py
from music21's corpus; the app never imports music21), their vocabularies, and note names typed by a user.

A note is (pitch index, duration index). Pitches are the MIDI numbers from the lowest to the highest in the file
(key-normalised to C major / A minor). A duration token is a quarter length together with a fermata flag: the
fermata ends a phrase, so predicting the next note's duration includes predicting whether it closes a phrase.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

import numpy as np

from lstm_viz.rules import paths
from lstm_viz.rules.errors import ConfigError, UploadError

CHORALES_FILE = paths.DATA_DIR / "bach_chorales.json"
MAX_FILE_BYTES = 2_000_000  # the shipped file is about 0.2 MB; a larger one is not ours
NOTE_NAMES = ("C", "C#", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B")
_SEMITONE = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
MAX_PRIMER_CHARACTERS = 600
MAX_PRIMER_NOTES = 64
_NOTE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d)(?:/(\d+(?:\.\d+)?|\d+/\d+))?(!?)$")


@dataclass(frozen=True)
class Chorale:
    id: str  # the corpus file's name, e.g. "bwv1.6" (BWV number and movement)
    split: str  # "train" or "test": whole tunes go to one side (scripts/extract_chorales.py)
    transpose: int  # semitones added to the written pitches to reach C major / A minor
    pitches: tuple[int, ...]  # MIDI numbers, key-normalised
    lengths: tuple[float, ...]  # quarter lengths
    fermatas: frozenset[int]  # indices of notes under a fermata

    @property
    def notes(self) -> int:
        return len(self.pitches)


def _length(value) -> float:
    if isinstance(value, str):
        return float(Fraction(value))
    return float(value)


def _read(record: dict) -> Chorale:
    pitches, lengths = record["pitch"], record["ql"]
    if len(pitches) != len(lengths) or len(pitches) < 2:
        raise ValueError(f"{record.get('id')}: pitches and lengths differ in number")
    return Chorale(id=str(record["id"]), split=str(record["split"]), transpose=int(record["transpose"]),
                   pitches=tuple(int(p) for p in pitches), lengths=tuple(_length(q) for q in lengths),
                   fermatas=frozenset(int(i) for i in record["fermata"]))


@lru_cache(maxsize=1)
def load_chorales() -> tuple[Chorale, ...]:
    """Every chorale of the shipped file, in the file's order (sorted by corpus file name)."""
    if not CHORALES_FILE.exists() or CHORALES_FILE.stat().st_size > MAX_FILE_BYTES:
        raise ConfigError(f"{CHORALES_FILE.name} is missing or too large: run scripts/extract_chorales.py")
    try:
        records = json.loads(CHORALES_FILE.read_text(encoding="utf-8"))["chorales"]
        return tuple(_read(record) for record in records)
    except (KeyError, TypeError, ValueError) as error:
        raise ConfigError(f"{CHORALES_FILE.name} cannot be read ({error}): run scripts/extract_chorales.py") from None


@dataclass(frozen=True)
class Vocabulary:
    pitches: tuple[int, ...]  # MIDI numbers, lowest first
    durations: tuple[tuple[float, bool], ...]  # (quarter length, fermata), shortest first

    def pitch_index(self, midi: int) -> int:
        return self.pitches.index(midi)

    def duration_index(self, length: float, fermata: bool) -> int:
        return self.durations.index((length, fermata))


@lru_cache(maxsize=1)
def vocabulary() -> Vocabulary:
    """Every pitch from the lowest to the highest in the file (a contiguous range, so a typed note inside it is
    known even if no chorale sings it), and every (length, fermata) pair that occurs."""
    chorales = load_chorales()
    low = min(min(c.pitches) for c in chorales)
    high = max(max(c.pitches) for c in chorales)
    durations = sorted({(q, i in c.fermatas) for c in chorales for i, q in enumerate(c.lengths)})
    return Vocabulary(pitches=tuple(range(low, high + 1)), durations=tuple(durations))


def encode(chorale: Chorale) -> np.ndarray:
    """(notes, 2) int64: pitch index and duration index of each note."""
    vocab = vocabulary()
    return np.array([(vocab.pitch_index(p), vocab.duration_index(q, i in chorale.fermatas))
                     for i, (p, q) in enumerate(zip(chorale.pitches, chorale.lengths))], dtype=np.int64)


@lru_cache(maxsize=2)
def split_notes(split: str) -> tuple[np.ndarray, ...]:
    """The encoded chorales of one split ("train" or "test"), each (notes, 2)."""
    return tuple(encode(c) for c in load_chorales() if c.split == split)


def note_name(midi: int) -> str:
    """Scientific pitch notation with sharps and flats as the key of C would spell them: 60 -> "C4"."""
    return f"{NOTE_NAMES[midi % 12]}{midi // 12 - 1}"


def format_notes(notes: np.ndarray) -> str:
    """Encoded notes (n, 2) as the text parse_notes reads: "G4 A4 B4/2!"."""
    vocab = vocabulary()
    words = []
    for pitch, duration in np.asarray(notes):
        length, fermata = vocab.durations[int(duration)]
        shown = "" if length == 1.0 else f"/{length:g}"
        words.append(f"{note_name(vocab.pitches[int(pitch)])}{shown}{'!' if fermata else ''}")
    return " ".join(words)


def _parse_word(word: str, vocab: Vocabulary) -> tuple[int, int]:
    match = _NOTE.match(word)
    if not match:
        raise UploadError(f"“{word[:20]}” is not a note: write a letter A-G, an optional # or b, an octave "
                          "(C4 is middle C), optionally /beats and ! for a fermata, e.g. G4 A4 B4/2!")
    letter, accidental, octave, beats, fermata = match.groups()
    midi = 12 * (int(octave) + 1) + _SEMITONE[letter.upper()] + {"#": 1, "b": -1, "": 0}[accidental]
    if midi not in vocab.pitches:
        low, high = note_name(vocab.pitches[0]), note_name(vocab.pitches[-1])
        raise UploadError(f"{word}: the chorale sopranos (in C major / A minor) stay between {low} and {high}")
    length = float(Fraction(beats)) if beats else 1.0
    if (length, bool(fermata)) not in vocab.durations:
        known = sorted({f"{q:g}" for q, f in vocab.durations if f == bool(fermata)}, key=float)
        raise UploadError(f"{word}: no chorale has a note of {length:g} beats{' under a fermata' if fermata else ''}; "
                          f"known lengths{' with !' if fermata else ''}: {', '.join(known)}")
    return vocab.pitch_index(midi), vocab.duration_index(length, bool(fermata))


def parse_notes(text: str) -> np.ndarray:
    """Typed note names ("G4 A4 B4/2!": pitch, optional /beats in quarter notes, ! for a fermata) as encoded notes
    (n, 2). UploadError with a message naming the first word that cannot be read."""
    if not isinstance(text, str):
        raise UploadError("type the primer as note names, e.g. G4 A4 B4/2")
    if len(text) > MAX_PRIMER_CHARACTERS:
        raise UploadError(f"the primer has {len(text):,} characters; the limit is {MAX_PRIMER_CHARACTERS}")
    words = text.replace(",", " ").split()
    if not words:
        raise UploadError("type at least one note, e.g. G4 A4 B4/2")
    if len(words) > MAX_PRIMER_NOTES:
        raise UploadError(f"the primer has {len(words)} notes; the limit is {MAX_PRIMER_NOTES}")
    vocab = vocabulary()
    return np.array([_parse_word(word, vocab) for word in words], dtype=np.int64)
