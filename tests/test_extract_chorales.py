"""The shipped chorale melodies (assets/data/bach_chorales.json) against music21 itself: for several chorales the
file's notes are the soprano's sounding notes as music21 reads them (its own stripTies, not the script's tie
joining), at the written pitches once the stored transposition is undone; and the file's notes, written back out
as MusicXML by music21 and parsed again, come back the same. Skipped where music21 (scripts/requirements-build.txt)
is not installed: the app never needs it."""
import json
import sys
from fractions import Fraction
from pathlib import Path

import pytest

music21 = pytest.importorskip("music21")
from music21 import converter, corpus, expressions, note, stream  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import extract_chorales  # noqa: E402

SHIPPED = ROOT / "assets" / "data" / "bach_chorales.json"
# A major-key and a minor-key chorale, one with ties, one with flats and one with sharps, a test-set chorale.
CHECKED = ("bwv1.6", "bwv10.7", "bwv128.5", "bwv26.6", "bwv40.8", "bwv269")


@pytest.fixture(scope="module")
def shipped() -> dict[str, dict]:
    return {record["id"]: record for record in json.loads(SHIPPED.read_text())["chorales"]}


def sounding_notes(part) -> tuple[list[int], list[Fraction], list[bool]]:
    """MIDI pitch, quarter length and fermata of each sounding note, read with music21's own tie merging."""
    notes = [n for n in part.stripTies().flatten().notes if not n.duration.isGrace]
    # A fermata may sit on any piece of a tied note (stripTies keeps the first piece's marks only): a sounding note
    # is under a fermata when a marked piece starts inside it.
    marked = [n.offset for n in part.flatten().notes if any(isinstance(e, expressions.Fermata) for e in n.expressions)]
    fermata = [any(n.offset <= at < n.offset + n.quarterLength for at in marked) for n in notes]
    return [n.pitch.midi for n in notes], [Fraction(n.quarterLength).limit_denominator(64) for n in notes], fermata


def music21_notes(chorale_id: str) -> tuple[list[int], list[Fraction], list[bool], int]:
    """The written soprano's sounding notes and its key signature's sharps."""
    score = corpus.parse(f"bach/{chorale_id}")
    part = next(p for p in score.parts if (p.partName or "").lower().startswith("soprano"))
    sharps = part.flatten().getElementsByClass("KeySignature")[0].sharps
    return (*sounding_notes(part), sharps)


@pytest.mark.parametrize("chorale_id", CHECKED)
def test_the_file_holds_the_sopranos_sounding_notes(shipped, chorale_id):
    record = shipped[chorale_id]
    pitches, lengths, fermatas, sharps = music21_notes(chorale_id)
    assert record["sharps"] == sharps
    # Back in the written key: undo the stored shift, which takes the signature's major key to C.
    assert (60 + 7 * sharps + record["transpose"]) % 12 == 0 and -6 <= record["transpose"] <= 5
    assert [p - record["transpose"] for p in record["pitch"]] == pitches
    assert [Fraction(q) for q in record["ql"]] == lengths
    assert [i in set(record["fermata"]) for i in range(len(pitches))] == fermatas


def decoded_stream(record: dict) -> stream.Part:
    part = stream.Part()
    for i, (pitch, length) in enumerate(zip(record["pitch"], record["ql"])):
        n = note.Note(pitch - record["transpose"], quarterLength=Fraction(length))
        if i in set(record["fermata"]):
            n.expressions.append(expressions.Fermata())
        part.append(n)
    return part


@pytest.mark.parametrize("chorale_id", CHECKED[:3])
def test_the_encoding_round_trips_through_musicxml(shipped, chorale_id, tmp_path):
    record = shipped[chorale_id]
    path = decoded_stream(record).write("musicxml", fp=tmp_path / f"{chorale_id}.musicxml")
    pitches, lengths, fermatas = sounding_notes(converter.parse(path).parts[0])
    assert [p + record["transpose"] for p in pitches] == record["pitch"]
    assert [float(q) for q in lengths] == [float(q) for q in record["ql"]]
    assert [i for i, f in enumerate(fermatas) if f] == record["fermata"]


def test_the_script_rebuilds_the_shipped_records(shipped):
    """The script's own reading of a few files gives the shipped records exactly (the file is not stale); the split
    is decided over all of them, so it is compared apart."""
    for chorale_id in CHECKED:
        record = extract_chorales.extract_one(corpus.getWork(f"bach/{chorale_id}"))
        assert {**record, "split": None} == {**shipped[chorale_id], "split": None}
    records = [dict(r, split="") for r in shipped.values()]
    extract_chorales.assign_splits(records)
    assert {r["id"]: r["split"] for r in records} == {r["id"]: r["split"] for r in shipped.values()}


def runs_of(pitches, length):
    return {tuple(pitches[i:i + length]) for i in range(len(pitches) - length + 1)}


def test_no_tune_is_on_both_sides_of_the_split(shipped):
    """No test chorale opens like a training one, nor shares 12 consecutive pitches with one (a setting of the same
    tune with another pickup still shares its later lines)."""
    train = [r for r in shipped.values() if r["split"] == "train"]
    test = [r for r in shipped.values() if r["split"] == "test"]
    openings = {tuple(r["pitch"][:extract_chorales.TUNE_PREFIX]) for r in train}
    trained_runs = set().union(*(runs_of(r["pitch"], 12) for r in train))
    assert not any(tuple(r["pitch"][:extract_chorales.TUNE_PREFIX]) in openings for r in test)
    assert not any(runs_of(r["pitch"], 12) & trained_runs for r in test)
    # The five settings of "Jesu, meine Freude" (BWV 227 and 81.7) are one tune, on one side.
    assert len({shipped[c]["split"] for c in ("bwv227.1", "bwv227.3", "bwv227.7", "bwv227.11", "bwv81.7")}) == 1
    assert 0.07 < len(test) / len(shipped) < 0.22
