"""Pooling across series (benchmark.analysis.pooling): the pooled skill against a hand computation, and its
common-dates interval's coverage measured on correlated series of known skill."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.analysis.pooling import pooled_skill, pooled_table

DATES = pd.date_range("2022-01-03", periods=200, freq="B").strftime("%Y-%m-%d")


def panel_draw(rng: np.random.Generator, skill: float, series: int = 3, n: int = 200, rho: float = 0.9,
               phi: float = 0.3) -> dict[str, pd.DataFrame]:
    """Series whose daily losses share a common AR(1) shock (correlation `rho` across series on the same date);
    each row's expected loss is (1 - skill) times persistence's on every series, at different scales."""
    common = np.empty(n)
    common[0] = rng.normal()
    for t in range(1, n):
        common[t] = phi * common[t - 1] + math.sqrt(1 - phi**2) * rng.normal()
    out = {}
    for s in range(series):
        shock = math.sqrt(rho) * common + math.sqrt(1 - rho) * rng.normal(size=n)
        scale = 10.0 ** s
        reference = scale * np.exp(0.5 * shock)  # positive, heavy-ish right tail, correlated across series
        row = (1 - skill) * reference * np.exp(0.3 * rng.normal(size=n) - 0.045)  # E[exp(0.3 Z - 0.045)] = 1
        out[f"s{s}"] = pd.DataFrame({"date": DATES[:n], "row": row, "reference": reference})
    return out


def test_the_pooled_skill_is_one_minus_the_geometric_mean_of_the_loss_ratios():
    panel = {"a": pd.DataFrame({"date": DATES[:4], "row": [1.0, 1, 1, 1], "reference": [2.0, 2, 2, 2]}),
             "b": pd.DataFrame({"date": DATES[2:6], "row": [8.0, 8, 8, 8], "reference": [1.0, 1, 1, 1]})}
    pooled = pooled_skill(panel, replications=200)
    assert pooled.skill == pytest.approx(1 - math.sqrt(0.5 * 8))
    assert pooled.series == 2 and pooled.dates == 6


def test_a_series_without_a_persistence_loss_is_left_out_and_none_left_is_undefined():
    zero = pd.DataFrame({"date": DATES[:5], "row": [1.0] * 5, "reference": [0.0] * 5})
    good = pd.DataFrame({"date": DATES[:5], "row": [1.0, 2, 1, 2, 1], "reference": [2.0, 2, 1, 2, 2]})
    assert pooled_skill({"zero": zero, "good": good}, replications=200).series == 1
    assert math.isnan(pooled_skill({"zero": zero}).skill)


def test_the_table_is_on_the_metric_s_scale():
    panel = {"a": pd.DataFrame({"date": DATES[:4], "row": [1.0] * 4, "reference": [4.0] * 4})}
    table = pooled_table({"m": panel}, "rmse").set_index("model")
    assert table.loc["m", "pooled_skill"] == pytest.approx(0.5)  # squared loss ratio 1/4: RMSE ratio 1/2


@pytest.mark.slow
def test_the_common_dates_interval_covers_the_pooled_skill_95_percent_of_the_time():
    """Three series with losses correlated at 0.9 on common dates and serially dependent: resampling each
    series' days on its own would understate the spread; the shared calendar keeps the coverage near 95%."""
    rng = np.random.default_rng(11)
    draws, covered, truth = 1000, 0, 0.02
    for i in range(draws):
        pooled = pooled_skill(panel_draw(rng, truth), replications=300, seed=i)
        covered += pooled.low <= truth <= pooled.high
    assert 0.93 <= covered / draws <= 0.97  # measured: 94.0%
