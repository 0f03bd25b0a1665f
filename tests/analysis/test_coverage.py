"""The coverage tests (Kupiec, Christoffersen) against a worked example and independent implementations, their
size at n = 250 on simulated misses, and the probabilistic tables on known forecasts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from benchmark.analysis import coverage
from benchmark.analysis.significance import holm
from benchmark.evaluation.forecasts import quantile_column


def test_kupiec_matches_the_basel_worked_example_and_the_binomial_likelihood_ratio():
    # 5 exceptions in 250 days at 99% VaR: LR_uc = 1.9568 (Jorion, Value at Risk, Table 6-3's neighbourhood)
    misses = np.r_[np.ones(5), np.zeros(245)].astype(bool)
    stat, p = coverage.kupiec(misses, 0.01)
    assert stat == pytest.approx(1.9568, abs=1e-4)
    assert stat == pytest.approx(2 * (stats.binom.logpmf(5, 250, 5 / 250) - stats.binom.logpmf(5, 250, 0.01)))
    assert p == pytest.approx(stats.chi2.sf(stat, 1))
    assert coverage.kupiec(np.zeros(250, bool), 0.01)[0] == pytest.approx(-2 * 250 * np.log(0.99))


def test_independence_is_the_g_test_on_the_transition_table():
    rng = np.random.default_rng(4)
    for rate in (0.05, 0.2):
        misses = rng.random(300) < rate
        before, after = misses[:-1].astype(int), misses[1:].astype(int)
        table = np.array([[np.sum((before == i) & (after == j)) for j in (0, 1)] for i in (0, 1)])
        g = stats.chi2_contingency(table, correction=False, lambda_="log-likelihood")[0]
        assert coverage.independence(misses)[0] == pytest.approx(g, rel=1e-9)
    clustered = np.r_[np.zeros(100), np.ones(10), np.zeros(100)].astype(bool)
    assert coverage.independence(clustered)[1] < 1e-6
    stat, p = coverage.conditional_coverage(clustered, 10 / 210)
    assert stat == pytest.approx(coverage.kupiec(clustered, 10 / 210)[0] + coverage.independence(clustered)[0])


@pytest.mark.parametrize("rate", [0.1, 0.2])
def test_the_tests_size_at_250_points_is_between_3_and_7_percent(rate):
    rng = np.random.default_rng(5)
    draws = rng.random((2000, 250)) < rate
    for name, test in (("kupiec", lambda m: coverage.kupiec(m, rate)[1]),
                       ("conditional coverage", lambda m: coverage.conditional_coverage(m, rate)[1])):
        size = np.mean([test(m) < 0.05 for m in draws])
        assert 0.03 <= size <= 0.07, (name, size)
    if rate == 0.2:  # at a 10% miss rate the independence test alone is oversized (measured: 7.4%; CALIBRATION.md)
        assert 0.03 <= np.mean([coverage.independence(m)[1] < 0.05 for m in draws]) <= 0.07


def _predictions(rng, n=300, spread=1.0, model="m", seeds=(0,)):
    actual = rng.normal(size=n)
    rows = []
    for seed in seeds:
        frame = pd.DataFrame({"model": model, "seed": seed, "fold": 0, "date": np.arange(n), "step": 1,
                              "actual": actual, "predicted": 0.0, "last_observed": 0.0, "mase_scale": 1.0})
        for q in (0.05, 0.5, 0.95):
            frame[quantile_column(q)] = spread * stats.norm.ppf(q) + 0.01 * seed
        rows.append(frame)
    return pd.concat(rows, ignore_index=True)


def test_true_quantiles_hold_and_narrow_ones_are_rejected_as_too_narrow():
    rng = np.random.default_rng(6)
    good = _predictions(rng, model="true", seeds=(0, 1))
    narrow = _predictions(rng, spread=0.5, model="narrow").assign(actual=good["actual"].iloc[:300].to_numpy())
    table = coverage.coverage_table(pd.concat([good, narrow]), alpha=0.05)
    by = table.set_index("model")
    assert by.loc["true", "verdict"] == "not rejected" and by.loc["narrow", "verdict"] == "too narrow"
    assert by.loc["true", "coverage_low"] < by.loc["true", "coverage"] < by.loc["true", "coverage_high"]
    np.testing.assert_allclose(table["p_cc_holm"], holm(table["p_cc"].to_numpy()))  # one family: the table
    forecasts = coverage.row_forecasts(pd.concat([good, narrow]))
    assert forecasts["true"][quantile_column(0.95)].iloc[0] == pytest.approx(stats.norm.ppf(0.95) + 0.005)


def test_the_spread_family_finds_the_true_distribution_better_than_a_too_wide_one():
    rng = np.random.default_rng(7)
    truth = _predictions(rng, n=500, model="true")
    wide = truth.assign(model="naive", **{quantile_column(q): 3 * stats.norm.ppf(q) for q in (0.05, 0.5, 0.95)})
    table = coverage.spread_table(pd.concat([truth, wide]), "naive", alpha=0.05).set_index("model")
    assert table.loc["true", "better"] and not table.loc["true", "worse"]
    assert table.loc["true", "skill_low"] < table.loc["true", "skill"] < table.loc["true", "skill_high"]
    assert table.loc["true", "crps"] < table.loc["naive", "crps"]
    reliability = coverage.pit_table(truth)
    expected = np.array([0.05, 0.5, 0.95])
    assert np.all(np.abs(reliability["observed"] - expected) <= 4 * np.sqrt(expected * (1 - expected) / 500))
