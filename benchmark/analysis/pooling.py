"""Pooling evidence where one series cannot decide: each row's skill against persistence over the series of a
panel, with an interval that allows for the dependence between series tested on common dates.

Series differ in scale, so the pooled skill is 1 − the geometric mean over series of each series' loss ratio
mean(L_row) / mean(L_persistence) (the aggregation fev and GIFT-Eval use for relative errors). Its interval comes
from a stationary block bootstrap over the union of the series' test dates: one resampled calendar serves every
series at once, so a shock that hits two markets on the same day stays paired across them (S&P 500 and NASDAQ
daily changes correlate at about 0.96), and a date a series lacks contributes nothing to that series. As in
`benchmark.analysis.magnitude.skill_interval`, the interval is the bootstrap's standard error (of the log ratio)
times a Student t quantile on dates / block − 1 degrees of freedom; the mean block length is the longest the
Politis–White rule (at least n^(1/3)) gives for any series.

Backtest folds need no pooling of their own: a backtest's table already scores every fold's test points in one
series of days, so its skill interval is the pooled one.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats as _sps

from benchmark.analysis.magnitude import block_length, on_metric_scale, stationary_indices

REPLICATIONS = 2000
SEED = 20261201


@dataclass(frozen=True)
class PooledSkill:
    """A row's skill pooled over series, with its interval at `level`."""

    skill: float
    low: float
    high: float
    series: int  # how many series the row was scored on
    dates: int  # distinct test dates in the union
    block: float  # mean block length of the bootstrap (dates)
    level: float = 0.95


def pooled_skill(panel: Mapping[str, pd.DataFrame], level: float = 0.95, replications: int = REPLICATIONS,
                 seed: int = SEED) -> PooledSkill:
    """`panel`: series -> a frame with `date`, `row` (the row's loss) and `reference` (persistence's loss) per test
    point (several points may share a date: lead times, folds). Series without a finite positive reference loss
    are left out (skill is undefined there); NaN when none is left."""
    usable = {name: frame for name, frame in panel.items()
              if len(frame) and float(frame["reference"].mean()) > 0
              and bool(np.isfinite(frame[["row", "reference"]].to_numpy(dtype=float)).all())}
    if not usable:
        return PooledSkill(math.nan, math.nan, math.nan, 0, 0, math.nan, level)
    dates = pd.Index(sorted(set().union(*(set(f["date"]) for f in usable.values()))))
    # [series, dates]: each series' summed losses and point counts on each calendar date (0 where it has none)
    sums = {}
    for column in ("row", "reference"):
        sums[column] = np.stack([frame.groupby("date")[column].sum().reindex(dates, fill_value=0.0).to_numpy()
                                 for frame in usable.values()])
    log_ratio = float(np.mean(np.log(sums["row"].sum(axis=1) / sums["reference"].sum(axis=1))))
    # the block is in calendar dates, as resampled: each series' differences summed per date it has
    present = np.stack([frame.groupby("date").size().reindex(dates, fill_value=0).to_numpy() > 0
                        for frame in usable.values()])
    block = max(block_length((sums["row"][i] - sums["reference"][i])[present[i]]) for i in range(len(usable)))
    block = max(block, len(dates) ** (1 / 3))
    index = stationary_indices(len(dates), block, replications, np.random.default_rng(seed))  # [reps, dates]
    row_draws = sums["row"][:, index].sum(axis=2)  # [series, reps]
    reference_draws = sums["reference"][:, index].sum(axis=2)
    with np.errstate(divide="ignore", invalid="ignore"):
        draws = np.mean(np.log(row_draws / reference_draws), axis=0)
    draws = draws[np.isfinite(draws)]  # a draw that missed one series' every date says nothing about it
    tail = (1 - level) / 2
    spread = float(_sps.t.ppf(1 - tail, max(1.0, len(dates) / block - 1))) * float(np.std(draws, ddof=1))
    return PooledSkill(1 - math.exp(log_ratio), 1 - math.exp(log_ratio + spread), 1 - math.exp(log_ratio - spread),
                       len(usable), len(dates), float(block), level)


def pooled_table(panels: Mapping[str, Mapping[str, pd.DataFrame]], metric: str = "mae",
                 level: float = 0.95) -> pd.DataFrame:
    """One row per model: its pooled skill over every series it was scored on (`panels`: row -> series -> frame
    of the headline metric's loss), on the metric's scale (for RMSE, 1 − √(1 − loss skill))."""
    rows = []
    for name, panel in panels.items():
        pooled = pooled_skill(panel, level)
        rows.append({"model": name, **{k: on_metric_scale(v, metric) for k, v in (
                         ("pooled_skill", pooled.skill), ("pooled_low", pooled.low), ("pooled_high", pooled.high))},
                     "series": pooled.series, "dates": pooled.dates, "block_dates": pooled.block})
    return pd.DataFrame(rows).sort_values("pooled_skill", ascending=False, kind="stable").reset_index(drop=True)
