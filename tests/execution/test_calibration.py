"""The verdict engine's error rates, measured: many simulated series where the right answer is known."""

from __future__ import annotations

import numpy as np

from benchmark import cli
from benchmark.execution import calibration

NULLS = [p for p in calibration.PROCESSES if p.persistence_optimal]


def test_the_simulated_walks_are_martingales():
    """Persistence is optimal: the changes have mean 0 and no autocorrelation."""
    rng = np.random.default_rng(0)
    for process in NULLS:
        steps = np.diff(process.generate(rng, 20_000))
        assert abs(steps.mean()) < 4 * steps.std() / np.sqrt(steps.size)
        assert abs(np.corrcoef(steps[1:], steps[:-1])[0, 1]) < 0.03


def test_false_positive_rate_of_the_family_is_at_most_alpha():
    """R = 200 short series per null process, baselines and the linear model: the family-wise rate of "better than
    persistence" verdicts has a 95% interval that contains 5% or lies below it."""
    (design, *_) = calibration.designs((), replications=200, network_replications=0, seeds=1, epochs=1,
                                       length=500, test_size=120, metric="mae")
    rates = calibration.calibrate(design, processes=NULLS)
    family = [r for r in rates if r.row == "any row"]
    assert len(family) == len(NULLS) and all(r.replications == 200 for r in family)
    for rate in family:
        low, _ = rate.interval
        assert low <= 0.05, (rate.process, rate.rate)


def test_power_on_a_learnable_cycle():
    cycle = next(p for p in calibration.PROCESSES if p.name == "weekly_cycle")
    (design, *_) = calibration.designs((), replications=10, network_replications=0, seeds=1, epochs=1,
                                       length=500, test_size=120, metric="rmse")
    (family, *rows) = calibration.calibrate(design, processes=[cycle])
    assert family.row == "any row" and family.rate == 1.0
    assert next(r for r in rows if r.row == "linear").rate == 1.0


def test_calibrate_command_writes_the_report_with_r_per_row(tmp_path, capsys):
    out = tmp_path / "CALIBRATION.md"
    code = cli.main(["calibrate", "--replications", "3", "--network-replications", "1", "--models", "mlp",
                     "--seeds", "2", "--epochs", "1", "--length", "400", "--test-size", "100", "--output",
                     str(out)])
    assert code == 0
    text = out.read_text()
    assert "## False-positive rate where persistence is the optimal forecast" in text
    assert "## Power where a learnable signal exists" in text
    assert "- R = 3: drift, linear, naive" in text and "- R = 1: mlp, drift, linear, naive" in text
    assert "| gaussian_walk   | mlp (ensemble)" in text or "mlp (ensemble)" in text
    assert "python -m benchmark calibrate --replications 3" in text
    assert "## The test at the boundary of its null" in text and "of 2000 draws" in text
