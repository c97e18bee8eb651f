"""The first line of defence for anything a user uploads or pastes: size, encoding and CSV shape. Task-specific
checks (a numeric column, labels, classes) build on these in the task modules. Every problem raises UploadError
with a message for the page; nothing is executed or unpickled, pandas only parses text.
"""
from __future__ import annotations

import csv
import io
import warnings
from dataclasses import dataclass

import numpy as np
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


# ----------------------------------------------------------------------------------------------------
# time series (the forecast task): one numeric column, optionally a time column
MAX_SERIES_ROWS = 20_000  # every test origin is evaluated 16 times a training run; more rows, slower pages
MAX_SERIES_BYTES = 2 * 2**20
MIN_SERIES_ROWS = 40  # the 70/15/15 split then leaves 28 training values: a window of a few steps and 8 windows
MISSING_CHOICES = ("refuse", "drop", "interpolate")


@dataclass(frozen=True)
class UploadedSeries:
    values: np.ndarray  # (n,) float64, finite
    times: list[str] | None  # one label per value when a time column was chosen
    column: str
    notes: list[str]  # what was changed (rows dropped, values interpolated), for the page to say


def numeric_columns(table: pd.DataFrame) -> list[str]:
    """Columns where most non-empty cells parse as finite numbers."""
    found = []
    for column in table.columns:
        cells = table[column]
        present = cells.notna() & (cells.astype(str).str.strip() != "")
        if not present.any():
            continue
        numbers = pd.to_numeric(cells[present], errors="coerce")
        if np.isfinite(numbers.to_numpy(dtype=np.float64)).mean() >= 0.5:
            found.append(column)
    return found


def default_value_column(table: pd.DataFrame, exclude: str | None = None) -> str | None:
    """The first numeric column that is not an index (evenly spaced, increasing: row numbers, years), else the first
    numeric column; None when there is none."""
    numeric = [c for c in numeric_columns(table) if c != exclude]
    for column in numeric:
        values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64)
        with np.errstate(invalid="ignore", over="ignore"):
            steps = np.diff(values)
        if not (len(steps) and np.isfinite(steps).all() and (steps > 0).all() and np.ptp(steps) == 0):
            return column
    return numeric[0] if numeric else None


def read_series_table(raw: bytes, what: str = "the file") -> pd.DataFrame:
    """read_csv with the series size cap, and at least one numeric column."""
    if len(raw) > MAX_SERIES_BYTES:
        raise UploadError(
            f"{what} is {len(raw) / 2**20:.1f} MB; a time series may be at most {MAX_SERIES_BYTES // 2**20} MB "
            f"and {MAX_SERIES_ROWS:,} rows"
        )
    table = read_csv(raw, what)
    if not numeric_columns(table):
        raise UploadError(
            f"{what} has no numeric column: each column ({', '.join(map(str, table.columns[:8]))}) holds mostly text. "
            "A time series needs one column of numbers"
        )
    return table


def read_series_csv(raw: bytes, column: str | None = None, time_column: str | None = None,
                    missing: str = "refuse", what: str = "the file") -> UploadedSeries:
    """A validated series from an uploaded CSV, or UploadError saying what is wrong and what to do.

    `column`: the numeric column (default: the first numeric one that is neither the time column nor an index). `time_column`:
    optional; its values must parse as dates or numbers, increase, and (with `missing="refuse"`) leave no gaps.
    `missing`: "refuse" (explain and stop), "drop" (drop rows with missing values; time gaps are left as they are)
    or "interpolate" (linear, in time when there is a time column; gaps in the time column are filled in)."""
    if missing not in MISSING_CHOICES:
        raise UploadError(f"missing values: choose one of {', '.join(MISSING_CHOICES)} (got {missing!r})")
    table = read_series_table(raw, what)
    if len(table) > MAX_SERIES_ROWS:
        raise UploadError(f"{what} has {len(table):,} rows; a time series may have at most {MAX_SERIES_ROWS:,}. "
                          "Upload a shorter excerpt or aggregate it (e.g. daily means instead of minutes)")
    for name, label in ((column, "column"), (time_column, "time column")):
        if name is not None and name not in table.columns:
            raise UploadError(f"{what} has no {label} {name!r}; its columns are {', '.join(map(str, table.columns))}")
    numeric = numeric_columns(table)
    if column is None:
        column = default_value_column(table, exclude=time_column)
        if column is None:
            raise UploadError(f"{what} has no numeric column besides the time column {time_column!r}")
    elif column not in numeric:
        raise UploadError(f"column {column!r} is not numeric; numeric columns: {', '.join(numeric) or 'none'}")
    if column == time_column:
        raise UploadError("the value column and the time column must differ")
    values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=np.float64, copy=True)
    values[~np.isfinite(values)] = np.nan
    notes: list[str] = []
    times = None
    if time_column is not None:
        stamps, labels = _parse_times(table[time_column], time_column)
        values, times, notes = _handle_time_gaps(values, stamps, labels, missing, time_column)
    bad = np.flatnonzero(np.isnan(values))
    if len(bad):
        where = ", ".join(str(i + 2) for i in bad[:5]) + (" …" if len(bad) > 5 else "")
        if missing == "refuse":
            raise UploadError(
                f"column {column!r} has {len(bad)} missing or non-numeric value(s) (file lines {where}). "
                "Choose to drop those rows or to interpolate them, or fix the file"
            )
        if missing == "drop":
            keep = ~np.isnan(values)
            values = values[keep]
            times = [t for t, k in zip(times, keep) if k] if times is not None else None
            notes.append(f"dropped {len(bad)} row(s) with missing values")
        else:
            if len(bad) == len(values):
                raise UploadError(f"column {column!r} has no numbers to interpolate from")
            positions = np.arange(len(values))
            good = ~np.isnan(values)
            values = np.interp(positions, positions[good], values[good])
            notes.append(f"interpolated {len(bad)} missing value(s)")
    if len(values) < MIN_SERIES_ROWS:
        raise UploadError(
            f"{what} has {len(values)} usable values in {column!r}; forecasting needs at least {MIN_SERIES_ROWS} "
            "(70% for training windows, 15% each for validation and test)"
        )
    if len(values) > MAX_SERIES_ROWS:
        raise UploadError(f"after filling gaps the series has {len(values):,} values; the limit is {MAX_SERIES_ROWS:,}")
    if np.ptp(values) == 0:
        raise UploadError(f"column {column!r} is constant ({values[0]:g}): there is nothing to forecast")
    if np.abs(values).max() > 1e12:
        raise UploadError(f"column {column!r} has values beyond ±1e12; rescale it (e.g. to thousands or millions)")
    return UploadedSeries(values=values.astype(np.float64), times=times, column=str(column), notes=notes)


def _parse_times(cells: pd.Series, name: str) -> tuple[np.ndarray, list[str]]:
    """(positions on one axis as float64: seconds for dates, the numbers themselves otherwise, the labels to show)
    for a time column of ISO-like dates or plain numbers (years, seconds)."""
    text = cells.astype(str).str.strip()
    numbers = pd.to_numeric(text, errors="coerce").to_numpy(dtype=np.float64)
    if np.isfinite(numbers).all():
        stamps, labels = numbers, [f"{value:g}" for value in numbers]
    else:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(text, errors="coerce", format="mixed")
        if parsed.isna().any():
            first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise UploadError(
                f"time column {name!r}: {text.iloc[first]!r} (file line {first + 2}) is neither a date nor a number; "
                "use dates like 2024-01-31 or 2024-01-31 12:00, or numbers, or choose no time column"
            )
        seconds = parsed.to_numpy(dtype="datetime64[s]")
        stamps = seconds.astype(np.int64).astype(np.float64)
        with_clock = (stamps % 86400 != 0).any()
        labels = [str(value)[: 19 if with_clock else 10].replace("T", " ") for value in seconds]
    with np.errstate(invalid="ignore", over="ignore"):
        increasing = np.diff(stamps) > 0
    if len(stamps) > 1 and not increasing.all():
        first = int(np.flatnonzero(~increasing)[0])
        raise UploadError(
            f"time column {name!r} must increase from row to row; file lines {first + 2} and {first + 3} are not in "
            "order (or repeat a time). Sort the file by time"
        )
    return stamps, labels


def _handle_time_gaps(values: np.ndarray, stamps: np.ndarray, labels: list[str], missing: str, name: str):
    """Gaps: steps more than 1.5 times the median step (calendar months of 28-31 days are not gaps)."""
    notes: list[str] = []
    if len(stamps) < 3:
        return values, labels, notes
    ratios = np.diff(stamps) / float(np.median(np.diff(stamps)))
    gaps = np.flatnonzero(ratios > 1.5)
    if not len(gaps):
        return values, labels, notes
    missing_count = int(np.round(ratios[gaps]).sum() - len(gaps))
    if missing == "refuse":
        raise UploadError(
            f"time column {name!r} has {len(gaps)} gap(s), about {missing_count} missing step(s) (the first after "
            f"file line {int(gaps[0]) + 2}). Choose to interpolate the missing steps or to drop (ignore) the gaps"
        )
    if missing == "drop":
        notes.append(f"kept {len(gaps)} gap(s) in the time column as they are (about {missing_count} missing steps)")
        return values, labels, notes
    if len(values) + missing_count > MAX_SERIES_ROWS:
        raise UploadError(f"filling the time gaps would give {len(values) + missing_count:,} values; "
                          f"the limit is {MAX_SERIES_ROWS:,}")
    counts = np.ones(len(values) - 1, dtype=np.int64)
    counts[gaps] = np.maximum(1, np.round(ratios[gaps]).astype(np.int64))
    filled_values, filled_labels = [values[0]], [labels[0]]
    for i, count in enumerate(counts, start=1):
        for k in range(1, count):
            filled_values.append(np.nan)
            filled_labels.append(f"{labels[i - 1]} +{k}/{count}")
        filled_values.append(values[i])
        filled_labels.append(labels[i])
    notes.append(f"filled {missing_count} missing time step(s) by interpolation")
    return np.array(filled_values, dtype=np.float64), filled_labels, notes
