"""An uploaded time series (the forecast task): one numeric column, optionally a time column, checked until it can
be split, standardised and forecast. Every problem raises UploadError with a message for the page. The general CSV
and pasted-text checks it builds on are lstm_viz.data.csv_reading's, the time column's lstm_viz.data.time_column's.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from lstm_viz.rules.errors import UploadError
from lstm_viz.data.series import split_sizes
# The CSV checks moved to csv_reading; the pages, tasks and tests import them from here too.
from lstm_viz.data.csv_reading import (  # noqa: F401
    MAX_CELLS, MAX_COLUMNS, MAX_HEADER_CHARACTERS, MAX_LINE_CHARACTERS, MAX_PASTED_CHARACTERS, MAX_ROWS,
    MAX_UPLOAD_BYTES, SEPARATORS, check_pasted_text, decode_text, read_csv, shorten,
)
from lstm_viz.data.time_column import handle_time_gaps, parse_times

# ----------------------------------------------------------------------------------------------------
# time series (the forecast task): one numeric column, optionally a time column
MAX_SERIES_ROWS = 20_000  # every test origin is evaluated 16 times a training run; more rows, slower pages
MAX_SERIES_BYTES = 2 * 2**20
MIN_SERIES_ROWS = 40  # the 70/15/15 split then leaves 28 training values: a window of a few steps and 8 windows
MISSING_CHOICES = ("refuse", "drop", "interpolate")
MIN_SPREAD = 1e-100  # far above 1.5e-154, where the squares of the differences underflow to 0
_NUMBER = r"[+-]?(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?|[+-]?(?:inf|infinity|nan)"


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
    column = _value_column(table, numbers, column, time_column, what)
    values = _column_values(table, numbers, column)
    notes: list[str] = []
    times = None
    if time_column is not None:
        stamps, labels = parse_times(table[time_column], time_column, numbers[time_column])
        values, times, notes = handle_time_gaps(values, stamps, labels, missing, time_column, MAX_SERIES_ROWS)
    values, times = _handle_missing_values(values, times, notes, missing, column)
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


def _value_column(table: pd.DataFrame, numbers: dict[str, np.ndarray], column: str | None, time_column: str | None,
                  what: str) -> str:
    """The value column asked for, checked to exist and be numeric, or the default one; never the time column."""
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
    return column


def _column_values(table: pd.DataFrame, numbers: dict[str, np.ndarray], column: str) -> np.ndarray:
    """The column's numbers, NaN where a cell is missing, not a number or not finite."""
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
    return values


def _handle_missing_values(values: np.ndarray, times: list[str] | None, notes: list[str], missing: str,
                           column: str) -> tuple[np.ndarray, list[str] | None]:
    """The NaN values refused, dropped (with their times) or interpolated, by `missing`; what was done goes into
    `notes`."""
    bad = np.flatnonzero(np.isnan(values))
    if not len(bad):
        return values, times
    where = ", ".join(str(i + 2) for i in bad[:5]) + (" …" if len(bad) > 5 else "")
    if missing == "refuse":
        raise UploadError(
            f"column {column!r} has {len(bad)} missing or non-numeric value(s) (file lines {where}). "
            "Choose to drop those rows or to interpolate them, or fix the file"
        )
    if missing == "drop":
        keep = ~np.isnan(values)
        notes.append(f"dropped {len(bad)} row(s) with missing values")
        return values[keep], [t for t, k in zip(times, keep) if k] if times is not None else None
    if len(bad) == len(values):
        raise UploadError(f"column {column!r} has no numbers to interpolate from")
    positions = np.arange(len(values))
    good = ~np.isnan(values)
    notes.append(f"interpolated {len(bad)} missing value(s)")
    return np.interp(positions, positions[good], values[good]), times


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
