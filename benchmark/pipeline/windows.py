"""The one data pipeline every model shares.

series -> chronological split (train | validation | test) -> scaler fitted on the training part -> windows
[n, lookback, channels] (channel 0 the target, then the series' extra columns, each scaled like the target) ->
arrays for the models; predictions come back through `Windows.inverse` to the original price scale.

Index conventions: a window's *origin* is the index of its first target. Its inputs are
`values[origin - lookback : origin]` and its targets `values[origin : origin + horizon]`. Training windows have
their targets in the training part, validation windows in the validation part, test windows in the test part;
inputs may reach back into the preceding part (that data is observed by then), targets never cross a boundary.
Test windows step by `horizon`, so every test observation is scored exactly once.

Multi-step strategies (`--strategy`): `direct` trains on windows whose targets are all `horizon` next values (the
model emits them at once); `recursive` trains on one-step windows and forecasts the test windows by feeding each
forecast back as the newest input (`recursive_forecast`). Test windows are the same for both.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from benchmark.data.series import Series
from benchmark.errors import BenchmarkError

SCALERS = ("minmax", "standard", "window")
STRATEGIES = ("direct", "recursive")
WINDOW_TYPES = ("expanding", "sliding")  # backtest folds: the training part grows, or keeps its length

# A window's scale never drops below this share of its level: flat windows (a price stuck for days) must not
# blow up to huge scaled values.
_WINDOW_SCALE_FLOOR = 1e-3


@dataclass(frozen=True)
class SplitBounds:
    """Where the validation and test targets start: train = [0, val_start), val = [val_start, test_start)."""

    val_start: int
    test_start: int
    length: int


def split_bounds(length: int, lookback: int, horizon: int, test_size: int, val_size: int) -> SplitBounds:
    """Chronological split sizes, checked so that every part has at least one window."""
    if lookback < 1 or horizon < 1:
        raise BenchmarkError(f"window ({lookback}) and horizon ({horizon}) must be at least 1")
    if test_size < horizon or test_size % horizon:
        raise BenchmarkError(
            f"test size {test_size} must be a positive multiple of the horizon {horizon} "
            "so that every test point is scored exactly once"
        )
    if val_size and val_size < horizon:
        raise BenchmarkError(f"validation size {val_size} is shorter than the horizon {horizon}")
    needed = lookback + horizon + val_size + test_size
    if length < needed:
        raise BenchmarkError(
            f"series too short: {length} points, but window {lookback} + horizon {horizon} + "
            f"validation {val_size} + test {test_size} need at least {needed}"
        )
    test_start = length - test_size
    return SplitBounds(val_start=test_start - val_size, test_start=test_start, length=length)


def window_origins(start: int, stop: int, lookback: int, horizon: int, stride: int = 1) -> np.ndarray:
    """Origins whose targets [origin, origin + horizon) lie in [start, stop) and whose inputs exist."""
    first = max(start, lookback)
    return np.arange(first, stop - horizon + 1, stride, dtype=np.int64)


def make_windows(values: np.ndarray, origins: np.ndarray, lookback: int, horizon: int) -> tuple[np.ndarray, ...]:
    """Inputs [n, lookback] and targets [n, horizon] for the given origins (copies only the chosen rows)."""
    view = sliding_window_view(values, lookback + horizon)  # [len - lookback - horizon + 1, lookback + horizon]
    rows = view[origins - lookback]
    return rows[:, :lookback].copy(), rows[:, lookback:].copy()


class Scaler:
    """Per-window affine scaling: scaled = (value - loc) / scale, with loc and scale per window.

    `minmax` and `standard` use one (loc, scale) fitted on the training values only; `window` takes each window's
    own statistics (its last value and its standard deviation), so no window depends on anything outside it and a
    trending series never asks a model to extrapolate beyond the training range.
    """

    def __init__(self, kind: str, loc: float = 0.0, scale: float = 1.0):
        self.kind, self.loc, self.scale = kind, loc, scale

    def window_stats(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """loc and scale for each window of raw inputs x [n, lookback] -> two arrays [n, 1]."""
        n = len(x)
        if self.kind != "window":
            return np.full((n, 1), self.loc), np.full((n, 1), self.scale)
        loc = x[:, -1:]
        spread = x.std(axis=1, keepdims=True)
        floor = np.maximum(_WINDOW_SCALE_FLOOR * np.abs(loc), 1e-12)
        return loc, np.maximum(spread, floor)


def fit_scaler(kind: str, train_values: np.ndarray) -> Scaler:
    """The scaler for `kind`, fitted on the training part only."""
    if kind == "minmax":
        low, high = float(train_values.min()), float(train_values.max())
        return Scaler(kind, low, (high - low) or 1.0)
    if kind == "standard":
        return Scaler(kind, float(train_values.mean()), float(train_values.std()) or 1.0)
    if kind == "window":
        return Scaler(kind)
    raise BenchmarkError(f"unknown scaler '{kind}' (known: {', '.join(SCALERS)})")


@dataclass(frozen=True)
class Windows:
    """One part's windows, raw and scaled, with what is needed to map predictions back to prices."""

    origins: np.ndarray  # [n] index of each window's first target
    x: np.ndarray  # [n, lookback] raw inputs
    y: np.ndarray  # [n, horizon] raw targets
    loc: np.ndarray  # [n, 1]
    scale: np.ndarray  # [n, 1]
    # [n, lookback, extra channels] the series' extra columns over the same input days, each already scaled by its
    # own scaler of the target's kind (fitted on its training rows, or per window); None without extra columns
    extra: np.ndarray | None = None

    def __len__(self) -> int:
        return len(self.origins)

    @property
    def channels(self) -> int:
        return 1 + (0 if self.extra is None else self.extra.shape[2])

    @property
    def inputs(self) -> np.ndarray:
        """Scaled inputs: [n, lookback] -> [n, lookback, channels], the target first (float64; Keras casts to
        float32 itself)."""
        target = ((self.x - self.loc) / self.scale)[..., None]  # [n, lookback, 1]
        return target if self.extra is None else np.concatenate([target, self.extra], axis=2)

    @property
    def targets(self) -> np.ndarray:
        """Scaled targets: [n, horizon] (float64)."""
        return (self.y - self.loc) / self.scale

    def inverse(self, scaled: np.ndarray) -> np.ndarray:
        """Scaled predictions [n, horizon] -> original price scale (float64)."""
        return np.asarray(scaled, dtype=np.float64).reshape(len(self), -1) * self.scale + self.loc


def _windows(values: np.ndarray, origins: np.ndarray, lookback: int, horizon: int, scaler: Scaler,
             extra: tuple[tuple[np.ndarray, Scaler], ...] = ()) -> Windows:
    """Windows of the target at `origins`, with each extra column's input windows scaled by its own scaler."""
    x, y = make_windows(values, origins, lookback, horizon)
    loc, scale = scaler.window_stats(x)
    channels = []
    for column, column_scaler in extra:
        inputs, _ = make_windows(column, origins, lookback, horizon)  # the same past days; targets unused
        column_loc, column_scale = column_scaler.window_stats(inputs)
        channels.append((inputs - column_loc) / column_scale)
    stacked = np.stack(channels, axis=2) if channels else None  # [n, lookback, extra channels]
    return Windows(origins, x, y, loc, scale, stacked)


@dataclass(frozen=True)
class Prepared:
    """Everything a trial needs from the data: windows of each part and facts for metrics and logs."""

    series: Series
    bounds: SplitBounds
    lookback: int
    horizon: int  # steps each test window forecasts
    scaler: Scaler
    train: Windows
    val: Windows | None
    test: Windows
    naive_mae_in_sample: float  # the MASE denominator: see `mase_scale`
    fit_horizon: int = 0  # targets per training/validation window: 1 for recursive, else the horizon (0: horizon)
    # What validation scores (the error sweeps and searches choose by): the validation windows themselves, or for
    # the recursive strategy the same origins with `horizon` targets, forecast the way the test is.
    val_forecast: Windows | None = None

    def __post_init__(self):
        if not self.fit_horizon:
            object.__setattr__(self, "fit_horizon", self.horizon)
        if self.val_forecast is None:
            object.__setattr__(self, "val_forecast", self.val)

    @property
    def recursive(self) -> bool:
        return self.fit_horizon != self.horizon

    @property
    def channels(self) -> int:
        """Input channels of every window: the target, then the series' extra columns."""
        return self.test.channels

    def split_dates(self) -> dict[str, str]:
        """First and last target date of each part (ISO), for logs and the leaderboard."""
        dates, b = self.series.dates, self.bounds
        parts = {"train": (self.lookback, b.val_start), "val": (b.val_start, b.test_start),
                 "test": (b.test_start, b.length)}
        out = {}
        for part, (lo, hi) in parts.items():
            if hi > lo:
                out[f"{part}_start"] = dates[lo].date().isoformat()
                out[f"{part}_end"] = dates[hi - 1].date().isoformat()
        return out


def prepare(series: Series, lookback: int, horizon: int, test_size: int, val_size: int, scaler: str,
            strategy: str = "direct") -> Prepared:
    """Split `series` by time, fit the scaler on the training part, and cut windows for every part (training and
    validation windows one step long for the recursive strategy)."""
    if strategy not in STRATEGIES:
        raise BenchmarkError(f"unknown strategy '{strategy}' (known: {', '.join(STRATEGIES)})")
    values = series.values
    bounds = split_bounds(len(values), lookback, horizon, test_size, val_size)  # leaves >= 1 training window
    fit_horizon = 1 if strategy == "recursive" else horizon
    if series.columns and fit_horizon != horizon:
        raise BenchmarkError("extra input columns need the direct strategy: a recursive forecast would need the "
                             "columns' future values")
    train_values = values[: bounds.val_start]
    fitted = fit_scaler(scaler, train_values)
    # Each extra column gets its own scaler of the same kind, fitted on its own training rows only.
    extra = tuple((column, fit_scaler(scaler, column[: bounds.val_start])) for column in series.columns.values())
    train = _windows(values, window_origins(0, bounds.val_start, lookback, fit_horizon), lookback, fit_horizon,
                     fitted, extra)
    val = val_forecast = None
    if bounds.test_start > bounds.val_start:
        origins = window_origins(bounds.val_start, bounds.test_start, lookback, fit_horizon)
        val = _windows(values, origins, lookback, fit_horizon, fitted, extra)
        if fit_horizon != horizon:
            origins = window_origins(bounds.val_start, bounds.test_start, lookback, horizon)
            val_forecast = _windows(values, origins, lookback, horizon, fitted) if len(origins) else None
    test_origins = window_origins(bounds.test_start, bounds.length, lookback, horizon, stride=horizon)
    test = _windows(values, test_origins, lookback, horizon, fitted, extra)
    scale = mase_scale(values[: bounds.test_start], test_size)
    return Prepared(series, bounds, lookback, horizon, fitted, train, val, test, scale, fit_horizon, val_forecast)


def recursive_forecast(predict, windows: Windows, scaler: Scaler, horizon: int) -> np.ndarray:
    """`horizon` steps from each window by feeding forecasts back: `predict` maps scaled inputs [n, lookback, 1]
    to scaled one-step forecasts [n, 1]. Each step rescales its window by the scaler (a per-window scaler takes the
    new window's own level and spread, as in training). Returns forecasts on the price scale [n, horizon]."""
    x = windows.x.astype(np.float64)
    out = np.empty((len(x), horizon))
    for step in range(horizon):
        loc, scale = scaler.window_stats(x)
        scaled = np.asarray(predict(((x - loc) / scale)[..., None]), dtype=np.float64).reshape(len(x), -1)[:, :1]
        out[:, step] = (scaled * scale + loc)[:, 0]
        x = np.concatenate([x[:, 1:], out[:, step:step + 1]], axis=1)
    return out


def mase_scale(observed: np.ndarray, stretch: int) -> float:
    """MASE's denominator: the one-step naive MAE of the last `stretch` steps (the test size) observed before the
    test period (training and validation values, never a test value).

    Hyndman & Koehler scale by the whole training part, which misleads on a long trending price series: msft's
    1986 prices are 100x below its test period's, so persistence itself scored MASE 1.99 there. The most recent
    stretch has about the test period's level, so persistence scores about 1 (tested on a 100x trend).
    """
    recent = observed[-(stretch + 1):]
    return float(np.mean(np.abs(np.diff(recent)))) if len(recent) > 1 else float("nan")


def _slice(series: Series, start: int, stop: int) -> Series:
    """The points [start, stop) of a series, same name and checksum (the checksum names the source data)."""
    return dataclasses.replace(series, dates=series.dates[start:stop], values=series.values[start:stop],
                               columns={name: column[start:stop] for name, column in series.columns.items()})


def prepare_folds(series: Series, lookback: int, horizon: int, test_size: int, val_size: int, scaler: str,
                  folds: int = 1, step: int | None = None, window_type: str = "expanding",
                  strategy: str = "direct") -> list[Prepared]:
    """Rolling-origin folds, oldest first; fold k's test period ends (folds - 1 - k) * step points before the end.

    Each fold is prepared on its own slice of the series, so its scaler is fitted on its own training part and
    nothing after its test period exists for it. `sliding` keeps every fold's length equal to the first fold's.
    """
    step = step or test_size
    n = len(series)
    first_end = n - (folds - 1) * step
    if first_end <= 0:
        raise BenchmarkError(f"series too short: {n} points cannot hold {folds} folds {step} points apart")
    out = []
    for k in range(folds):
        end = first_end + k * step
        start = end - first_end if window_type == "sliding" else 0
        out.append(prepare(_slice(series, start, end), lookback, horizon, test_size, val_size, scaler, strategy))
    return out
