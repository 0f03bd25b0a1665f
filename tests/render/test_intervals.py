"""A fresh run with --quantiles: the probabilistic section, its figures and CSV, per-lead-time coverage under both
strategies, every score logged per trial, and words that match the table on the same page."""

from __future__ import annotations

import mlflow
import pandas as pd
import pytest

import benchmark
from benchmark import cli
from benchmark.render.report import INTERVALS_FILE
from tests.conftest import TINY_ARGS

LEVELS = "0.05,0.1,0.5,0.9,0.95"


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_a_run_with_quantiles_scores_and_tests_every_row_at_every_lead_time(tiny_csv, tmp_path, strategy, store):
    out = tmp_path / "out"
    code = cli.main(["run", "--data", str(tiny_csv), "--models", "mlp", "--seeds", "1", *TINY_ARGS,
                     "--horizon", "5", "--strategy", strategy, "--quantiles", LEVELS, "--tracking-uri", store,
                     "--experiment", "q", "--results-dir", str(out)])
    assert code == 0
    board = (out / "LEADERBOARD.md").read_text()
    section = board[board.index("## Intervals: quantiles 0.05, 0.1, 0.5, 0.9, 0.95"):]
    assert "CRPS skill [95% CI]" in section and "CC p (Holm)" in section
    assert (out / "figures" / "reliability.png").stat().st_size > 0
    assert (out / "figures" / "fan_chart.png").stat().st_size > 0
    intervals = pd.read_csv(out / INTERVALS_FILE)
    loaded = benchmark.load(tracking_uri=store, experiment="q")
    pd.testing.assert_frame_equal(intervals.drop(columns="dataset"), loaded.intervals.drop(columns="dataset"),
                                  check_dtype=False)
    models = set(loaded.predictions["model"])
    assert set(intervals["model"]) == models
    for _, group in intervals.groupby("model"):  # per lead time, each central interval
        assert sorted(group["step"].unique()) == [1, 2, 3, 4, 5] and set(group["interval"].round(6)) == {0.8, 0.9}
    # The words quote the table: each rejected interval is named with its verdict, and no other one is.
    verdict_text = section.split("**Verdict.** ", 1)[1].split("\n", 1)[0]
    for _, row in intervals.iterrows():
        named = f"{row['model']} {100 * row['interval']:.10g}% at step {row['step']} ({row['verdict']}"
        assert (named in verdict_text) == (row["verdict"] not in ("not rejected", "untested")), named
    spread = loaded.spread
    assert spread["reference"].sum() == 1 and spread["p_value_holm"].notna().sum() == len(spread) - 1
    # Every score logged to MLflow per trial, per lead time.
    client = mlflow.MlflowClient(store)
    runs = client.search_runs([client.get_experiment_by_name("q").experiment_id])
    trials = [r for r in runs if "model" in r.data.params]
    for metric in ("crps", "quantile_loss", "wql", "coverage_90", "interval_score_80", "step5.coverage_90"):
        assert all(metric in r.data.metrics for r in trials), metric
    sources = {r.data.params["model"]: r.data.params["interval_source"] for r in trials}
    assert sources["mlp"] == "conformal (split)"
    assert sources["naive"] == ("model" if strategy == "direct" else "conformal (split)")
    assert sources["arima"] == "model"
