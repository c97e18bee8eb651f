"""The time column of an uploaded series: its cells read as dates or numbers on one increasing axis, with a label
for each row, and its gaps found, refused, kept or filled. Every problem raises UploadError naming the file line."""
from __future__ import annotations

import re
import warnings

import numpy as np
import pandas as pd

from lstm_viz.data.csv_reading import shorten
from lstm_viz.rules.errors import UploadError

MAX_TIME_CHARACTERS = 64  # a date with time, zone and fractions fits; longer cells go nowhere near the date parser
DATE_PROBE_ROWS = 200
_ZONE = re.compile(r"(Z|UTC|GMT|[+-]\d\d:?\d\d)$")


def parse_times(cells: pd.Series, name: str, numbers: np.ndarray) -> tuple[np.ndarray, list[str]]:
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
        stamps, labels = _date_stamps(text, shown)
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


def _date_stamps(text: pd.Series, shown: str) -> tuple[np.ndarray, list[str]]:
    """Seconds since 1970 (UTC where a zone is given) and a date label per cell, for a column of dates."""
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


def handle_time_gaps(values: np.ndarray, stamps: np.ndarray, labels: list[str], missing: str, name: str,
                     max_rows: int) -> tuple[np.ndarray, list[str], list[str]]:
    """(values, labels, notes) after the gaps of a time column are refused, kept or filled with NaN values to
    interpolate (by `missing`, as in read_series_csv); at most `max_rows` values. Gaps: steps more than 1.5 times the
    median step (calendar months of 28-31 days are not gaps)."""
    notes: list[str] = []
    if len(stamps) < 3:
        return values, labels, notes
    with np.errstate(over="ignore"):
        # Clipped: one gap of 1e300 median steps (or a median step of 1e-300) must not become a 300-digit count.
        ratios = np.minimum(np.diff(stamps) / float(np.median(np.diff(stamps))), max_rows + 1)
    gaps = np.flatnonzero(ratios > 1.5)
    if not len(gaps):
        return values, labels, notes
    missing_count = int(np.round(ratios[gaps]).sum() - len(gaps))
    about = f"about {missing_count:,}" if missing_count < max_rows else f"more than {max_rows:,}"
    if missing == "refuse":
        raise UploadError(
            f"time column {shorten(name, 40)!r} has {len(gaps)} gap(s), {about} missing step(s) (the first after "
            f"file line {int(gaps[0]) + 2}). Choose to interpolate the missing steps or to drop (ignore) the gaps"
        )
    if missing == "drop":
        notes.append(f"kept {len(gaps)} gap(s) in the time column as they are ({about} missing steps)")
        return values, labels, notes
    if len(values) + missing_count > max_rows:
        raise UploadError(f"filling the time gaps would give {len(values) + missing_count:,} values; "
                          f"the limit is {max_rows:,}")
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
