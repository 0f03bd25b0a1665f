"""The procedures' calibration sources (benchmark.execution.procedures): each scenario's truth is what it says,
and the skew that makes one-sided "better" tests liberal, measured."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.analysis import significance
from benchmark.execution.calibration import gaussian_walk
from benchmark.execution.procedures import real_losses, simulated_losses
from tests.execution.test_calibration import daily_losses_file


def test_a_simulated_row_has_the_skill_it_is_given():
    draw = simulated_losses(gaussian_walk, "absolute")
    rng = np.random.default_rng(3)
    ratios = []
    for _ in range(400):
        reference, rows = draw(rng, 250, np.array([0.0, 0.05]))
        ratios.append(rows.sum(axis=1) / reference.sum())
    assert np.mean(ratios, axis=0) == pytest.approx([1.0, 0.95], abs=0.005)


def test_a_real_source_is_re_centred_to_the_skill_it_is_given(tmp_path):
    """In the resampling world a row's expected loss is (1 - skill) times persistence's mean loss exactly."""
    draw = real_losses(daily_losses_file(tmp_path / "losses.csv"), "mae")
    rng = np.random.default_rng(5)
    means = np.mean([draw(rng, 0, np.array([0.0, 0.02]))[1].mean(axis=1) for _ in range(2000)], axis=0)
    reference = np.mean([draw(rng, 0, np.zeros(1))[0].mean() for _ in range(2000)])
    assert means / reference == pytest.approx([1.0, 0.98], abs=0.01)


def test_right_skewed_differences_make_the_better_side_liberal_and_the_worse_side_conservative():
    """Why calibrate's null rates exceed alpha (docs/verdicts.md): one row exactly as good as persistence, with
    right-skewed loss differences. Measured: 6.8% "better" and 3.2% "worse" at 5% over 2,000 draws."""
    draw = simulated_losses(gaussian_walk, "absolute")
    rng = np.random.default_rng(1)
    better = worse = 0
    for _ in range(2000):
        reference, rows = draw(rng, 250, np.zeros(1))
        better += significance.dm_test(rows[0] - reference, 1).pvalue < 0.05
        worse += significance.dm_test(rows[0] - reference, 1, "greater").pvalue < 0.05
    assert better / 2000 > 0.06 and worse / 2000 < 0.04


def test_the_interval_measurements_find_size_power_and_conformal_coverage():
    from benchmark.execution.interval_calibration import measure_intervals
    from benchmark.render.calibration import interval_lines

    rates = measure_intervals(150, 250, 0.05)
    by = {(r.case, round(r.interval_level, 6), r.measure): r for r in rates}
    size = by[("true quantiles (Gaussian walk)", 0.9, "CC test rejects")]
    assert size.replications == 150 and size.interval[0] <= 0.05 <= size.interval[1]
    assert by[("true quantiles 20% too narrow", 0.9, "CC test rejects")].rate > 0.8  # power
    for method in ("split", "adaptive"):  # pooled over every test point of every draw
        inside = by[(f"{method} conformal (Gaussian walk)", 0.8, "share of test points inside")]
        assert inside.replications == 150 * 250 and abs(inside.rate - 0.8) < 0.01
    garch = by[("split conformal, constant width (GARCH walk)", 0.9, "independence test rejects")]
    assert garch.rate > size.rate and garch.nominal == "power"
    text = "\n".join(interval_lines(rates))
    assert "| true quantiles (Gaussian walk) " in text and "Clopper–Pearson" in text
