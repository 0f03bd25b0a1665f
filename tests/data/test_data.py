"""Tests for benchmark.data.series: column detection, sorting, filling and one-line errors for bad files."""

import hashlib
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark.data.series import DataError, Series, load_csv
from benchmark.errors import BenchmarkError

COINDESK = """Currency,Date,Closing Price (USD),24h Open (USD),24h High (USD),24h Low (USD)
BTC,2013-10-01,123.65499,124.30466,124.75166,122.56349
BTC,2013-10-02,125.455,123.65499,125.7585,123.63383
BTC,2013-10-03,108.58483,125.455,125.66566,83.32833
"""

YAHOO = """Date,Open,High,Low,Close,Adj Close,Volume
2020-01-02,158.78,160.73,158.33,160.62,156.59,22622100
2020-01-03,158.32,159.95,158.06,158.62,154.64,21116200
2020-01-06,157.08,159.10,156.51,159.03,155.04,20813700
"""


def write(tmp_path: Path, text: str | bytes, name: str = "prices.csv") -> Path:
    """Write a test file (text as UTF-8, bytes as given) and return its path."""
    path = tmp_path / name
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    return path


def load_error(path: Path, *words: str, **kwargs: object) -> str:
    """Assert load_csv fails with a one-line DataError starting with the path and containing ``words``."""
    with pytest.raises(DataError) as info:
        load_csv(path, **kwargs)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message
    assert message.startswith(f"{path}: ")
    for word in words:
        assert word in message, f"{word!r} not in {message!r}"
    return message


def test_coindesk_file_uses_closing_price(tmp_path: Path) -> None:
    path = write(tmp_path, COINDESK, "coindesk.csv")
    series = load_csv(path)
    assert series.target == "Closing Price (USD)"
    assert series.name == "coindesk"
    np.testing.assert_array_equal(series.values, [123.65499, 125.455, 108.58483])
    assert list(series.dates) == list(pd.to_datetime(["2013-10-01", "2013-10-02", "2013-10-03"]))
    assert series.values.dtype == np.float64
    assert series.checksum == hashlib.sha256(path.read_bytes()).hexdigest()
    assert series.source == str(path)
    assert len(series) == 3


def test_yahoo_file_prefers_close_over_adj_close(tmp_path: Path) -> None:
    path = write(tmp_path, YAHOO)
    assert load_csv(path).target == "Close"
    np.testing.assert_array_equal(load_csv(path).values, [160.62, 158.62, 159.03])
    adjusted = load_csv(path, target="Adj Close")
    assert adjusted.target == "Adj Close"
    np.testing.assert_array_equal(adjusted.values, [156.59, 154.64, 155.04])


def test_close_with_units_qualifies_and_target_is_case_insensitive(tmp_path: Path) -> None:
    path = write(tmp_path, "date,close (USD),volume\n2020-01-01,1.5,10\n2020-01-02,2.5,11\n")
    assert load_csv(path).target == "close (USD)"
    assert load_csv(path, target="VOLUME").target == "volume"


def test_out_of_order_rows_are_sorted_and_text_columns_ignored(tmp_path: Path) -> None:
    text = "Note,Date,Close\nb,2020-01-03,3\nc,2020-01-01,1\na,2020-01-02,2\n"
    series = load_csv(write(tmp_path, text))
    np.testing.assert_array_equal(series.values, [1.0, 2.0, 3.0])
    assert series.dates.is_monotonic_increasing


def test_mixed_date_formats_and_timezones_become_naive_utc(tmp_path: Path) -> None:
    text = "Date,Close\n2013-10-01,1\n2013-10-02 00:00:00,2\n2013-10-03T02:00:00+02:00,3\n"
    series = load_csv(write(tmp_path, text))
    assert series.dates.tz is None
    assert list(series.dates) == list(pd.to_datetime(["2013-10-01", "2013-10-02", "2013-10-03"]))


def test_bom_blank_lines_and_explicit_columns(tmp_path: Path) -> None:
    text = "\ufeffwhen,price,other\n\n2020-01-01,1,x\n2020-01-02,2,y\n\n"
    series = load_csv(write(tmp_path, text), target="price", date_column="when", name="custom")
    assert series.name == "custom"
    np.testing.assert_array_equal(series.values, [1.0, 2.0])


def test_ffill_fills_missing_values(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-01,1\n2020-01-02,\n2020-01-03,NaN\n2020-01-04,4\n"
    series = load_csv(write(tmp_path, text), fill="ffill")
    np.testing.assert_array_equal(series.values, [1.0, 1.0, 1.0, 4.0])


def test_ffill_follows_date_order_not_file_order(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-02,\n2020-01-03,3\n2020-01-01,1\n"
    series = load_csv(write(tmp_path, text), fill="ffill")
    np.testing.assert_array_equal(series.values, [1.0, 1.0, 3.0])


def test_missing_file(tmp_path: Path) -> None:
    load_error(tmp_path / "nope.csv", "nope.csv", "not found")


def test_directory(tmp_path: Path) -> None:
    load_error(tmp_path, "directory")


def test_unreadable_path(tmp_path: Path) -> None:
    load_error(tmp_path / ("x" * 300 + ".csv"), "cannot read file")
    load_error(tmp_path / "nul\0.csv", "not a valid file path")


def test_empty_file(tmp_path: Path) -> None:
    load_error(write(tmp_path, ""), "empty")
    load_error(write(tmp_path, "\n \n", "blank.csv"), "empty")


def test_header_only(tmp_path: Path) -> None:
    load_error(write(tmp_path, "Date,Close\n"), "no data rows")


def test_no_date_column(tmp_path: Path) -> None:
    load_error(write(tmp_path, "a,Close,c\n1,2,3\n"), "no date column", "a, Close, c", "--date-column")


def test_several_date_columns(tmp_path: Path) -> None:
    load_error(write(tmp_path, "Date,Time,Close\n2020-01-01,10:00,1\n"), "Date, Time", "--date-column")


def test_unknown_date_column(tmp_path: Path) -> None:
    load_error(write(tmp_path, YAHOO), "'Day'", "not found", "Adj Close", date_column="Day")


def test_no_value_column(tmp_path: Path) -> None:
    load_error(
        write(tmp_path, "Date,Open,Adj Close\n2020-01-01,1,2\n"),
        "no value column",
        "Open, Adj Close",
        "--target",
    )


def test_several_value_columns(tmp_path: Path) -> None:
    text = "Date,Closing Bid,Closing Ask\n2020-01-01,1,2\n"
    load_error(write(tmp_path, text), "several", "Closing Bid, Closing Ask", "--target")


def test_unknown_target(tmp_path: Path) -> None:
    load_error(write(tmp_path, YAHOO), "'Price'", "not found", "Adj Close", "--target", target="Price")


def test_target_equal_to_date_column(tmp_path: Path) -> None:
    load_error(write(tmp_path, YAHOO), "both", target="Date")


def test_non_numeric_values(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-01,1\n2020-01-02,abc\n2020-01-03,n.a.\n"
    load_error(write(tmp_path, text), "non-numeric", "on 2 rows", "line 3", "'abc'")


def test_thousands_separators_are_refused(tmp_path: Path) -> None:
    text = 'Date,Close\n2020-01-01,"1,234.5"\n'
    load_error(write(tmp_path, text), "non-numeric", "'1,234.5'", "thousands separators")


def test_unparseable_dates(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-01,1\n2020-13-45,2\nyesterday,3\n"
    load_error(write(tmp_path, text), "unparseable dates", "on 2 rows", "line 3", "'2020-13-45'")


def test_relative_dates_are_refused(tmp_path: Path) -> None:
    load_error(write(tmp_path, "Date,Close\nnow,1\n"), "unparseable dates", "'now'")


def test_duplicate_dates(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-01,1\n2020-01-02,2\n2020-01-01,3\n2020-01-02 00:00:00,4\n"
    load_error(write(tmp_path, text), "duplicate dates on 2 rows", "2020-01-01", "line 4")


def test_missing_values_need_fill(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-01,1\n2020-01-02,\n2020-01-03,NA\n"
    load_error(write(tmp_path, text), "missing values", "on 2 rows", "--fill ffill", "line 3")


def test_leading_missing_with_ffill(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-01,\n2020-01-02,nan\n2020-01-03,3\n"
    load_error(write(tmp_path, text), "starts with 2 missing values", "ffill", fill="ffill")


def test_all_missing_with_ffill(tmp_path: Path) -> None:
    load_error(write(tmp_path, "Date,Close\n2020-01-01,\n"), "starts with 1 missing value", fill="ffill")


def test_bad_fill_option(tmp_path: Path) -> None:
    load_error(write(tmp_path, YAHOO), "unknown fill method", "'bfill'", "ffill", fill="bfill")


def test_infinite_values(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-01,1\n2020-01-02,inf\n2020-01-03,1e999\n"
    load_error(write(tmp_path, text), "infinite values", "on 2 rows", "line 3", "'inf'")


def test_huge_values(tmp_path: Path) -> None:
    text = "Date,Close\n2020-01-01,1\n2020-01-02,-2e15\n"
    load_error(write(tmp_path, text), "values above 1e+15", "on 1 row", "float32", "'-2e15'")


def test_ragged_row(tmp_path: Path) -> None:
    load_error(write(tmp_path, "Date,Close\n2020-01-01,1,9\n"), "line 2 has 3 fields", "header has 2")


def test_latin1_file(tmp_path: Path) -> None:
    data = "Date,Close,Note\n2020-01-01,1,café\n".encode("latin-1")
    load_error(write(tmp_path, data), "not UTF-8", "0xe9")


def test_utf16_file(tmp_path: Path) -> None:
    load_error(write(tmp_path, YAHOO.encode("utf-16")), "UTF-16")


def test_binary_file(tmp_path: Path) -> None:
    load_error(write(tmp_path, b"Date,Close\n\x00\x01\x02,3\n"), "NUL")


def test_semicolon_file_with_decimal_commas_loads(tmp_path: Path) -> None:
    series = load_csv(write(tmp_path, "Date;Close\n2020-01-01;1,5\n2020-01-02;1.234,25\n2020-01-03;7\n"))
    assert series.values.tolist() == [1.5, 1234.25, 7.0]
    tabbed = load_csv(write(tmp_path, "Date\tClose\n2020-01-01\t1.5\n2020-01-02\t2\n", "tab.csv"))
    assert tabbed.values.tolist() == [1.5, 2.0]


def test_european_dates_are_read_day_first_never_guessed(tmp_path: Path) -> None:
    """dd/mm/yyyy used to load month-first for days 1-12: the same values must give the same series as ISO."""
    days = pd.date_range("2020-01-01", periods=40, freq="D")
    values = np.arange(40.0) + 100
    iso = load_csv(write(tmp_path, "Date,Close\n" + "".join(
        f"{d:%Y-%m-%d},{v}\n" for d, v in zip(days, values, strict=True)), "iso.csv"))
    european = load_csv(write(tmp_path, "Date,Close\n" + "".join(
        f"{d:%d/%m/%Y},{v}\n" for d, v in zip(days, values, strict=True)), "eu.csv"))
    assert european.dates.equals(iso.dates) and european.values.tolist() == iso.values.tolist()
    american = load_csv(write(tmp_path, "Date,Close\n" + "".join(
        f"{d:%m/%d/%Y},{v}\n" for d, v in zip(days, values, strict=True)), "us.csv"))
    assert american.dates.equals(iso.dates)


def test_ambiguous_day_month_order_is_refused_unless_a_format_is_given(tmp_path: Path) -> None:
    path = write(tmp_path, "Date,Close\n01/02/2020,1\n03/04/2020,2\n05/06/2020,3\n")
    message = load_error(path, "ambiguous dates", "--date-format %d/%m/%Y or %m/%d/%Y")
    assert "\n" not in message
    assert load_csv(path, date_format="%d/%m/%Y").dates[0] == pd.Timestamp("2020-02-01")
    assert load_csv(path, date_format="%m/%d/%Y").dates[0] == pd.Timestamp("2020-01-02")
    load_error(path, "do not match the format", date_format="%Y-%m-%d")


def test_control_characters_in_header_stay_on_one_line(tmp_path: Path) -> None:
    load_error(write(tmp_path, 'Date,"multi\nline",x\n2020-01-01,1,2\n'), "no value column", "\\n")


def test_data_error_is_a_benchmark_error() -> None:
    assert issubclass(DataError, BenchmarkError)


def test_from_array_defaults() -> None:
    series = Series.from_array("sine", np.sin(np.arange(5.0)))
    assert series.dates[0] == pd.Timestamp("2000-01-01")
    assert list(series.dates.to_series().diff().dropna().unique()) == [pd.Timedelta(days=1)]
    expected = hashlib.sha256(np.sin(np.arange(5.0)).astype(np.float64).tobytes()).hexdigest()
    assert series.checksum == expected
    assert series.describe() == {
        "name": "sine",
        "length": 5,
        "start": "2000-01-01",
        "end": "2000-01-05",
        "source": "generated",
        "checksum": expected,
    }


def test_series_values_are_read_only() -> None:
    series = Series.from_array("x", [1.0, 2.0])
    with pytest.raises(ValueError):
        series.values[0] = 5.0


@pytest.mark.parametrize(
    ("values", "dates"),
    [
        ([1.0, np.nan], None),
        ([], None),
        ([[1.0, 2.0]], None),
        ([1.0, 2.0], pd.DatetimeIndex(["2020-01-02", "2020-01-01"])),
        ([1.0, 2.0], pd.DatetimeIndex(["2020-01-01", "2020-01-01"])),
        ([1.0, 2.0], pd.DatetimeIndex(["2020-01-01"])),
    ],
)
def test_series_invariants_are_enforced(values: list[float], dates: pd.DatetimeIndex | None) -> None:
    with pytest.raises(ValueError):
        Series.from_array("bad", values, dates=dates)


def test_tab_files_never_read_thousands_separators_as_decimals(tmp_path: Path) -> None:
    load_error(write(tmp_path, "Date\tClose\n2020-01-01\t19,345\n2020-01-02\t2\n", "tab.csv"), "non-numeric")


def test_an_explicit_date_format_is_applied_strictly(tmp_path: Path) -> None:
    path = write(tmp_path, "Date,Close\n04/13/2020 10:00,1\n04/14/2020 10:00,2\n")
    load_error(path, "do not match the format", date_format="%d/%m/%Y %H:%M")
    assert load_csv(path, date_format="%m/%d/%Y %H:%M").dates[0] == pd.Timestamp("2020-04-13 10:00")


def test_a_negative_year_is_an_unparseable_date(tmp_path: Path) -> None:
    """Found by the fuzz test: pandas reads "-1000" as the year -1000, which no date method can print."""
    load_error(write(tmp_path, "Date,Close\n-1000,\n2020-01-02,2\n"), "unparseable dates")


def test_a_dot_in_a_column_of_decimal_commas_is_refused_never_guessed(tmp_path: Path) -> None:
    """`5.334` beside `5.334,90`: 5334 with a thousands dot, or 5.334? Refused naming the line; a semicolon file
    without any comma keeps its dots as decimal points."""
    message = load_error(write(tmp_path, "Date;Close\n2020-01-01;5.334,90\n2020-01-02;5.334\n"),
                         "ambiguous number '5.334'", "line 3", "'5334' or '5,334'")
    assert "Close" in message
    dots = load_csv(write(tmp_path, "Date;Close\n2020-01-01;5.334\n2020-01-02;6.5\n", "dots.csv"))
    assert dots.values.tolist() == [5.334, 6.5]


@pytest.mark.parametrize("date_format", ["mixed", "ISO8601", "%Q", "plain"])
def test_a_date_format_that_would_guess_or_cannot_parse_is_refused(tmp_path: Path, date_format: str) -> None:
    load_error(write(tmp_path, "Date,Close\n03/04/2020,1\n04/04/2020,2\n"), "is not a strptime format",
               date_format=date_format)


def test_aware_dates_with_changing_offsets_become_naive_utc_with_a_format_or_day_first(tmp_path: Path) -> None:
    """Daylight saving changes the offset between rows: both the explicit format and the detected day-first order
    give the same naive UTC clock instead of pandas' mixed-time-zone error."""
    rows = [("13/01/2020 10:00+01:00", "2020-01-13 10:00+0100"), ("14/01/2020 10:00+02:00", "2020-01-14 10:00+0200")]
    expected = [pd.Timestamp("2020-01-13 09:00"), pd.Timestamp("2020-01-14 08:00")]
    day_first = write(tmp_path, "Date,Close\n" + "".join(f"{a},{i}\n" for i, (a, _) in enumerate(rows)), "a.csv")
    explicit = write(tmp_path, "Date,Close\n" + "".join(f"{b},{i}\n" for i, (_, b) in enumerate(rows)), "b.csv")
    assert list(load_csv(day_first).dates) == expected
    assert list(load_csv(explicit, date_format="%Y-%m-%d %H:%M%z").dates) == expected
