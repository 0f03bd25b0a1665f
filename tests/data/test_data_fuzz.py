"""Property tests: load_csv returns a valid Series or raises a one-line DataError, whatever the file holds."""

import csv
import io
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from benchmark.data.series import MAX_MAGNITUDE, DataError, Series, load_csv

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

HEADER_WORDS = [
    "Date",
    "date",
    "Time",
    "timestamp",
    "Close",
    "close (USD)",
    "Adj Close",
    "Closing Price (USD)",
    "Open",
    "Volume",
    "Currency",
    "",
]
DATES = st.dates(min_value=pd.Timestamp("1900-01-01").date(), max_value=pd.Timestamp("2200-12-31").date())
NUMBERS = st.floats(allow_nan=True, allow_infinity=True) | st.integers(-(10**20), 10**20)
CELLS = st.one_of(
    NUMBERS.map(str),
    DATES.map(str),
    DATES.map(lambda day: f"{day} 00:00:00+05:00"),
    st.sampled_from(["", "NaN", "NA", "null", "inf", "-Infinity", "1,234.5", "now", "BTC", "1e999", "1_000"]),
    st.text(max_size=12),
)
# Mostly-valid cells for the date and value columns, so that some generated tables load.
DATE_CELLS = st.one_of(DATES.map(str), DATES.map(lambda day: f"{day}T12:00:00Z"), CELLS)
VALUE_CELLS = st.one_of(st.floats(-1e6, 1e6).map(repr), st.integers(-1000, 1000).map(str), CELLS)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "latin-1", "cp1252", "utf-16", "utf-16-le", "utf-32"])
FILLS = st.sampled_from([None, "ffill", "bfill", ""])


@pytest.fixture(scope="module")
def csv_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One file path reused by every example (hypothesis cannot use function-scoped fixtures)."""
    return tmp_path_factory.mktemp("fuzz") / "fuzz.csv"


def to_csv(rows: list[list[str]]) -> str:
    """Rows as properly quoted CSV text."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()


def outcome(path: Path, data: bytes, **kwargs: object) -> Series | None:
    """Write ``data``, load it, and check the contract: a valid Series or a one-line DataError."""
    path.write_bytes(data)
    try:
        series = load_csv(path, **kwargs)
    except DataError as error:
        message = str(error)
        assert message.startswith(f"{path}: ")
        assert len(message.splitlines()) == 1
        event("DataError")
        return None
    assert_valid(series)
    event("loaded")
    return series


def assert_valid(series: Series) -> None:
    """The invariants every Series promises its consumers."""
    assert isinstance(series.dates, pd.DatetimeIndex)
    assert series.dates.tz is None
    assert series.dates.is_monotonic_increasing and series.dates.is_unique
    assert series.values.dtype == np.float64 and series.values.ndim == 1
    assert np.isfinite(series.values).all()
    assert np.abs(series.values).max() <= MAX_MAGNITUDE
    assert len(series.dates) == len(series.values) == len(series) > 0


@FUZZ
@given(data=st.binary(max_size=400), fill=FILLS)
def test_random_bytes(csv_path: Path, data: bytes, fill: str | None) -> None:
    outcome(csv_path, data, fill=fill)


@FUZZ
@given(
    prefix=st.sampled_from([b"", b"Date,Close\n", b"Date,Close\n2020-01-01,"]), data=st.binary(max_size=200)
)
def test_random_bytes_after_a_plausible_header(csv_path: Path, prefix: bytes, data: bytes) -> None:
    outcome(csv_path, prefix + data)


@FUZZ
@given(
    header=st.lists(st.sampled_from(HEADER_WORDS) | st.text(max_size=10), min_size=1, max_size=6),
    cells=st.lists(st.lists(CELLS, min_size=1, max_size=7), max_size=8),
    encoding=ENCODINGS,
    fill=FILLS,
)
def test_random_tables_in_random_encodings(
    csv_path: Path, header: list[str], cells: list[list[str]], encoding: str, fill: str | None
) -> None:
    text = to_csv([header, *cells])
    outcome(csv_path, text.encode(encoding, errors="replace"), fill=fill)


@FUZZ
@given(
    extra=st.lists(st.sampled_from(HEADER_WORDS[7:]) | st.text(max_size=8), max_size=3),
    rows=st.lists(st.tuples(DATE_CELLS, VALUE_CELLS, CELLS, CELLS, CELLS), min_size=1, max_size=8),
    fill=FILLS,
)
def test_plausible_tables_with_mixed_cells(
    csv_path: Path, extra: list[str], rows: list[tuple[str, ...]], fill: str | None
) -> None:
    header = ["Date", "Close", *extra]
    table = [list(row[: len(header)]) for row in rows]
    outcome(csv_path, to_csv([header, *table]).encode(), fill=fill)


@FUZZ
@given(
    header=st.lists(st.text(max_size=10), min_size=2, max_size=5, unique=True),
    data=st.data(),
    fill=FILLS,
)
def test_random_header_names_with_explicit_columns(
    csv_path: Path, header: list[str], data: st.DataObject, fill: str | None
) -> None:
    target = data.draw(st.sampled_from(header) | st.text(max_size=5))
    date_column = data.draw(st.sampled_from(header) | st.none())
    rows = data.draw(st.lists(st.lists(CELLS, min_size=len(header), max_size=len(header)), max_size=6))
    outcome(csv_path, to_csv([header, *rows]).encode(), target=target, date_column=date_column, fill=fill)


@FUZZ
@given(
    points=st.dictionaries(
        DATES, st.floats(-MAX_MAGNITUDE, MAX_MAGNITUDE) | st.none(), min_size=1, max_size=30
    ),
    order=st.randoms(use_true_random=False),
    fill=st.sampled_from([None, "ffill"]),
)
def test_valid_tables_round_trip_in_date_order(
    csv_path: Path, points: dict, order: object, fill: str | None
) -> None:
    rows = [[str(day), "" if value is None else repr(value), "BTC"] for day, value in points.items()]
    order.shuffle(rows)  # type: ignore[attr-defined]
    series = outcome(csv_path, to_csv([["Date", "Close", "Currency"], *rows]).encode(), fill=fill)
    expected = pd.Series(points, dtype=float).sort_index()
    if expected.isna().any() and (fill is None or math.isnan(expected.iloc[0])):
        assert series is None
        return
    assert series is not None
    assert list(series.dates) == list(pd.to_datetime(expected.index))
    np.testing.assert_array_equal(series.values, expected.ffill().to_numpy())


@FUZZ
@given(
    values=st.lists(
        st.floats(allow_nan=False, allow_infinity=True) | st.integers(-(10**30), 10**30),
        min_size=1,
        max_size=10,
    )
)
def test_huge_and_infinite_values_are_refused(csv_path: Path, values: list[float]) -> None:
    rows = [[f"2020-01-{day:02d}", str(value)] for day, value in enumerate(values, start=1)]
    series = outcome(csv_path, to_csv([["Date", "Close"], *rows]).encode())
    acceptable = all(math.isfinite(float(value)) and abs(float(value)) <= MAX_MAGNITUDE for value in values)
    assert (series is not None) == acceptable
