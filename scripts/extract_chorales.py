"""Extract the soprano melodies of the Bach chorales in music21's bundled corpus into assets/data/bach_chorales.json.

    pip install -r scripts/requirements-build.txt
    python scripts/extract_chorales.py

The app reads the JSON file only (lstm_viz/data/chorales.py); music21 is needed here and in this script's test
(tests/test_extract_chorales.py), nowhere else. The corpus ships inside the music21 package: nothing is downloaded.

Choices, each for a reason:
- Every file of the corpus's `bach` folder with a part named "Soprano" (409 of 433; the rest are instrumental or
  unlabelled). The soprano carries the chorale tune.
- A note is (MIDI pitch, duration in quarter lengths, fermata or not). Tied notes are one note (their durations
  added): a listener hears one note. Grace notes (no duration) are dropped. Rests are dropped (393 in the 409
  sopranos, under 2% of the events; of the 373 inside a melody, 198 follow a fermata, where the fermata already
  marks the break): keeping them would add a "pitch" the synthesiser, the note-name primer and the pitch-height
  feature would each have to treat apart. The melody is its notes back to back.
- Key-normalised by the written key signature: each chorale is transposed by the fewest semitones (-6..+5) that
  take its signature to none (C major / A minor), so the mode stays (a minor chorale ends on A). With about 400
  short melodies, 12 keys would split the statistics of each scale degree twelve ways, and the model could not
  tell the key from a four-note primer anyway. The transposition is stored, so the original pitches come back.
- Split by tune, not by file: many tunes are harmonised more than once (the corpus has "Jesu, meine Freude" five
  times, in BWV 227 and BWV 81), and the same soprano in training and test would leak. Two chorales are one tune
  when their first 8 key-normalised pitches agree or when they share any run of 12 consecutive pitches (a setting
  with another pickup or a varied first line still shares a later line; 12 notes are longer than any cadence
  formula two different tunes share), and tunes are the groups these links join. A tune goes to the test set when
  the SHA-1 of its alphabetically first chorale's 8 opening pitches, read as a number, is 0-14 modulo 100, so the
  split never depends on the order of the corpus's files.
"""
from __future__ import annotations

import hashlib
import json
import sys
from fractions import Fraction
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "assets" / "data" / "bach_chorales.json"
TUNE_PREFIX = 8  # first key-normalised pitches that name a tune
SHARED_RUN = 12  # consecutive pitches two settings of one tune share
TEST_PERCENT = 15


def transposition(sharps: int) -> int:
    """Semitones that take the major key of `sharps` sharps (negative: flats) to C, in -6..+5."""
    tonic = (7 * sharps) % 12
    return -tonic if tonic <= 6 else 12 - tonic


def soprano_part(score):
    for part in score.parts:
        if (part.partName or "").strip().lower().startswith("soprano"):
            return part
    return None


def soprano_notes(part) -> list[tuple[int, Fraction, bool]]:
    """(MIDI pitch, quarter length, fermata) per sounding note, ties joined by hand (the test checks this against
    music21's own stripTies)."""
    from music21 import expressions

    notes: list[list] = []
    tied = False
    for element in part.flatten().notesAndRests:
        if element.isRest or element.duration.isGrace:
            continue
        if element.isChord:  # never in the sopranos, but a chord's top note is what a melody would keep
            element = element.notes[-1]
        length = Fraction(element.quarterLength).limit_denominator(64)
        fermata = any(isinstance(e, expressions.Fermata) for e in element.expressions)
        if tied and notes and notes[-1][0] == element.pitch.midi:
            notes[-1][1] += length
            notes[-1][2] = notes[-1][2] or fermata
        else:
            notes.append([element.pitch.midi, length, fermata])
        tied = element.tie is not None and element.tie.type in ("start", "continue")
    return [(pitch, length, fermata) for pitch, length, fermata in notes]


def key_sharps(part) -> int:
    signatures = list(part.flatten().getElementsByClass("KeySignature"))
    return int(signatures[0].sharps) if signatures else 0


def is_test_tune(pitches: list[int]) -> bool:
    digest = hashlib.sha1(" ".join(map(str, pitches[:TUNE_PREFIX])).encode()).hexdigest()
    return int(digest, 16) % 100 < TEST_PERCENT


def tunes(records: list[dict]) -> dict[str, str]:
    """{chorale id: id of its tune's alphabetically first chorale}: the groups that shared openings and shared runs
    of SHARED_RUN pitches join (union-find)."""
    parent = {record["id"]: record["id"] for record in records}

    def root(name: str) -> str:
        while parent[name] != name:
            parent[name] = parent[parent[name]]
            name = parent[name]
        return name

    first_seen: dict[tuple, str] = {}
    for record in records:
        pitches = record["pitch"]
        keys = [("opening", tuple(pitches[:TUNE_PREFIX]))]
        keys += [("run", tuple(pitches[i:i + SHARED_RUN])) for i in range(len(pitches) - SHARED_RUN + 1)]
        for key in keys:
            other = first_seen.setdefault(key, record["id"])
            a, b = sorted((root(record["id"]), root(other)))
            parent[b] = a
    return {name: root(name) for name in parent}


def assign_splits(records: list[dict]) -> None:
    """Set each record's "split" by its tune."""
    by_id = {record["id"]: record for record in records}
    for name, tune in tunes(records).items():
        by_id[name]["split"] = "test" if is_test_tune(by_id[tune]["pitch"]) else "train"


def encode_duration(length: Fraction) -> float | str:
    """Quarter lengths as JSON numbers when a float holds them exactly (all but a few), else as "p/q" text."""
    return float(length) if length.denominator in (1, 2, 4, 8, 16, 32, 64) else f"{length.numerator}/{length.denominator}"


def extract_one(path) -> dict | None:
    from music21 import corpus

    score = corpus.parse(path)
    part = soprano_part(score)
    if part is None:
        return None
    sharps = key_sharps(part)
    shift = transposition(sharps)
    notes = soprano_notes(part)
    if len(notes) < 2:
        return None
    pitches = [pitch + shift for pitch, _, _ in notes]
    return {
        "id": Path(str(path)).stem,
        "sharps": sharps,
        "transpose": shift,
        "split": "",  # by tune, once every chorale is read (assign_splits)
        "pitch": pitches,
        "ql": [encode_duration(length) for _, length, _ in notes],
        "fermata": [i for i, (_, _, fermata) in enumerate(notes) if fermata],
    }


def main() -> None:
    from music21 import corpus

    chorales = []
    skipped = 0
    # By name, then format: three chorales come twice (.krn and .mxl); only the .mxl names its soprano part.
    for path in sorted(corpus.getComposer("bach"), key=lambda p: (Path(str(p)).stem, Path(str(p)).suffix)):
        record = extract_one(path)
        if record is None:
            skipped += 1
        else:
            chorales.append(record)
    assign_splits(chorales)
    lines = ",\n".join(json.dumps(record, ensure_ascii=False, separators=(",", ":")) for record in chorales)
    import music21

    header = json.dumps({
        "source": f"music21 {music21.__version__} corpus, folder bach (public domain)",
        "encoding": "soprano notes; pitch: MIDI number after transposing by `transpose` semitones; ql: quarter "
                    "lengths; fermata: indices of notes with a fermata; ties joined, rests and grace notes dropped",
    }, separators=(",", ":"))
    OUT.write_text('{"about":' + header + ',\n"chorales":[\n' + lines + "\n]}\n", encoding="utf-8")
    test = sum(record["split"] == "test" for record in chorales)
    notes = sum(len(record["pitch"]) for record in chorales)
    print(f"{len(chorales)} chorales ({test} test, {skipped} files without a soprano), {notes} notes -> {OUT}",
          file=sys.stderr)


if __name__ == "__main__":
    main()
