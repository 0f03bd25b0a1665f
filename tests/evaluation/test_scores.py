"""Scores of quantile forecasts against hand computations and the Gaussian CRPS's closed form."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import norm

from benchmark.evaluation import scores
from benchmark.evaluation.forecasts import quantile_column


def test_pinball_and_quantile_loss_by_hand():
    # y = 10; q0.1 = 8 (y above it: 0.1 * 2), q0.9 = 12 (y below it: 0.1 * 2); y = 13: 0.1 * 5 and 0.9 * 1
    losses = scores.pinball(np.array([10.0, 13.0]), np.array([[8.0, 12.0], [8.0, 12.0]]), (0.1, 0.9))
    np.testing.assert_allclose(losses, [[0.2, 0.2], [0.5, 0.9]])
    assert scores.quantile_loss([10.0, 13.0], [[8.0, 12.0], [8.0, 12.0]], (0.1, 0.9)) == pytest.approx(0.45)
    np.testing.assert_allclose(scores.crps([10.0, 13.0], [[8.0, 12.0], [8.0, 12.0]], (0.1, 0.9)), [0.4, 1.4])
    # wQL: per level 2 * sum of pinball / sum |y| = 2 * 0.7 / 23 and 2 * 1.1 / 23, averaged
    assert scores.weighted_quantile_loss(np.array([10.0, 13.0]), np.array([[8.0, 12.0], [8.0, 12.0]]),
                                         (0.1, 0.9)) == pytest.approx((1.4 + 2.2) / 2 / 23)
    # SQL with MASE scales 2 and 4: mean of 2 * [[0.2, 0.2], [0.5, 0.9]] / [[2], [4]]
    assert scores.scaled_quantile_loss(np.array([10.0, 13.0]), np.array([[8.0, 12.0], [8.0, 12.0]]), (0.1, 0.9),
                                       [2.0, 4.0]) == pytest.approx(np.mean([0.2, 0.2, 0.25, 0.45]))


def test_interval_score_by_hand():
    # [8, 12] at 80%: width 4, plus 2 / 0.2 = 10 per unit outside
    np.testing.assert_allclose(scores.interval_score([10.0, 13.0, 7.0], [8.0] * 3, [12.0] * 3, 0.2), [4, 14, 14])


def test_crps_from_quantiles_matches_the_gaussian_closed_form():
    levels = tuple(np.arange(1, 1000) / 1000)
    for y, sigma in ((0.3, 1.0), (-2.0, 0.5), (1.0, 3.0)):
        z = y / sigma
        exact = sigma * (z * (2 * norm.cdf(z) - 1) + 2 * norm.pdf(z) - 1 / np.sqrt(np.pi))
        approx = scores.crps(np.array([y]), sigma * norm.ppf(np.array(levels))[None, :], levels)[0]
        assert approx == pytest.approx(exact, rel=0.01)


def test_central_intervals_pair_each_level_with_its_mirror():
    assert scores.central_intervals((0.05, 0.1, 0.25, 0.5, 0.9, 0.95)) == [(0.05, 0.95, pytest.approx(0.9)),
                                                                          (0.1, 0.9, pytest.approx(0.8))]
    assert scores.central_intervals((0.1, 0.5)) == []
    assert scores.label(0.9) == "90" and scores.label(0.95) == "95" and scores.label(1 - 2 * 0.0125) == "97.5"


def test_pit_counts_place_each_actual_between_its_quantiles():
    quantiles = np.array([[1.0, 2.0, 3.0]] * 4)
    np.testing.assert_array_equal(scores.pit_counts(np.array([0.5, 1.5, 2.5, 9.0]), quantiles), [1, 1, 1, 1])


def test_frame_scores_give_coverage_per_interval_and_per_lead_time():
    rng = np.random.default_rng(0)
    n = 400
    actual = rng.normal(size=n)
    frame = pd.DataFrame({"actual": actual, "step": np.tile([1, 2], n // 2), "mase_scale": 1.0})
    for q in (0.05, 0.5, 0.95):
        frame[quantile_column(q)] = norm.ppf(q)
    out = scores.frame_scores(frame)
    assert out["coverage_90"] == pytest.approx(np.mean(np.abs(actual) <= norm.ppf(0.95)))
    assert {"quantile_loss", "crps", "wql", "sql", "interval_score_90", "step1.coverage_90",
            "step2.coverage_90"} <= set(out)
    assert "step1.coverage_90" not in scores.frame_scores(frame.assign(step=1))
    assert scores.frame_scores(frame[["actual", "step", "mase_scale"]]) == {}
