"""The first line of defence for anything a user uploads or pastes: size, encoding and CSV shape. Task-specific
checks (a numeric column, labels, classes) build on these in the task modules. Every problem raises UploadError
with a message for the page; nothing is executed or unpickled, pandas only parses text.
"""
from __future__ import annotations

import csv
import io
import re
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_viz.rules.errors import UploadError
from lstm_viz.data.series import split_sizes

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


# ----------------------------------------------------------------------------------------------------
# time series (the forecast task): one numeric column, optionally a time column
MAX_SERIES_ROWS = 20_000  # every test origin is evaluated 16 times a training run; more rows, slower pages
MAX_SERIES_BYTES = 2 * 2**20
MIN_SERIES_ROWS = 40  # the 70/15/15 split then leaves 28 training values: a window of a few steps and 8 windows
MISSING_CHOICES = ("refuse", "drop", "interpolate")
MAX_TIME_CHARACTERS = 64  # a date with time, zone and fractions fits; longer cells go nowhere near the date parser
DATE_PROBE_ROWS = 200
MIN_SPREAD = 1e-100  # far above 1.5e-154, where the squares of the differences underflow to 0
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|[+-]?(?:inf|infinity|nan)"
_ZONE = re.compile(r"(Z|UTC|GMT|[+-]\d\d:?\d\d)$")


@dataclass(frozen=True)
class UploadedSeries:
    values: np.ndarray  # (n,) float64, finite
    times: list[str] | None  # one label per value when a time column was chosen
    column: str
    notes: list[str]  # what was changed (rows dropped, values interpolated), for the page to say


def to_numbers(cells: pd.Series) -> np.ndarray:
    """(n,) float64 of the cells that read as numbers, NaN elsewhere; a number too large for a float is ±inf. Never
    raises: pandas returns Python ints for integers beyond 64 bits, which NumPy refuses to convert."""
    text = cells.astype(str).str.strip()
    # pd.to_numeric(errors="coerce") costs about 3 µs per cell that is not a number: it is only given the cells
    # that look like one (20,000 dates cost 70 ms a column before).
    looks_numeric = text.str.fullmatch(_NUMBER, case=False).fillna(False).to_numpy(dtype=bool)
    result = np.full(len(text), np.nan)
    if not looks_numeric.any():
        return result
    numbers = pd.to_numeric(text[looks_numeric], errors="coerce")
    try:
        result[looks_numeric] = numbers.to_numpy(dtype=np.float64, na_value=np.nan)
    except (OverflowError, TypeError, ValueError):
        result[looks_numeric] = [_to_float(value) for value in numbers]
    return result


def _to_float(value) -> float:
    try:
        return float(value)
    except OverflowError:
        return float("inf") if value > 0 else float("-inf")
    except (TypeError, ValueError):
        return float("nan")


def column_numbers(table: pd.DataFrame) -> dict[str, np.ndarray]:
    """to_numbers of every column, computed once for all the checks of one upload."""
    return {column: to_numbers(table[column]) for column in table.columns}


def numeric_columns(table: pd.DataFrame, numbers: dict[str, np.ndarray] | None = None) -> list[str]:
    """Columns where most non-empty cells parse as numbers (finite or too large: those are refused with a message)."""
    numbers = numbers if numbers is not None else column_numbers(table)
    found = []
    for column in table.columns:
        present = (table[column].notna() & (table[column].astype(str).str.strip() != "")).to_numpy(dtype=bool)
        if present.any() and (~np.isnan(numbers[column][present])).mean() >= 0.5:
            found.append(column)
    return found


def default_value_column(table: pd.DataFrame, exclude: str | None = None,
                         numbers: dict[str, np.ndarray] | None = None) -> str | None:
    """The first numeric column that is not an index (evenly spaced, increasing: row numbers, years), else the first
    numeric column; None when there is none."""
    numbers = numbers if numbers is not None else column_numbers(table)
    numeric = [c for c in numeric_columns(table, numbers) if c != exclude]
    for column in numeric:
        with np.errstate(invalid="ignore", over="ignore"):
            steps = np.diff(numbers[column])
            if not (len(steps) and np.isfinite(steps).all() and (steps > 0).all() and np.ptp(steps) == 0):
                return column
    return numeric[0] if numeric else None


def read_series_table(raw: bytes, what: str = "the file") -> pd.DataFrame:
    """read_csv with the series size cap, and at least one numeric column."""
    return _read_series_table(raw, what)[0]


def _read_series_table(raw: bytes, what: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    if len(raw) > MAX_SERIES_BYTES:
        raise UploadError(
            f"{what} is {len(raw) / 2**20:.1f} MB; a time series may be at most {MAX_SERIES_BYTES // 2**20} MB "
            f"and {MAX_SERIES_ROWS:,} rows"
        )
    table = read_csv(raw, what, max_rows=MAX_SERIES_ROWS)
    numbers = column_numbers(table)
    if not numeric_columns(table, numbers):
        raise UploadError(
            f"{what} has no numeric column: each column ({', '.join(map(str, table.columns[:8]))}) holds mostly text. "
            "A time series needs one column of numbers"
        )
    return table, numbers


def read_series_csv(raw: bytes, column: str | None = None, time_column: str | None = None,
                    missing: str = "refuse", what: str = "the file") -> UploadedSeries:
    """A validated series from an uploaded CSV, or UploadError saying what is wrong and what to do.

    `column`: the numeric column (default: the first numeric one that is neither the time column nor an index). `time_column`:
    optional; its values must parse as dates or numbers, increase, and (with `missing="refuse"`) leave no gaps.
    `missing`: "refuse" (explain and stop), "drop" (drop rows with missing values; time gaps are left as they are)
    or "interpolate" (linear, in time when there is a time column; gaps in the time column are filled in)."""
    if missing not in MISSING_CHOICES:
        raise UploadError(f"missing values: choose one of {', '.join(MISSING_CHOICES)} (got {missing!r})")
    table, numbers = _read_series_table(raw, what)
    if len(table) > MAX_SERIES_ROWS:
        raise UploadError(f"{what} has {len(table):,} rows; a time series may have at most {MAX_SERIES_ROWS:,}. "
                          "Upload a shorter excerpt or aggregate it (e.g. daily means instead of minutes)")
    for name, label in ((column, "column"), (time_column, "time column")):
        if name is not None and name not in table.columns:
            raise UploadError(f"{what} has no {label} {name!r}; its columns are {', '.join(map(str, table.columns))}")
    numeric = numeric_columns(table, numbers)
    if column is None:
        column = default_value_column(table, exclude=time_column, numbers=numbers)
        if column is None:
            raise UploadError(f"{what} has no numeric column besides the time column {time_column!r}")
    elif column not in numeric:
        raise UploadError(f"column {column!r} is not numeric; numeric columns: {', '.join(numeric) or 'none'}")
    if column == time_column:
        raise UploadError("the value column and the time column must differ")
    values = numbers[column].copy()
    # A number written with digits that overflows a float (1e400, 400 digits) is refused; "inf" is not a measurement.
    too_large = np.flatnonzero(np.isinf(values) & table[column].astype(str).str.contains(r"\d", regex=True).to_numpy())
    values[~np.isfinite(values)] = np.nan
    if len(too_large):
        line = int(too_large[0])
        raise UploadError(
            f"column {shorten(column, 40)!r} has numbers too large to compute with (file line {line + 2}: "
            f"{_quote_number(table[column].iloc[line])}); values must lie within ±1e12. Rescale the column "
            "(e.g. to thousands or millions) or check that it holds measurements, not IDs"
        )
    notes: list[str] = []
    times = None
    if time_column is not None:
        stamps, labels = _parse_times(table[time_column], time_column, numbers[time_column])
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
    _check_scale(values, column)
    return UploadedSeries(values=values.astype(np.float64), times=times, column=str(column), notes=notes)


def _quote_number(cell) -> str:
    text = str(cell).strip()
    return repr(text) if len(text) <= 24 else f"{text[:12]!r}… ({len(text):,} characters)"


def _check_scale(values: np.ndarray, column: str) -> None:
    """Values that vary too little to standardise: the training part's variance underflows (around 1e-310 every
    square is 0), or the variation is lost in rounding next to the level (1e11 + 1e-6). The scaler would then divide
    by a made-up 1, and the naive baseline would be 0: a verdict divided by zero."""
    spread, level = float(np.ptp(values)), float(np.abs(values).max())
    if spread < MIN_SPREAD or spread < 1e-9 * level:
        raise UploadError(
            f"column {shorten(column, 40)!r} varies by only {spread:.3g} (its values reach {level:.3g}): too little to "
            "standardise and forecast. Rescale it (e.g. multiply by 1e6, or use other units), or subtract its "
            "typical level first"
        )
    val_size, test_size = split_sizes(len(values))
    test_part = values[len(values) - test_size - 1:]
    train_part = values[: len(values) - val_size - test_size]
    # The naive baseline is the mean squared change on the scaler's scale: tiny changes next to a large training
    # spread (values near 1e-310 beside a 3.0) square to 0 there, though the raw values still differ.
    scaled_changes = np.diff(test_part) / (float(np.std(train_part)) or 1.0)
    if np.ptp(test_part) > 0 and not np.mean(scaled_changes**2) > 1e-200:
        raise UploadError(
            f"column {shorten(column, 40)!r} changes by only {float(np.ptp(test_part)):.3g} over its last {test_size} "
            f"values, the test part, against a spread of {float(np.ptp(train_part)):.3g} before it: too little to "
            "measure a forecast's error. Upload a stretch that varies at the end, or rescale it"
        )
    if np.ptp(test_part) == 0:
        raise UploadError(
            f"column {shorten(column, 40)!r} is constant ({test_part[0]:g}) over its last {test_size} values, the test "
            "part: repeating the last value forecasts it perfectly, so no model can beat that baseline. Upload a "
            "longer stretch that still varies at the end"
        )


def _parse_times(cells: pd.Series, name: str, numbers: np.ndarray) -> tuple[np.ndarray, list[str]]:
    """(positions on one axis as float64: seconds for dates, the numbers themselves otherwise, the labels to show)
    for a time column of ISO-like dates or plain numbers (years, seconds)."""
    shown = shorten(name, 40)
    text = cells.astype(str).str.strip()
    empty = (cells.isna() | (text.fillna("") == "")).to_numpy(dtype=bool)
    if empty.any():
        first = int(np.flatnonzero(empty)[0])
        raise UploadError(f"time column {shown!r} is empty on file line {first + 2}; give every row its time, or choose "
                          "no time column")
    if np.isfinite(numbers).all():
        stamps, labels = numbers, [f"{value:g}" for value in numbers]
    else:
        lengths = text.str.len().fillna(0).to_numpy()
        if lengths.max() > MAX_TIME_CHARACTERS:
            first = int(np.flatnonzero(lengths > MAX_TIME_CHARACTERS)[0])
            raise UploadError(
                f"time column {shown!r}: the value on file line {first + 2} has {lengths[first]:,} characters, too "
                f"long for a date (at most {MAX_TIME_CHARACTERS}); use dates like 2024-01-31 or numbers, or choose "
                "no time column"
            )
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                parsed = _to_datetimes(text)
        except (ValueError, TypeError, OverflowError) as error:
            if "timezone" in str(error).lower() or "time zone" in str(error).lower():
                raise UploadError(
                    f"time column {shown!r} mixes time zones (for example {_zones(text)}); write every time in the "
                    "same zone (e.g. all in UTC, ending in Z or +00:00), or choose no time column"
                ) from None
            raise UploadError(f"time column {shown!r} cannot be read as dates ({shorten(error, 120)}); use dates like "
                              "2024-01-31 or 2024-01-31 12:00, or numbers, or choose no time column") from None
        if parsed.isna().any():
            first = int(np.flatnonzero(parsed.isna().to_numpy())[0])
            raise UploadError(
                f"time column {shown!r}: {shorten(text.iloc[first], 40)!r} (file line {first + 2}) is neither a date "
                "nor a number; use dates like 2024-01-31 or 2024-01-31 12:00, or numbers, or choose no time column"
            )
        if getattr(parsed.dt, "tz", None) is not None:
            parsed = parsed.dt.tz_convert("UTC").dt.tz_localize(None)
        seconds = parsed.to_numpy(dtype="datetime64[s]")
        stamps = seconds.astype(np.int64).astype(np.float64)
        with_clock = (stamps % 86400 != 0).any()
        labels = [str(value)[: 19 if with_clock else 10].replace("T", " ") for value in seconds]
    with np.errstate(invalid="ignore", over="ignore"):
        steps = np.diff(stamps)
    if len(stamps) > 1 and not np.isfinite(steps).all():
        first = int(np.flatnonzero(~np.isfinite(steps))[0])
        raise UploadError(
            f"time column {shown!r}: the step from file line {first + 2} to {first + 3} ({stamps[first]:g} to "
            f"{stamps[first + 1]:g}) is too large to compute with; use smaller numbers (e.g. years or seconds from "
            "the first row) or dates, or choose no time column"
        )
    increasing = steps > 0
    if len(stamps) > 1 and not increasing.all():
        first = int(np.flatnonzero(~increasing)[0])
        raise UploadError(
            f"time column {shown!r} must increase from row to row; file lines {first + 2} and {first + 3} are not in "
            "order (or repeat a time). Sort the file by time"
        )
    return stamps, labels


def _to_datetimes(text: pd.Series) -> pd.Series:
    """ISO 8601 dates in one vectorised pass; anything else is read cell by cell (dateutil, about 50 µs a cell), after
    the first rows have shown that it reads at all, so a column of non-dates is refused without parsing all of it."""
    try:
        return pd.to_datetime(text, format="ISO8601")
    except (ValueError, TypeError, OverflowError) as error:
        if "timezone" in str(error).lower():
            raise
    head = pd.to_datetime(text.iloc[:DATE_PROBE_ROWS], errors="coerce", format="mixed")
    if head.isna().any():
        return head.reindex(text.index)  # NaT from the first unreadable cell on: the caller names it
    return pd.to_datetime(text, errors="coerce", format="mixed")


def _zones(text: pd.Series) -> str:
    found = []
    for cell in text:
        zone = _ZONE.search(cell)
        label = zone.group(0) if zone else "no zone"
        if label not in found:
            found.append(label)
        if len(found) == 2:
            break
    return " and ".join(repr(zone) for zone in found) if len(found) == 2 else "an offset on some rows only"


def _handle_time_gaps(values: np.ndarray, stamps: np.ndarray, labels: list[str], missing: str, name: str):
    """Gaps: steps more than 1.5 times the median step (calendar months of 28-31 days are not gaps)."""
    notes: list[str] = []
    if len(stamps) < 3:
        return values, labels, notes
    with np.errstate(over="ignore"):
        # Clipped: one gap of 1e300 median steps (or a median step of 1e-300) must not become a 300-digit count.
        ratios = np.minimum(np.diff(stamps) / float(np.median(np.diff(stamps))), MAX_SERIES_ROWS + 1)
    gaps = np.flatnonzero(ratios > 1.5)
    if not len(gaps):
        return values, labels, notes
    missing_count = int(np.round(ratios[gaps]).sum() - len(gaps))
    about = f"about {missing_count:,}" if missing_count < MAX_SERIES_ROWS else f"more than {MAX_SERIES_ROWS:,}"
    if missing == "refuse":
        raise UploadError(
            f"time column {shorten(name, 40)!r} has {len(gaps)} gap(s), {about} missing step(s) (the first after "
            f"file line {int(gaps[0]) + 2}). Choose to interpolate the missing steps or to drop (ignore) the gaps"
        )
    if missing == "drop":
        notes.append(f"kept {len(gaps)} gap(s) in the time column as they are ({about} missing steps)")
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
