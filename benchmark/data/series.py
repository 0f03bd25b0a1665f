"""Loading a price/value series from a CSV file (its target and any extra columns asked for), with one-line
errors for every bad input.

The loader reads the file with the standard ``csv`` module (not ``pandas.read_csv``) so that every
problem can be reported with a line number and no parser exception ever escapes as anything but
``DataError``.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import NoReturn

import numpy as np
import pandas as pd

from benchmark.data import covariates
from benchmark.errors import BenchmarkError

# Plain decimal numbers only: no thousands separators, underscores, hex or non-ASCII digits.
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
_INFINITY = re.compile(r"[+-]?inf(?:inity)?", re.IGNORECASE)
# Cells that mean "no value" (compared after stripping and lower-casing); "." is FRED's marker.
MISSING_MARKERS = frozenset({"", "na", "n/a", "nan", "null", "none", "#n/a", ".", "-"})
# Larger magnitudes overflow or lose all precision in float32 training.
MAX_MAGNITUDE = 1e15
DATE_COLUMN_NAMES = ("date", "time", "timestamp", "datetime")
FILL_METHODS = ("ffill",)
# A date must contain a 4-digit year; this rejects "now", "today", "12:30", "March", which pandas
# would otherwise turn into dates that depend on the day the benchmark runs.
_YEAR = re.compile(r"\d{4}", re.ASCII)
_MAX_SHOWN = 40
_MAX_COLUMNS_SHOWN = 20


class DataError(BenchmarkError):
    """A data file that cannot be used; the message is one line starting with the file path."""


@dataclass(frozen=True, eq=False)
class Series:
    """One named series: sorted unique naive dates, finite float64 target values, optional extra columns (name ->
    finite float64 values on the same dates, e.g. high, low, volume) and where they came from."""

    name: str
    dates: pd.DatetimeIndex
    values: np.ndarray
    target: str
    source: str
    checksum: str
    columns: Mapping[str, np.ndarray] = field(default_factory=dict)  # extra columns, in the order asked for

    def __post_init__(self) -> None:
        """Enforce the invariants every consumer relies on and freeze the values array."""
        values = np.array(self.values, dtype=np.float64)
        if values.ndim != 1 or len(values) == 0:
            raise ValueError(f"Series {self.name!r}: values must be non-empty and 1-D, got {values.shape}")
        if not np.isfinite(values).all():
            raise ValueError(f"Series {self.name!r}: values must all be finite")
        if not isinstance(self.dates, pd.DatetimeIndex) or len(self.dates) != len(values):
            raise ValueError(f"Series {self.name!r}: dates must be a DatetimeIndex as long as the values")
        if self.dates.tz is not None or self.dates.hasnans:
            raise ValueError(f"Series {self.name!r}: dates must be timezone-naive and not NaT")
        if not (self.dates.is_monotonic_increasing and self.dates.is_unique):
            raise ValueError(f"Series {self.name!r}: dates must be sorted ascending and unique")
        values.flags.writeable = False
        object.__setattr__(self, "values", values)
        columns = {}
        for column, raw in dict(self.columns).items():
            array = np.array(raw, dtype=np.float64)
            if array.shape != values.shape or not np.isfinite(array).all():
                raise ValueError(f"Series {self.name!r}: column {column!r} must be finite and as long as the values")
            array.flags.writeable = False
            columns[column] = array
        object.__setattr__(self, "columns", MappingProxyType(columns))

    def __len__(self) -> int:
        return len(self.values)

    def describe(self) -> dict[str, object]:
        """Provenance summary for logs and experiment tracking."""
        return {
            "name": self.name,
            "length": len(self),
            "start": _iso(self.dates[0]),
            "end": _iso(self.dates[-1]),
            "source": self.source,
            "checksum": self.checksum,
        }

    @classmethod
    def from_array(
        cls,
        name: str,
        values: Sequence[float] | np.ndarray,
        dates: pd.DatetimeIndex | None = None,
        source: str = "generated",
        target: str = "value",
    ) -> Series:
        """Wrap generated values: dates default to daily from 2000-01-01; checksum hashes float64 bytes."""
        array = np.ascontiguousarray(values, dtype=np.float64)
        if dates is None:
            dates = pd.date_range("2000-01-01", periods=len(array), freq="D")
        checksum = hashlib.sha256(array.tobytes()).hexdigest()
        return cls(
            name=name,
            dates=pd.DatetimeIndex(dates),
            values=array,
            target=target,
            source=source,
            checksum=checksum,
        )


@dataclass(frozen=True)
class _Table:
    """The CSV's header and non-blank data rows, with each row's (last) physical line number."""

    header: list[str]
    rows: list[list[str]]
    lines: list[int]


def load_csv(
    path: str | Path,
    target: str | None = None,
    date_column: str | None = None,
    fill: str | None = None,
    name: str | None = None,
    date_format: str | None = None,
    columns: Sequence[str] = (),
) -> Series:
    """Load one value column of a dated CSV as a sorted ``Series``; any problem raises ``DataError``.

    ``columns`` names extra numeric columns to carry beside the target (read, checked and filled like it).

    ``target`` picks the value column (default: "Close"-like), ``date_column`` the dates (default:
    Date/Time/Timestamp/Datetime), ``fill="ffill"`` carries the previous value into missing cells,
    ``date_format`` (strptime, e.g. "%d/%m/%Y") parses the dates exactly. Without it, day/month orders are never
    guessed: numeric dates whose order the whole column does not settle are refused. Semicolon- and
    tab-separated files are recognised; with them a decimal comma is read as a decimal point.
    """
    label = str(path)
    if not label.strip():
        raise DataError("--data is empty: give the path of a CSV file")
    if date_format is not None:
        _check_date_format(label, date_format)
    if fill is not None and fill not in FILL_METHODS:
        _fail(label, f"unknown fill method {_show(str(fill))}; use --fill ffill or leave it out")
    data = _read_bytes(label, Path(path))
    text = _decode(label, data)
    delimiter = _sniff_delimiter(text)
    table = _parse_table(label, text, delimiter)
    value_index = _pick_value_column(label, table.header, target)
    date_index = _pick_date_column(label, table.header, date_column)
    if value_index == date_index:
        _fail(label, f"column {_show(table.header[value_index])} cannot be both the dates and the target")
    value_name = table.header[value_index].strip()
    date_name = table.header[date_index].strip()
    value_cells = [row[value_index] for row in table.rows]
    if delimiter in DECIMAL_COMMA_DELIMITERS:  # "1.234,5" in a semicolon file is 1234.5 (its convention)
        value_cells = _decimal_commas(label, value_name, value_cells, table.lines)
    values = _parse_values(label, value_name, value_cells, table.lines)
    extra, names = {}, {}
    try:
        requested = covariates.expand(columns, table.header, (value_index, date_index))
    except ValueError as exc:
        _fail(label, f"{exc} (--covariates)")
    for wanted in covariates.needed(requested):
        index = _named_column(label, table.header, wanted, "--covariates")
        if index in (value_index, date_index):
            _fail(label, f"column {_show(wanted)} (--covariates) is the {'target' if index == value_index else 'date'}")
        cells = [row[index] for row in table.rows]
        if delimiter in DECIMAL_COMMA_DELIMITERS:
            cells = _decimal_commas(label, table.header[index].strip(), cells, table.lines)
        names[wanted] = table.header[index].strip()
        extra[names[wanted]] = _parse_values(label, names[wanted], cells, table.lines)
    dates = _parse_dates(label, date_name, [row[date_index] for row in table.rows], table.lines, date_format)
    _check_duplicates(label, dates, table.lines)
    order = np.argsort(dates.asi8, kind="stable")
    dates, values, lines = dates[order], values[order], [table.lines[i] for i in order]
    values = _fill_missing(label, value_name, values, dates, lines, fill)
    extra = {column: _fill_missing(label, column, cells[order], dates, lines, fill) for column, cells in extra.items()}
    try:
        extra = covariates.prepare(requested, extra, values, names.__getitem__)
    except ValueError as exc:
        _fail(label, f"{exc} (--covariates)")
    return Series(
        name=name if name is not None else Path(path).stem,
        dates=dates,
        values=values,
        target=value_name,
        source=label,
        checksum=hashlib.sha256(data).hexdigest(),
        columns=extra,
    )


def _read_bytes(label: str, path: Path) -> bytes:
    """Read the whole file, turning OS problems into one-line errors."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        _fail(label, "file not found")
    except IsADirectoryError:
        _fail(label, "is a directory, not a CSV file")
    except OSError as exc:
        _fail(label, f"cannot read file ({exc.strerror or type(exc).__name__})")
    except ValueError:  # e.g. a NUL character in the path
        _fail(label, "is not a valid file path")
    if not data.strip():
        _fail(label, "file is empty")
    return data


def _decode(label: str, data: bytes) -> str:
    """Decode as UTF-8 (a BOM is fine); anything else is refused rather than guessed."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        _fail(label, "file looks UTF-16 encoded; save it as UTF-8")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        _fail(
            label,
            f"not UTF-8 text (invalid byte 0x{data[exc.start]:02x} at offset {exc.start}); save it as UTF-8",
        )
    if "\x00" in text:
        _fail(label, "contains NUL bytes; is it a binary file rather than a CSV?")
    return text


def _sniff_delimiter(text: str) -> str:
    """"," unless the header line has no comma but a semicolon or a tab (European spreadsheet exports)."""
    header = next((line for line in text.splitlines() if line.strip()), "")
    if "," in header:
        return ","
    for candidate in (";", "\t"):
        if candidate in header:
            return candidate
    return ","


DECIMAL_COMMA_DELIMITERS = (";",)  # the separator of files that write decimals with commas (tabs: a comma is ambiguous)


def _decimal_commas(label: str, column: str, cells: list[str], lines: list[int]) -> list[str]:
    """A column's cells with decimal commas read as decimal points, never guessing: once any cell of the column
    writes a decimal comma, a cell with a dot and no comma ("5.334": 5334 with a thousands dot, or 5.334?) is
    refused naming its line; a column without commas keeps its dots as decimal points."""
    if not any("," in cell for cell in cells):
        return cells
    for i, cell in enumerate(cells):
        text = cell.strip()
        if "." in text and "," not in text and re.fullmatch(r"[+-]?[\d.]+", text):
            _fail(label, f"ambiguous number {_show(text)} in {_show(column)} on line {lines[i]}: the column writes "
                         "decimals with commas, so a dot could be a thousands separator or a decimal point; write "
                         f"{_show(text.replace('.', ''))} or {_show(text.replace('.', ','))}")
    return [_decimal_comma(cell) for cell in cells]


def _decimal_comma(cell: str) -> str:
    """"1.234,56" -> "1234.56" and "12,5" -> "12.5"; anything else unchanged."""
    text = cell.strip()
    if re.fullmatch(r"[+-]?\d{1,3}(\.\d{3})+,\d+|[+-]?\d+,\d+", text):
        return text.replace(".", "").replace(",", ".")
    return cell


def _parse_table(label: str, text: str, delimiter: str = ",") -> _Table:
    """Split delimited text into header and rows, skipping blank lines; ragged rows are errors."""
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header: list[str] | None = None
    rows: list[list[str]] = []
    lines: list[int] = []
    try:
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            if header is None:
                header = row
            elif len(row) != len(header):
                _fail(label, f"line {reader.line_num} has {len(row)} fields but the header has {len(header)}")
            else:
                rows.append(row)
                lines.append(reader.line_num)
    except csv.Error as exc:
        _fail(label, f"cannot parse as CSV near line {reader.line_num} ({_show(str(exc))})")
    if header is None:
        _fail(label, "file is empty")
    if not rows:
        _fail(label, "has a header but no data rows")
    return _Table(header=header, rows=rows, lines=lines)


def _normalise(column: str) -> str:
    """Lower-case, drop parenthesised units and squeeze spaces: "Close (USD)" -> "close"."""
    without_units = re.sub(r"\([^)]*\)", " ", column)
    return " ".join(without_units.lower().split())


def _pick_value_column(label: str, header: list[str], target: str | None) -> int:
    """Index of ``target``, else of the one "close" column, else of the one column starting "clos"."""
    if target is not None:
        return _named_column(label, header, target, "--target")
    normalised = [_normalise(column) for column in header]
    for matches in (
        [i for i, column in enumerate(normalised) if column == "close"],
        [i for i, column in enumerate(normalised) if column.startswith("clos")],
    ):
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            _fail(
                label,
                f"several candidate value columns ({_columns([header[i] for i in matches])}); "
                "choose one with --target",
            )
    _fail(label, f"no value column found (columns: {_columns(header)}); choose one with --target")


def _pick_date_column(label: str, header: list[str], date_column: str | None) -> int:
    """Index of ``date_column``, else of the one column named date/time/timestamp/datetime."""
    if date_column is not None:
        return _named_column(label, header, date_column, "--date-column")
    matches = [i for i, column in enumerate(header) if _normalise(column) in DATE_COLUMN_NAMES]
    if len(matches) == 1:
        return matches[0]
    if matches:
        _fail(
            label,
            f"several candidate date columns ({_columns([header[i] for i in matches])}); "
            "choose one with --date-column",
        )
    _fail(label, f"no date column found (columns: {_columns(header)}); use --date-column")


def _named_column(label: str, header: list[str], wanted: str, flag: str) -> int:
    """Index of the column the user named: exact match first, then a unique case-insensitive one."""
    for key in (str.strip, lambda text: text.strip().lower()):
        matches = [i for i, column in enumerate(header) if key(column) == key(wanted)]
        if len(matches) == 1:
            return matches[0]
        if len(matches) > 1:
            _fail(label, f"column {_show(wanted)} ({flag}) appears {len(matches)} times in the header")
    _fail(label, f"column {_show(wanted)} ({flag}) not found (columns: {_columns(header)})")


def _parse_values(label: str, column: str, cells: list[str], lines: list[int]) -> np.ndarray:
    """Parse plain decimal numbers (NaN for missing markers); refuse text, infinities and huge values."""
    values = np.full(len(cells), np.nan)
    bad: list[int] = []
    for i, cell in enumerate(cells):
        text = cell.strip()
        if text.lower() in MISSING_MARKERS:
            continue
        if _NUMBER.fullmatch(text) or _INFINITY.fullmatch(text):
            values[i] = float(text)
        else:
            bad.append(i)
    if bad:
        hint = "; thousands separators are not accepted" if "," in cells[bad[0]] else ""
        _fail(
            label,
            f"non-numeric values in {_show(column)} on {_count(len(bad), 'row')} "
            f"(first: line {lines[bad[0]]}, {_show(cells[bad[0]])}){hint}",
        )
    _refuse(label, column, cells, lines, np.isinf(values), "infinite values", "remove or replace them")
    with np.errstate(invalid="ignore"):
        huge = np.isfinite(values) & (np.abs(values) > MAX_MAGNITUDE)
    _refuse(
        label,
        column,
        cells,
        lines,
        huge,
        f"values above {MAX_MAGNITUDE:.0e} in magnitude",
        "they break float32 training; rescale the data",
    )
    return values


def _refuse(
    label: str, column: str, cells: list[str], lines: list[int], mask: np.ndarray, what: str, advice: str
) -> None:
    """Fail if any cell is flagged by ``mask``, naming the count and the first offender."""
    if mask.any():
        first = int(np.argmax(mask))
        _fail(
            label,
            f"{what} in {_show(column)} on {_count(int(mask.sum()), 'row')} "
            f"(first: line {lines[first]}, {_show(cells[first])}); {advice}",
        )


_NUMERIC_DATE = re.compile(r"\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})(?:[ T].*)?\s*")


def _day_month_format(label: str, column: str, cells: list[str]) -> str | None:
    """For numeric dates like 03/04/2020, the order the whole column proves (a first field above 12 means
    day-first, a second field above 12 month-first); None for other formats. Never a guess: a column where both
    orders fit, or neither, is refused."""
    matches = [_NUMERIC_DATE.fullmatch(cell) for cell in cells]
    if not matches or not all(matches):
        return None
    first = max(int(m.group(1)) for m in matches)
    second = max(int(m.group(2)) for m in matches)
    separator = cells[0].strip()[len(matches[0].group(1))]
    if first > 12 and second > 12:
        _fail(label, f"dates in {_show(column)} are neither day-first nor month-first throughout; give "
                     "--date-format")
    if first > 12:
        return f"%d{separator}%m{separator}%Y"
    if second > 12:
        return f"%m{separator}%d{separator}%Y"
    _fail(label, f"ambiguous dates in {_show(column)}: day and month are both 12 or less in every row (e.g. "
                 f"{_show(cells[0].strip())}); give --date-format %d{separator}%m{separator}%Y or "
                 f"%m{separator}%d{separator}%Y")


def _check_date_format(label: str, date_format: str) -> None:
    """A strptime format with at least one directive that round-trips a date; pandas' own keywords ("mixed",
    "ISO8601") guess the order per cell, which is what the ambiguity check exists to stop."""
    import datetime

    try:
        sample = datetime.datetime(2021, 3, 14, 15, 9, 26, tzinfo=datetime.UTC)
        ok = "%" in date_format and datetime.datetime.strptime(sample.strftime(date_format), date_format) is not None
    except (ValueError, TypeError):
        ok = False
    if not ok:
        _fail(label, f"--date-format {_show(date_format)} is not a strptime format such as '%d/%m/%Y' (leave it out to "
                     "detect the format; day/month orders are then never guessed)")


def _parse_dates(label: str, column: str, cells: list[str], lines: list[int],
                 date_format: str | None = None) -> pd.DatetimeIndex:
    """Parse the dates (aware ones become naive UTC); every cell must be a dated timestamp."""
    detected = None if date_format else _day_month_format(label, column, cells)
    date_format = date_format or detected
    if date_format is not None:
        stripped = [cell.strip() for cell in cells]
        # utc=True: offsets that differ between rows (daylight saving) become one naive UTC clock, as elsewhere
        parsed = pd.DatetimeIndex(pd.to_datetime(pd.Index(stripped, dtype=object), format=date_format,
                                                 errors="coerce", utc=True)).tz_convert(None)
        if detected and len(stripped) and " " in stripped[0]:  # a detected order, with times after the dates
            parsed = pd.DatetimeIndex(pd.to_datetime(pd.Index(stripped, dtype=object), errors="coerce", utc=True,
                                                     format="mixed", dayfirst=date_format.startswith("%d"))
                                      ).tz_convert(None)
        bad = [i for i in range(len(cells)) if pd.isna(parsed[i])]
        if bad:
            _fail(label, f"dates in {_show(column)} do not match the format {_show(date_format)} on "
                         f"{_count(len(bad), 'row')} (first: line {lines[bad[0]]}, {_show(cells[bad[0]])})")
        return parsed
    parsed = _to_datetimes([cell.strip() for cell in cells])
    bad = [i for i, cell in enumerate(cells)  # a year before 1 ("-1000") parses, then breaks every date method
           if pd.isna(parsed[i]) or not _YEAR.search(cell) or parsed[i].year < 1]
    if bad:
        _fail(
            label,
            f"unparseable dates in {_show(column)} on {_count(len(bad), 'row')} "
            f"(first: line {lines[bad[0]]}, {_show(cells[bad[0]])})",
        )
    return pd.DatetimeIndex(parsed)


def _to_datetimes(cells: list[str]) -> pd.DatetimeIndex:
    """Vectorised parse with NaT for failures; falls back to cell-by-cell if pandas raises anyway."""
    try:
        return _parse_utc(cells)
    except (ValueError, TypeError, OverflowError):
        return pd.DatetimeIndex([_parse_one(cell) for cell in cells])


def _parse_utc(cells: list[str]) -> pd.DatetimeIndex:
    """``pd.to_datetime`` in mixed format, converted to naive UTC."""
    parsed = pd.to_datetime(pd.Index(cells, dtype=object), format="mixed", utc=True, errors="coerce")
    return pd.DatetimeIndex(parsed).tz_convert(None)


def _parse_one(cell: str) -> pd.Timestamp:
    """Parse a single cell, NaT if pandas cannot."""
    try:
        return _parse_utc([cell])[0]
    except (ValueError, TypeError, OverflowError):
        return pd.NaT


def _check_duplicates(label: str, dates: pd.DatetimeIndex, lines: list[int]) -> None:
    """Refuse repeated dates, naming how many rows repeat one and the first such row."""
    repeated = dates.duplicated(keep="first")
    if repeated.any():
        first = int(np.argmax(repeated))
        _fail(
            label,
            f"duplicate dates on {_count(int(repeated.sum()), 'row')} (first: {_iso(dates[first])} "
            f"on line {lines[first]}); each date must appear once",
        )


def _fill_missing(
    label: str, column: str, values: np.ndarray, dates: pd.DatetimeIndex, lines: list[int], fill: str | None
) -> np.ndarray:
    """Refuse missing values, or forward-fill them when asked (leading gaps cannot be filled)."""
    missing = np.isnan(values)
    if not missing.any():
        return values
    first = int(np.argmax(missing))
    if fill is None:
        _fail(
            label,
            f"missing values in {_show(column)} on {_count(int(missing.sum()), 'row')} "
            f"(first: line {lines[first]}, {_iso(dates[first])}); "
            "use --fill ffill to carry the previous value forward",
        )
    if first == 0:
        leading = int(np.argmin(missing)) if not missing.all() else len(values)
        _fail(
            label,
            f"{_show(column)} starts with {_count(leading, 'missing value')} "
            f"(from {_iso(dates[0])}); --fill ffill has no earlier value to carry forward",
        )
    return pd.Series(values).ffill().to_numpy(dtype=np.float64)


def _iso(timestamp: pd.Timestamp) -> str:
    """ISO date, with the time only when it is not midnight."""
    if timestamp == timestamp.normalize():
        return timestamp.date().isoformat()
    return timestamp.isoformat()


def _count(number: int, noun: str) -> str:
    """Count with an English plural: "1 row", "3 rows"."""
    return f"{number} {noun}" if number == 1 else f"{number} {noun}s"


def _show(text: str) -> str:
    """Quote user-supplied text for a message: escaped control characters, truncated, always one line."""
    return repr(text[:_MAX_SHOWN] + ("..." if len(text) > _MAX_SHOWN else ""))


def _columns(header: list[str]) -> str:
    """The header as a short comma-separated list for messages."""
    names = [_show(column.strip())[1:-1] for column in header[:_MAX_COLUMNS_SHOWN]]
    if len(header) > _MAX_COLUMNS_SHOWN:
        names.append(f"... (+{len(header) - _MAX_COLUMNS_SHOWN} more)")
    return ", ".join(names) + _separator_hint(header)


def _separator_hint(header: list[str]) -> str:
    """A nudge when a one-column header looks semicolon- or tab-separated."""
    if len(header) == 1 and (";" in header[0] or "\t" in header[0]):
        return "; the file must be comma-separated"
    return ""


def _fail(label: str, problem: str) -> NoReturn:
    """Raise the one-line ``DataError`` for ``label``."""
    message = f"{label}: {problem}"
    raise DataError(" ".join(message.splitlines()))
