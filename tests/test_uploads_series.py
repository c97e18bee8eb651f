"""Uploaded time series: every bad input gets its own clear message, and no input gets anything but clean data or
an UploadError (hypothesis)."""
import io

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lstm_viz.data import datastore
from lstm_viz.rules.errors import UploadError
from lstm_viz.core.tasks import get_task
from lstm_viz.core.trainer import RunConfig
from lstm_viz.data.uploads import MAX_SERIES_ROWS, MIN_SERIES_ROWS, read_series_csv


def csv_of(rows: int, header: str = "day,value", value=lambda i: f"{np.sin(i / 5) * 10 + i * 0.1:.4f}") -> bytes:
    lines = [header] + [f"{2000 + i},{value(i)}" for i in range(rows)]
    return ("\n".join(lines) + "\n").encode()


GOOD = csv_of(60)
BAD_INPUTS = [
    ("not utf-8", "col\n1\n\xff\xfe2\n".encode("latin-1"), {}, "not UTF-8"),
    ("binary", b"\x00\x01\x02" * 50, {}, "NUL bytes"),
    ("empty", b"   \n", {}, "empty"),
    ("not csv", b'a,"b\n1,2\n', {}, "not a readable CSV"),
    ("header only", b"day,value\n", {}, "no data rows"),
    ("no numeric column", b"name,colour\n" + b"ann,red\nbob,blue\n" * 30, {}, "no numeric column"),
    ("NaNs", GOOD.replace(b"\n2010,", b"\n2010,nan-ish", 1), {"column": "value"}, "missing or non-numeric"),
    ("empty cell", b"t,v\n" + b"".join(f"{i},{'' if i == 7 else i % 5}\n".encode() for i in range(60)), {"column": "v"}, "1 missing"),
    ("gaps in time", b"t,v\n" + b"".join(f"{i},{i % 5}\n".encode() for i in range(60) if i not in (10, 11)), {"time_column": "t"}, "gap"),
    ("time not in order", b"t,v\n" + b"".join(f"{(i * 7) % 60},{i % 5}\n".encode() for i in range(60)), {"time_column": "t"}, "must increase"),
    ("time not a date", b"t,v\n" + b"".join(f"{'soon' if i == 3 else f'2024-01-{i + 1:02d}'},{i % 5}\n".encode() for i in range(28)) + b"".join(f"2024-02-{i:02d},{i % 3}\n".encode() for i in range(1, 29)), {"time_column": "t"}, "neither a date nor a number"),
    ("too few rows", csv_of(MIN_SERIES_ROWS - 1), {}, f"at least {MIN_SERIES_ROWS}"),
    ("too many rows", csv_of(MAX_SERIES_ROWS + 1), {}, f"at most {MAX_SERIES_ROWS:,}"),
    ("too large", b"v\n" + b"1.000000000000\n" * 200_000, {}, "at most 2 MB"),
    ("constant", b"v\n" + b"3\n" * 60, {}, "constant"),
    ("unknown column", GOOD, {"column": "price"}, "no column 'price'"),
    ("text column chosen", b"name,v\n" + b"".join(f"n{i},{i}\n".encode() for i in range(60)), {"column": "name"}, "not numeric"),
    ("same column twice", GOOD, {"column": "value", "time_column": "value"}, "must differ"),
    ("huge values", b"v\n" + b"".join(f"{i}e13\n".encode() for i in range(60)), {}, "beyond"),
]


@pytest.mark.parametrize("raw, options, message", [case[1:] for case in BAD_INPUTS], ids=[case[0] for case in BAD_INPUTS])
def test_every_bad_input_gets_its_own_message(raw, options, message):
    with pytest.raises(UploadError, match=message):
        read_series_csv(raw, **options)


def test_missing_values_can_be_dropped_or_interpolated():
    raw = b"t,v\n" + b"".join(f"{i},{'' if i in (7, 8) else float(i)}\n".encode() for i in range(60))
    # Without a choice: the first numeric column that is not an index (t counts 0, 1, 2, ...).
    assert read_series_csv(raw, missing="drop").column == "v"
    assert read_series_csv(b"i,v\n" + b"".join(f"{i % 5},{i}\n".encode() for i in range(60))).column == "i"
    dropped = read_series_csv(raw, column="v", missing="drop")
    assert len(dropped.values) == 58 and 7.0 not in dropped.values and dropped.notes
    filled = read_series_csv(raw, column="v", missing="interpolate")
    assert np.allclose(filled.values, np.arange(60.0))  # a straight line interpolates to itself


def test_time_gaps_are_filled_on_the_regular_grid():
    raw = b"t,v\n" + b"".join(f"{i},{2.0 * i}\n".encode() for i in range(60) if i not in (10, 11, 12))
    filled = read_series_csv(raw, time_column="t", missing="interpolate")
    assert len(filled.values) == 60 and np.allclose(filled.values, 2.0 * np.arange(60))
    kept = read_series_csv(raw, time_column="t", missing="drop")
    assert len(kept.values) == 57


def test_monthly_dates_are_not_gaps_and_the_upload_trains():
    raw = open("assets/data/airline_passengers.csv", "rb").read()
    series = read_series_csv(raw, time_column="month")
    assert series.column == "passengers_thousands" and series.times[0] == "1949-01-01" and len(series.values) == 144
    datastore.clear()
    stored = datastore.put("series", "airline.csv", {"values": series.values, "times": series.times})
    task = get_task("forecast").with_options(dataset=stored.key)
    assert task.series.label == "airline.csv" and (task.series.val_size, task.series.test_size) == (22, 22)
    config = RunConfig(task="forecast", task_options={"dataset": stored.key}, length=12, hidden_size=4,
                       archs=("lstm",), max_steps=2).validate()
    assert config.make_task().output_size == 12


def test_semicolon_separated_and_byte_order_mark():
    raw = "\ufeffwhen;level\n".encode() + b"".join(f"{i};{i % 7}\n".encode() for i in range(50))
    series = read_series_csv(raw, time_column="when")
    assert series.column == "level" and len(series.values) == 50


def _check_clean_or_upload_error(raw: bytes, **options) -> None:
    try:
        series = read_series_csv(raw, **options)
    except UploadError as error:
        assert str(error)
        return
    assert series.values.dtype == np.float64 and np.isfinite(series.values).all()
    assert MIN_SERIES_ROWS <= len(series.values) <= MAX_SERIES_ROWS
    assert series.times is None or len(series.times) == len(series.values)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000))
def test_random_bytes_give_clean_data_or_an_upload_error(raw):
    _check_clean_or_upload_error(raw)


cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10**15, 10**15).map(str),
    st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=6),
    st.sampled_from(["", "nan", "NA", "2024-01-05", "1e400", "-", '"', "1,5", "2024-13-45", " 3 "]),
)


@st.composite
def csv_text(draw):
    columns = draw(st.integers(1, 4))
    rows = draw(st.integers(0, 80))
    separator = draw(st.sampled_from([",", ";", "\t", "|"]))
    header = separator.join(draw(st.lists(st.text(max_size=5), min_size=columns, max_size=columns)))
    numeric_column = draw(st.integers(0, columns - 1))
    lines = [header]
    for i in range(rows):
        cells = [draw(cell) for _ in range(columns)]
        if draw(st.booleans()):
            cells[numeric_column] = str(i * 0.5 + draw(st.integers(-3, 3)))
        lines.append(separator.join(cells))
    return "\n".join(lines)


@settings(max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow, HealthCheck.large_base_example])
@given(csv_text(), st.sampled_from(["refuse", "drop", "interpolate"]), st.booleans())
def test_random_csv_text_gives_clean_data_or_an_upload_error(text, missing, use_time):
    options = {"missing": missing}
    if use_time:
        first = text.splitlines()[0] if text.splitlines() else ""
        separator = next((s for s in ",;\t|" if s in first), ",")
        options["time_column"] = first.split(separator)[0].strip() or None
    _check_clean_or_upload_error(text.encode("utf-8", "surrogatepass"), **options)
