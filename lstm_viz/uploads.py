"""The first line of defence for anything a user uploads or pastes: size, encoding and CSV shape. Task-specific
checks (a numeric column, labels, classes) build on these in the task modules. Every problem raises UploadError
with a message for the page; nothing is executed or unpickled, pandas only parses text.
"""
from __future__ import annotations

import csv
import io

import pandas as pd

from .errors import UploadError

MAX_UPLOAD_BYTES = 20 * 2**20  # below .streamlit/config.toml's maxUploadSize, so this message wins
MAX_ROWS = 100_000
MAX_COLUMNS = 200
MAX_PASTED_CHARACTERS = 200_000


def decode_text(raw: bytes, what: str = "the file") -> str:
    if len(raw) > MAX_UPLOAD_BYTES:
        raise UploadError(f"{what} is {len(raw) / 2**20:.1f} MB; the limit is {MAX_UPLOAD_BYTES // 2**20} MB")
    if not raw.strip():
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


def read_csv(raw: bytes, what: str = "the file") -> pd.DataFrame:
    """Parse an uploaded CSV into a DataFrame of at most MAX_ROWS rows and MAX_COLUMNS columns, or explain why not."""
    text = decode_text(raw, what)
    # Count lines before parsing, so a 10-million-row file is refused without building a DataFrame of it.
    lines = text.count("\n") + (0 if text.endswith("\n") else 1)
    if lines - 1 > MAX_ROWS:
        raise UploadError(f"{what} has about {lines - 1:,} rows; the limit is {MAX_ROWS:,}. Upload a shorter excerpt")
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t|")
        separator = dialect.delimiter
    except csv.Error:
        separator = ","
    try:
        table = pd.read_csv(io.StringIO(text), sep=separator, engine="python", nrows=MAX_ROWS + 1, skip_blank_lines=True)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, csv.Error, ValueError) as error:
        raise UploadError(f"{what} is not a readable CSV file: {str(error).splitlines()[0]}") from None
    if table.shape[1] > MAX_COLUMNS:
        raise UploadError(f"{what} has {table.shape[1]} columns; the limit is {MAX_COLUMNS}")
    if len(table) > MAX_ROWS:
        raise UploadError(f"{what} has more than {MAX_ROWS:,} rows; upload a shorter excerpt")
    if table.empty or table.shape[1] == 0:
        raise UploadError(f"{what} has a header but no data rows")
    table.columns = [str(column).strip() for column in table.columns]
    if len(set(table.columns)) != len(table.columns):
        raise UploadError(f"{what} has repeated column names; each column needs its own name")
    return table


def check_pasted_text(text: str) -> str:
    if not text or not text.strip():
        raise UploadError("paste some text first")
    if len(text) > MAX_PASTED_CHARACTERS:
        raise UploadError(f"the text has {len(text):,} characters; the limit is {MAX_PASTED_CHARACTERS:,}")
    return text
