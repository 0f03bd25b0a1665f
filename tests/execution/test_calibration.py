"""The verdict engine's error rates, measured: many simulated series where the right answer is known."""

from __future__ import annotations

import numpy as np
import pytest

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


@pytest.mark.slow
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


def daily_losses_file(path, n: int = 100):
    """A daily-losses.csv as `report` writes it: one configuration, persistence and two rows."""
    import pandas as pd

    rng = np.random.default_rng(4)
    reference = np.abs(rng.normal(size=n))
    pd.DataFrame({"dataset": "sim", "config_hash": "abc", "metric": "mae", "reference": "naive", "fold": 0,
                  "date": pd.date_range("2022-01-03", periods=n, freq="B").strftime("%Y-%m-%d"), "step": 1,
                  "naive": reference, "a": reference * 1.1, "b": reference * 0.9 + 0.1}).to_csv(path, index=False)
    return path


@pytest.mark.slow
def test_calibrate_command_writes_the_report_with_r_per_row(tmp_path, capsys):
    out = tmp_path / "CALIBRATION.md"
    losses = daily_losses_file(tmp_path / "daily-losses.csv")
    code = cli.main(["calibrate", "--replications", "3", "--network-replications", "1", "--models", "mlp",
                     "--seeds", "2", "--epochs", "1", "--length", "400", "--test-size", "100", "--loss-draws", "3",
                     "--losses", str(losses), "--output", str(out)])
    assert code == 0
    text = out.read_text()
    assert "## False-positive rate where persistence is the optimal forecast" in text
    assert "## Power where a learnable signal exists" in text
    assert "- R = 3: drift, linear, naive" in text and "- R = 1: mlp, drift, linear, naive" in text
    assert "| gaussian_walk   | mlp (ensemble)" in text or "mlp (ensemble)" in text
    assert "python -m benchmark calibrate --replications 3" in text
    assert "## The test at the boundary of its null" in text and "of 2000 draws" in text
    assert "## The procedures of the verdict, measured on daily losses" in text
    for source in ("gaussian_walk", "fat_tailed_walk", f"real ({losses.as_posix()})"):
        for procedure in ("SPA: p < α", "TOST: called equivalent (per row)",
                          "skill interval (bootstrap) covers the true skill"):
            assert f"| {source}" in text and procedure in text
    # per-row procedures count row-draws: 3 draws x 2 rows of the real file
    assert any(line.startswith(f"| real ({losses.as_posix()})") and "| TOST" in line and "| 6 " in line
               for line in text.splitlines())


@pytest.mark.parametrize("content, message", [
    (None, "--losses: no file"),
    ("x,y\n1,2\n", "is not a daily-losses.csv"),
    ("dataset,config_hash,metric,reference,date,naive,a\ns,h1,mae,naive,2020-01-01,1,1\n"
     "s,h2,mae,naive,2020-01-02,1,1\n", "holds 2 configurations"),
    ("dataset,config_hash,metric,reference,date,naive,a\ns,h,rmse,naive,2020-01-01,1,1\n", "holds rmse losses"),
    ("dataset,config_hash,metric,reference,date,step,naive,a\ns,h,mae,naive,2020-01-01,5,1,1\n",
     "forecasts 5 steps ahead"),
])
def test_a_bad_losses_file_is_one_line_exit_2_before_any_work(tmp_path, capsys, content, message):
    path = tmp_path / "losses.csv"
    if content is not None:
        path.write_text(content)
    out = tmp_path / "CALIBRATION.md"
    code = cli.main(["calibrate", "--replications", "1", "--losses", str(path), "--output", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1
    assert not out.exists()
