"""Generated hostile uploads, shared by the fuzz tests (tests/test_uploads_fuzz.py, drawn by hypothesis) and
bench/fuzz_uploads.py (30,000 drawn from a seeded random.Random).

An input starts as a plausible CSV (a time series or labelled texts) and gets a few of the mutations an attacker or
a careless export produces: byte-order marks, CRLF/CR mixes, blank lines, duplicate or markdown header names,
unbalanced and deeply doubled quotes, long lines, a first row wider than the header, 400-digit integers, values
near 1e-310, overflowing or mixed-zone times, NUL bytes, broken UTF-8. `check(upload)` runs the upload the way the
app does and asserts that it ends in the project's own UploadError or in clean data.
"""
from __future__ import annotations

import random
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from lstm_viz.data import datastore
from lstm_viz.rules.errors import UploadError
from lstm_viz.data.series import series_from_upload
from lstm_viz.core.tasks.forecast import ForecastTask
from lstm_viz.core.tasks.labelled_text import LabelledData, validate_labelled_text
from lstm_viz.data.uploads import MAX_SERIES_ROWS, MIN_SERIES_ROWS, MISSING_CHOICES, check_pasted_text, read_series_csv


class Chooser:
    """The random choices a generator makes; `RandomChooser` for the bench, a hypothesis-backed one in the tests."""

    def integer(self, low: int, high: int) -> int:
        raise NotImplementedError

    def choice(self, options: Sequence):
        return options[self.integer(0, len(options) - 1)]

    def boolean(self, chance: float = 0.5) -> bool:
        return self.integer(0, 999) < chance * 1000


class RandomChooser(Chooser):
    def __init__(self, seed: int):
        self.random = random.Random(seed)

    def integer(self, low: int, high: int) -> int:
        return self.random.randint(low, high)


@dataclass(frozen=True)
class Upload:
    kind: str  # "series", "labelled" (a file) or "pasted" (labelled text typed into the text area)
    raw: bytes
    options: dict
    mutations: tuple[str, ...]


CELLS = ["", "nan", "NA", "-", '"', "1,5", "1e400", "-1e400", "inf", "0x1F", "1_000", " 3 ", "１２", "٣", "2024-13-45",
         "10" * 200, "9" * 400, "1e-310", "-0", "+5", ".5", "5.", "1e", "e5", "$x$", "**b**", "<b>x</b>", "\u202e"]
NAMES = ["value", "v", "t", "time", "text", "label", "Text", " label ", "**bold**", "$x$", ":red[r]", "<b>n</b>",
         "[l](https://e.x)", "a" * 300, "", "名前", "a\"b", "value", "label", "x.1", "Unnamed: 0"]
WORDS = ["soup", "cold", "rain", "the", "was", "good", "bad", "<unk>", "**", "$", "https://e.x", "é", "😀", "a" * 50]
ZONES = ["", "Z", "+02:00", "-05:00", "+0000", " UTC"]


def _series_table(choose: Chooser) -> tuple[list[str], list[list[str]], dict]:
    plausible = choose.boolean(0.75)  # else a hostile base: too short, overflowing, underflowing, constant
    rows = choose.choice([60, 120, 300] if plausible else [0, 1, 5, MIN_SERIES_ROWS - 1, MIN_SERIES_ROWS, 2000])
    start = choose.choice([0, 2000] if plausible else [-1e308, 1e300, 0])
    scale = choose.choice([1.0, 10.0, 1e-3] if plausible else [1e-310, 1e11, 1e13, 0.0, 1e-5])
    odd_cells = 0.0 if plausible and choose.boolean(0.7) else 0.03
    header = ["t", "v"] + (["extra"] if choose.boolean(0.3) else [])
    date_times = choose.boolean(0.35)
    zone = choose.choice(ZONES)
    mixed_zones = choose.boolean(0.1)
    body = []
    for i in range(rows):
        if date_times:
            day = i if not choose.boolean(odd_cells) else i + choose.integer(-3, 400)
            stamp = f"{np.datetime64('2024-01-01') + day}"
            t = stamp + (f"T{choose.integer(0, 23):02d}:00:00{choose.choice(ZONES) if mixed_zones else zone}"
                         if zone else "")
        else:
            step = choose.choice([1, 1, 1, 2, 1e306, 0, -1]) if choose.boolean(odd_cells) else 1
            t = repr(start + i * step) if isinstance(start, float) else str(start + i * step)
        value = np.sin(i / 4.0) * scale + (i % 7) * scale * 0.1
        v = repr(float(value)) if not choose.boolean(odd_cells) else choose.choice(CELLS)
        row = [t, v] + ([choose.choice(CELLS + WORDS)] if len(header) == 3 else [])
        body.append(row)
    options = {"missing": choose.choice(MISSING_CHOICES)}
    if choose.boolean(0.5):
        options["time_column"] = "t"
    if choose.boolean(0.3):
        options["column"] = choose.choice(["v", "t", "missing", "extra"])
    return header, body, options


def _labelled_table(choose: Chooser) -> tuple[list[str], list[list[str]], dict]:
    plausible = choose.boolean(0.75)
    rows = choose.choice([20, 30, 60, 200] if plausible else [0, 1, 19, 2000])
    names = ["food", "weather", "rain"] if plausible else ["food", "**loud**", "$x$", "", "NA", "1", "01", "a" * 300, "😀"]
    labels = [choose.choice(names) for _ in range(choose.integer(2, 3) if plausible else choose.integer(1, 12))]
    header = ([choose.choice(["text", "sentence", "Text"]), choose.choice(["label", "class", "Label"])] if plausible
              else [choose.choice(["text", "words", "review"]), choose.choice(["label", "tag", "category"])])
    if choose.boolean(0.2):
        header.reverse()
    body = []
    for i in range(rows):
        words = " ".join(choose.choice(WORDS[:7]) for _ in range(choose.integer(1, 12)))
        if choose.boolean(0.2):
            words += " " + choose.choice(WORDS[7:])
        text = words if plausible or choose.boolean(0.9) else choose.choice(["", "!!!", "x" * 2100, '"quoted, text"'])
        body.append([text, labels[i % len(labels)]] if header[0] != "label" else [labels[i % len(labels)], text])
    return header, body, {}


def _quote(cell: str, separator: str) -> str:
    if any(ch in cell for ch in (separator, '"', "\n", "\r")):
        return '"' + cell.replace('"', '""') + '"'
    return cell


MUTATIONS: dict[str, Callable] = {}


def mutation(function: Callable) -> Callable:
    MUTATIONS[function.__name__] = function
    return function


@mutation
def duplicate_header(choose, header, body, text):
    first, _, rest = text.partition("\n")
    return first + "," + choose.choice(header) + "\n" + rest


@mutation
def many_duplicate_names(choose, header, body, text):
    count = choose.choice([201, 1000, 60_000])
    return ",".join(["a"] * count) + "\n" + text


@mutation
def long_line(choose, header, body, text):
    lines = text.split("\n")
    where = choose.integer(0, len(lines) - 1)
    lines[where] += choose.choice(["x", ",", '"', "1,"]) * choose.choice([5_000, 20_001, 60_000])
    return "\n".join(lines)


@mutation
def wide_first_row(choose, header, body, text):
    lines = text.split("\n")
    if len(lines) > 1:
        lines[1] += ",1" * choose.choice([1, 50, 3000])
    return "\n".join(lines)


@mutation
def blank_lines(choose, header, body, text):
    lines = text.split("\n")
    where = choose.integer(0, len(lines))
    return "\n".join(lines[:where] + [choose.choice(["", " ", ",", "\t"])] * choose.choice([1, 10, 1000, 50_000]) + lines[where:])


@mutation
def crlf_cr_mix(choose, header, body, text):
    endings = ["\r\n", "\r", "\n"]
    return "".join(line + choose.choice(endings) for line in text.split("\n"))


@mutation
def byte_order_marks(choose, header, body, text):
    return "\ufeff" * choose.integer(1, 3) + text


def _insert(choose, text, piece):
    where = choose.integer(0, len(text))
    return text[:where] + piece + text[where:]


@mutation
def unbalanced_quote(choose, header, body, text):
    return _insert(choose, text, '"')


@mutation
def deep_quotes(choose, header, body, text):
    lines = text.split("\n")
    where = choose.integer(0, len(lines) - 1)
    lines[where] = '"' + '""' * choose.choice([10, 1000, 9000]) + '",' + lines[where]
    return "\n".join(lines)


@mutation
def many_quotes(choose, header, body, text):
    return text + ('"' * choose.choice([1, 2, 999, 5000]) + "\n") * choose.choice([1, 100])


@mutation
def huge_integers(choose, header, body, text):
    digits = choose.choice([20, 309, 400, 5000])
    return "\n".join(line + ("," + "9" * digits if i else ",big") for i, line in enumerate(text.split("\n")) if line)


@mutation
def nul_byte(choose, header, body, text):
    return _insert(choose, text, "\x00")


@mutation
def markdown_names(choose, header, body, text):
    return text.replace(header[-1], choose.choice(NAMES), 1)


@mutation
def truncated(choose, header, body, text):
    return text[: choose.integer(0, len(text))]


@mutation
def other_separator(choose, header, body, text):
    return text.replace(",", choose.choice([";", "\t", "|", ", ", ",,"]))


@mutation
def only_header(choose, header, body, text):
    return text.split("\n")[0] + "\n"


@mutation
def whitespace_only(choose, header, body, text):
    return choose.choice(["", " ", "\n" * 100, "\t\r\n"])


BYTE_MUTATIONS = ("broken_utf8", "utf16")


KINDS = ("series", "labelled", "pasted")
MUTATION_NAMES = (*MUTATIONS, *BYTE_MUTATIONS)


def generate(choose: Chooser, kind: str | None = None, mutations: Sequence[str] | None = None) -> Upload:
    """An upload of `kind` with `mutations` applied in order (both chosen by `choose` when not given)."""
    kind = kind or choose.choice(KINDS)
    header, body, options = _series_table(choose) if kind == "series" else _labelled_table(choose)
    separator = ","
    text = "\n".join(separator.join(_quote(cell, separator) for cell in row) for row in [header, *body]) + "\n"
    if mutations is None:
        mutations = [choose.choice(MUTATION_NAMES) for _ in range(choose.choice([0, 0, 1, 1, 2, 3]))]
    applied = []
    for name in mutations:
        applied.append(name)
        if name in MUTATIONS:
            text = MUTATIONS[name](choose, header, body, text)
    text = text[:6 * 2**20]  # beyond every upload limit already; larger inputs only cost the generator time
    raw = text.encode("utf-8", "surrogatepass")
    if "broken_utf8" in applied:
        where = choose.integer(0, len(raw))
        raw = raw[:where] + choose.choice([b"\xff", b"\xc3", b"\xed\xa0\x80"]) + raw[where:]
    if "utf16" in applied:
        raw = text.encode("utf-16")
    return Upload(kind=kind, raw=raw, options=options, mutations=tuple(applied))


def check(upload: Upload) -> str:
    """Run `upload` as the app does; returns "clean" or "refused" (the project's own UploadError). Anything else
    (another exception, or data that is not clean) fails."""
    try:
        if upload.kind == "series":
            series = read_series_csv(upload.raw, what="fuzz.csv", **upload.options)
        elif upload.kind == "labelled":
            dataset = validate_labelled_text(upload.raw, "fuzz.csv")
        else:
            text = check_pasted_text(upload.raw.decode("utf-8", "replace"))
            dataset = validate_labelled_text(text.encode("utf-8"), "the pasted text")
    except UploadError as error:
        assert str(error).strip(), "an UploadError without a message"
        return "refused"
    if upload.kind == "series":
        values = series.values
        assert values.dtype == np.float64 and np.isfinite(values).all()
        assert MIN_SERIES_ROWS <= len(values) <= MAX_SERIES_ROWS
        assert series.times is None or len(series.times) == len(values)
        task = ForecastTask(series_from_upload("fuzz.csv", values, series.times), 1, {})
        baseline = task.baseline(task.default_length)
        assert np.isfinite(baseline) and baseline > 0, f"a naive baseline of {baseline}: the verdict would divide by it"
    else:
        data = LabelledData(dataset.name, dataset.content["texts"], dataset.content["labels"], dataset.content["classes"])
        assert 2 <= len(data.classes) and len(data.train_rows) >= 1 and len(data.test_rows) >= 1
        datastore.clear()
    return "clean"
