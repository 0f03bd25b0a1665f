"""The forecast table: the one interface between models and evaluation.

One row per scored test point. Every trial's forecasts become this table (`forecast_table`); metrics, comparison
tables, tests, figures and the stored `predictions` artifact read it by column name, never by position:

| column          | meaning                                                                          |
|-----------------|----------------------------------------------------------------------------------|
| `series`        | the series' name (a dataset, or the CSV's stem)                                  |
| `fold`          | the backtest fold (0 for a holdout)                                              |
| `origin`        | the date of the last observed value the forecast was made from                   |
| `date`          | the target date                                                                  |
| `step`          | the lead time, 1..horizon                                                        |
| `actual`        | the observed value, original price scale                                         |
| `predicted`     | the point forecast, original price scale                                         |
| `last_observed` | the value at the origin (what persistence forecasts; directional accuracy)       |
| `mase_scale`    | MASE's denominator for that fold                                                 |
| `q0.05`, ...    | quantile forecasts at the run's declared `--quantiles` levels (optional)         |

Stores written before `series` and `origin` existed keep loading: `conform` fills `series` from the run's dataset
and leaves `origin` out (nothing scores it).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.pipeline.windows import Prepared

KEY = ["fold", "date", "step"]  # identifies a scored point within one series: time order within each fold
COLUMNS = ["series", "fold", "origin", "date", "step", "actual", "predicted", "last_observed", "mase_scale"]
QUANTILE_PREFIX = "q"


def quantile_column(level: float) -> str:
    """0.05 -> 'q0.05' (the shortest text that reads back as the same float)."""
    return f"{QUANTILE_PREFIX}{level!r}"


def quantile_levels(frame: pd.DataFrame) -> tuple[float, ...]:
    """The levels of a table's quantile columns, ascending."""
    levels = []
    for column in frame.columns:
        if column.startswith(QUANTILE_PREFIX):
            try:
                levels.append(float(column[len(QUANTILE_PREFIX):]))
            except ValueError:
                continue
    return tuple(sorted(levels))


def _date_text(when: pd.DatetimeIndex, daily: bool) -> pd.Index:
    return when.strftime("%Y-%m-%d" if daily else "%Y-%m-%dT%H:%M:%S")


def forecast_table(prepared: Prepared, predicted: np.ndarray, fold: int = 0, quantiles: np.ndarray | None = None,
                   levels: tuple[float, ...] = ()) -> pd.DataFrame:
    """The scored test points of one fold: `predicted` [n_windows, horizon] and `quantiles`
    [n_windows, horizon, levels] are on the original price scale."""
    test, dates = prepared.test, prepared.series.dates
    horizon = prepared.horizon
    rows = np.repeat(np.arange(len(test)), horizon)
    steps = np.tile(np.arange(1, horizon + 1), len(test))
    target_index = test.origins[rows] + steps - 1
    when, origin = dates[target_index], dates[test.origins[rows] - 1]
    daily = bool((when == when.normalize()).all() and (origin == origin.normalize()).all())
    table = pd.DataFrame({
        "series": prepared.series.name,
        "fold": fold,
        "origin": _date_text(origin, daily),
        "date": _date_text(when, daily),
        "step": steps,
        "actual": test.y.reshape(-1),
        "predicted": np.asarray(predicted).reshape(-1),
        "last_observed": test.x[rows, -1],
        "mase_scale": prepared.naive_mae_in_sample,
    })
    if quantiles is not None:
        quantiles = np.asarray(quantiles, dtype=np.float64).reshape(len(test) * horizon, len(levels))
        for k, level in enumerate(levels):
            table[quantile_column(level)] = quantiles[:, k]
    return table


def conform(frame: pd.DataFrame, series: str) -> pd.DataFrame:
    """A stored predictions table in today's column order (older stores: `series` filled in)."""
    if "series" not in frame.columns:
        frame = frame.assign(series=series)
    first = [c for c in COLUMNS if c in frame.columns]
    return frame[first + [c for c in frame.columns if c not in first]]
