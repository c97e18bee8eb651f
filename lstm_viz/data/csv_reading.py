"""The first line of defence for anything a user uploads or pastes: size, encoding and CSV shape. Task-specific
checks (a numeric column, labels, classes) build on these: an uploaded series in lstm_viz.data.uploads, labelled text
in the task modules. Every problem raises UploadError with a message for the page; nothing is executed or unpickled,
pandas only parses text.
"""
from __future__ import annotations

import csv
import io
import re

import pandas as pd

from lstm_viz.rules.errors import UploadError

MAX_UPLOAD_BYTES = 20 * 2**20  # below .streamlit/config.toml's maxUploadSize, so this message wins
MAX_ROWS = 100_000
MAX_COLUMNS = 200
MAX_PASTED_CHARACTERS = 200_000
# Checked on the raw text before pandas sees it, so parsing is bounded in time and memory whatever the shape:
MAX_HEADER_CHARACTERS = 20_000  # 200 column names of 100 characters
MAX_LINE_CHARACTERS = 20_000  # a row of 200 columns, or a labelled text of 2,000 characters with room to spare
# Cells are parsed as strings (no int/float guessing: a 400-digit integer stays text until we convert it); a string
# cell costs pandas about 60 bytes, so this keeps a parsed table under about 100 MB.
MAX_CELLS = 1_500_000
SEPARATORS = ",;\t|"
_QUOTED = re.compile(r'"[^"]*"')
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t\f\v]*\n)+")


def decode_text(raw: bytes, what: str = "the file") -> str:
    if len(raw) > MAX_UPLOAD_BYTES:
        raise UploadError(f"{what} is {len(raw) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    if not raw or raw.isspace():
        raise UploadError(f"{what} is empty")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise UploadError(
            f"{what} is not UTF-8 text (byte {error.start} cannot be decoded); save it as UTF-8 CSV and upload it again"
        ) from None
    if "\x00" in text:
        raise UploadError(f"{what} contains NUL bytes: it looks like a binary file, not CSV or text")
    return text


def _separator(header: str) -> str:
    """The candidate that occurs most often in the header line outside quotes (a comma when none occurs)."""
    bare = _QUOTED.sub("", header)
    counts = [(bare.count(candidate), -rank) for rank, candidate in enumerate(SEPARATORS)]
    best = max(range(len(SEPARATORS)), key=lambda i: counts[i])
    return SEPARATORS[best] if counts[best][0] else ","


def _header_names(header: str, separator: str, what: str) -> list[str]:
    if len(header) > MAX_HEADER_CHARACTERS:
        raise UploadError(f"the header line of {what} has {len(header):,} characters; the limit is "
                          f"{MAX_HEADER_CHARACTERS:,} ({MAX_COLUMNS} column names). Is the first line really a header?")
    if header.count('"') % 2:
        raise UploadError(f"{what} is not a readable CSV file: its header line opens a quote (\") that it does not "
                          "close. Fix the column names")
    names = [name.strip() for name in next(csv.reader([header], delimiter=separator))]
    if len(names) > MAX_COLUMNS:
        raise UploadError(f"{what} has {len(names):,} columns; the limit is {MAX_COLUMNS}")
    seen: set[str] = set()
    for name in names:
        if name in seen:
            raise UploadError(f"{what} has the column name {shorten(name, 40)!r} more than once; each column needs its "
                              "own name")
        seen.add(name)
    return names


def _check_first_row(text: str, separator: str, columns: int, what: str) -> None:
    """A first data row longer than the header makes pandas take the extra leading cells as an index: 250 rows of
    9,000 cells under a 2-column header took 9-40 s. Later rows of the wrong length are the C parser's own error."""
    rows = csv.reader(io.StringIO(text), delimiter=separator)
    try:
        next(rows, None)
        for row in rows:
            if row and not (len(row) == 1 and not row[0].strip()):  # pandas skips blank and whitespace-only lines
                if len(row) > columns:
                    raise UploadError(
                        f"{what} is not a readable CSV file: its first data row has {len(row):,} cells but the header "
                        f"names {columns} column(s). Give every column a name in the first line"
                    )
                return
    except csv.Error as error:
        raise UploadError(f"{what} is not a readable CSV file: {shorten(error, 200)}") from None


def read_csv(raw: bytes, what: str = "the file", max_rows: int = MAX_ROWS) -> pd.DataFrame:
    """Parse an uploaded CSV into a DataFrame of strings (missing cells NaN) of at most `max_rows` (<= MAX_ROWS) rows
    and MAX_COLUMNS columns, or explain why not. Every size is checked on the text first; pandas' C parser then runs
    in linear time. A caller with a lower row limit passes it: a far longer file is then refused before it is parsed,
    and at most max_rows + 1 rows are parsed, for the caller's own message."""
    max_rows = min(max_rows, MAX_ROWS)
    text = decode_text(raw, what)
    if "\r" in text:  # Windows (CRLF) and old Mac (CR) line ends, or a mix of both
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _LEADING_BLANK_LINES.sub("", text)  # pandas skips them too; the header is the first line with text
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines > 2 * max_rows:  # blank lines and line breaks inside quoted texts count as lines
        raise UploadError(f"{what} has {lines:,} lines; the limit is {max_rows:,} rows. Upload a shorter excerpt")
    header = text.partition("\n")[0]
    separator = _separator(header[:MAX_HEADER_CHARACTERS + 1])
    names = _header_names(header, separator, what)
    longest = max(map(len, text.split("\n")))
    if longest > MAX_LINE_CHARACTERS:
        raise UploadError(f"{what} has a line of {longest:,} characters; the limit is {MAX_LINE_CHARACTERS:,} per line. "
                          "Is it a CSV file with one row per line?")
    if len(names) * (lines - 1) > MAX_CELLS:
        raise UploadError(f"{what} has {len(names)} columns and about {lines - 1:,} rows: more than {MAX_CELLS:,} cells. "
                          "Upload fewer rows or only the columns you need")
    _check_first_row(text, separator, len(names), what)
    try:
        # The checked names, so pandas never reads (or renames) a header itself; skiprows keeps its line numbers.
        table = pd.read_csv(io.StringIO(text), sep=separator, engine="c", dtype=str, header=None, names=names,
                            skiprows=1, nrows=max_rows + 1, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError, OverflowError) as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise UploadError(f"{what} is not a readable CSV file: {shorten(reason, 200)}") from None
    if len(table) > MAX_ROWS:
        raise UploadError(f"{what} has more than {MAX_ROWS:,} rows; upload a shorter excerpt")
    if table.empty or table.shape[1] == 0:
        raise UploadError(f"{what} has a header but no data rows")
    return table


def shorten(text: str, limit: int) -> str:
    """`text` cut to `limit` characters with an ellipsis, for messages that quote what the user sent."""
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "…"


def check_pasted_text(text: str) -> str:
    if not text or not text.strip():
        raise UploadError("paste some text first")
    if len(text) > MAX_PASTED_CHARACTERS:
        raise UploadError(f"the text has {len(text):,} characters; the limit is {MAX_PASTED_CHARACTERS:,}")
    return text
