"""Hostile uploads (issue 10, F2 and F3): every size is checked before pandas parses, and inputs that used to reach the
user as a traceback get a message saying what is wrong and what to do."""
import tracemalloc

import numpy as np
import pytest

from lstm_viz.rules.errors import UploadError
from lstm_viz.data.series import series_from_upload
from lstm_viz.core.tasks.forecast import ForecastTask
from lstm_viz.core.tasks.labelled_text import validate_labelled_text
from lstm_viz.data.uploads import MAX_CELLS, MAX_COLUMNS, MAX_LINE_CHARACTERS, read_csv, read_series_csv


def series_rows(times, values, header="t,v") -> bytes:
    return (header + "\n" + "".join(f"{t},{v}\n" for t, v in zip(times, values))).encode()


def parse_peak_bytes(parse, raw) -> int:
    tracemalloc.start()
    try:
        parse(raw)
    except UploadError:
        pass
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


# ----- F2: refused on the raw text, before pandas builds anything ------------------------------------------------
HOSTILE_SHAPES = [
    ("60,000 duplicate header names", ("a," * 60_000 + "a\n1\n").encode(), "header line"),
    ("200+ distinct columns", (",".join(f"c{i}" for i in range(MAX_COLUMNS + 1)) + "\n" + "1," * MAX_COLUMNS + "1\n").encode(), f"the limit is {MAX_COLUMNS}"),
    ("duplicate names", b"a,b,a\n1,2,3\n", "column name 'a' more than once"),
    ("5 MB on one line", b"a" * (5 * 2**20 - 10), "header line"),
    ("a huge data line", b"text,label\n" + b"x" * (MAX_LINE_CHARACTERS + 1) + b",y\n", "line of"),
    ("5 MB of newlines", b"a\n1\n" + b"\n" * (5 * 2**20 - 10), "lines"),
    ("first row wider than the header", b"a,b\n" + (b"1," * 9000 + b"\n") * 250, "first data row has 9,001 cells"),
    ("too many cells", (",".join(f"c{i}" for i in range(150)) + "\n" + ("1," * 149 + "1\n") * 12_000).encode(), "cells"),
]


@pytest.mark.parametrize("raw, message", [case[1:] for case in HOSTILE_SHAPES], ids=[case[0] for case in HOSTILE_SHAPES])
def test_hostile_shapes_are_refused_before_pandas_parses_them(raw, message, monkeypatch):
    import pandas as pd

    def no_pandas(*args, **kwargs):
        raise AssertionError("pandas was asked to parse a file the size checks should have refused")

    monkeypatch.setattr(pd, "read_csv", no_pandas)
    with pytest.raises(UploadError, match=message):
        read_csv(raw)
    assert parse_peak_bytes(read_csv, raw) < 8 * len(raw) + 2**20  # a few copies of the text, never a table


def test_crlf_cr_mixes_and_a_byte_order_mark_parse_as_lines():
    rows = [f"row {i} is fine,{'a' if i % 2 else 'b'}" for i in range(30)]
    endings = ["\r\n", "\r", "\n"]
    text = "\ufefftext,label" + "".join(endings[i % 3] + row for i, row in enumerate(rows)) + "\r\n"
    table = read_csv(text.encode())
    assert list(table.columns) == ["text", "label"] and len(table) == 30
    assert table["text"].tolist() == [row.split(",")[0] for row in rows]


def test_cells_stay_text_so_labels_keep_their_spelling():
    rows = [f"text {i},{'1' if i % 2 else '007'}" for i in range(30)]
    dataset = validate_labelled_text(("text,label\n" + "\n".join(rows)).encode(), "numbers.csv")
    assert dataset.content["classes"] == ["007", "1"]  # not 7 and 1.0


def test_the_cell_limit_bounds_the_parsed_tables_memory():
    columns = 100
    rows = MAX_CELLS // columns
    raw = (",".join(f"c{i}" for i in range(columns)) + "\n" + ("1.5," * (columns - 1) + "x\n") * rows).encode()
    assert read_csv(raw).shape == (rows, columns)
    assert parse_peak_bytes(read_csv, raw) < 200 * 2**20


# ----- F3: inputs that reached the user as tracebacks -------------------------------------------------------------
def test_a_column_of_400_digit_integers_is_refused_with_its_line():
    raw = series_rows(range(60), [10**399 + i for i in range(60)])
    with pytest.raises(UploadError, match=r"too large to compute with \(file line 2: .*400 characters"):
        read_series_csv(raw, column="v")


@pytest.mark.parametrize("missing", ["refuse", "drop", "interpolate"])
def test_a_time_column_whose_step_overflows_is_refused(missing):
    times = [-1.7e308] + [1e308 + i * 1e300 for i in range(1, 60)]
    raw = series_rows([repr(t) for t in times], [i % 7 for i in range(60)])
    with pytest.raises(UploadError, match="from file line 2 to 3 .* too large to compute with"):
        read_series_csv(raw, time_column="t", missing=missing)


def test_a_gap_of_1e300_steps_is_counted_without_a_300_digit_number():
    raw = series_rows([*range(59), "1e300"], [i % 7 for i in range(60)])
    with pytest.raises(UploadError, match="more than 20,000 missing step"):
        read_series_csv(raw, time_column="t")


def test_dates_with_mixed_time_zones_are_refused_with_the_zones_named():
    times = [f"2024-01-{i % 28 + 1:02d}T00:00:00{'+02:00' if i % 2 else 'Z'}" for i in range(28)]
    with pytest.raises(UploadError, match="mixes time zones .*'Z' and '\\+02:00'"):
        read_series_csv(series_rows(times, range(28)), time_column="t")


def test_dates_in_one_time_zone_are_read_in_utc():
    times = [f"2024-01-{i + 1:02d}T00:00:00+02:00" for i in range(31)] + [f"2024-02-{i + 1:02d}T00:00:00+02:00" for i in range(25)]
    series = read_series_csv(series_rows(times, [np.sin(i) for i in range(56)]), time_column="t")
    assert series.times[0] == "2023-12-31 22:00:00" and len(series.values) == 56


def test_a_long_cell_in_the_time_column_never_reaches_the_date_parser():
    times = [f"2024-01-{i % 28 + 1:02d}" for i in range(60)]
    times[5] = "2024-" * 1000
    with pytest.raises(UploadError, match="line 7 has 5,000 characters, too long for a date"):
        read_series_csv(series_rows(times, range(60)), time_column="t")


def test_values_near_1e_310_are_refused_before_the_baseline_becomes_zero():
    values = [1e-310 * (1 + i % 7) for i in range(60)]
    raw = series_rows(range(60), [repr(v) for v in values])
    with pytest.raises(UploadError, match="varies by only 6e-310 .* too little to standardise"):
        read_series_csv(raw, column="v")
    # What the check prevents: the scaler's variance underflows, so the naive baseline the verdict divides by is 0.
    series = series_from_upload("tiny", np.array(values), None)
    assert ForecastTask(series, 3, {}).baseline(5) == 0.0


def test_variation_lost_in_rounding_next_to_the_level_is_refused():
    raw = series_rows(range(60), [repr(1e11 + (i % 3) * 1e-5) for i in range(60)])
    with pytest.raises(UploadError, match="too little to standardise"):
        read_series_csv(raw, column="v")


def test_a_series_constant_over_its_test_part_is_refused():
    values = [float(i % 9) for i in range(50)] + [4.0] * 10
    with pytest.raises(UploadError, match="constant \\(4\\) over its last 9 values, the test part"):
        read_series_csv(series_rows(range(60), values), column="v")
    series = series_from_upload("flat end", np.array(values), None)
    assert ForecastTask(series, 3, {}).baseline(5) == 0.0


def test_an_empty_time_cell_is_named_and_never_reaches_the_date_parser():
    # pandas 3 keeps a missing cell missing through astype(str): it once slipped past the length check, and 160
    # cells of 2,500 quotes went to dateutil (7 s).
    times = [f"2024-01-{i % 28 + 1:02d}" for i in range(60)]
    times[0] = ""
    times[3] = '"' + '""' * 1250 + '"'
    with pytest.raises(UploadError, match="time column 't' is empty on file line 2"):
        read_series_csv(series_rows(times, range(60)), time_column="t")


def test_a_column_of_long_non_dates_is_refused_after_its_first_rows():
    times = [f"not a date number {i}" for i in range(20_000)]
    with pytest.raises(UploadError, match="'not a date number 0' \\(file line 2\\) is neither a date nor a number"):
        read_series_csv(series_rows(times, [i % 9 for i in range(20_000)]), time_column="t")
