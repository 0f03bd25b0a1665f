"""Leaderboard, CSV and figures: aggregation math by hand, numbers equal to the store, `report` reproducible."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest

from benchmark import cli, tracking
from benchmark.analysis import significance
from benchmark.analysis.comparison import RunMeta, StoredResults, build_table, pairwise_pvalues
from benchmark.analysis.verdict import verdict
from benchmark.models import registry
from benchmark.render import plots, report
from tests.conftest import baseline_count

DATES = pd.date_range("2021-01-01", periods=6).strftime("%Y-%m-%d")
ACTUAL = np.array([10.0, 11.0, 12.0, 11.0, 13.0, 12.0])
LAST = np.array([9.0, 10.0, 11.0, 12.0, 11.0, 13.0])  # persistence forecasts


def frame(model: str, seed: str, predicted) -> pd.DataFrame:
    return pd.DataFrame({"fold": 0, "date": DATES, "step": 1, "actual": ACTUAL, "predicted": predicted,
                         "last_observed": LAST, "mase_scale": 2.0,
                         "model": model, "seed": seed})


def hand_results() -> StoredResults:
    """Two seeds of one network and the naive baseline, with numbers small enough to check by hand."""
    a = ACTUAL + np.array([0.5, -0.5, 0.5, -0.5, 0.5, -0.5])  # MAE 0.5
    b = ACTUAL + np.array([1.0, -1.0, 0.0, 0.0, -1.0, 1.0])  # MAE 4/6
    predictions = pd.concat([frame("naive", "none", LAST), frame("gru", "0", a), frame("gru", "1", b)])
    naive_mae = float(np.mean(np.abs(LAST - ACTUAL)))  # = 7/6
    naive, net = {"kind": "baseline", "stochastic": False, "reference": True}, {
        "kind": "neural", "stochastic": True, "reference": False}
    trials = pd.DataFrame([
        {"model": "naive", "seed": "none", **naive, "status": "FINISHED", "mae": naive_mae,
         "rmse": np.sqrt(np.mean((LAST - ACTUAL) ** 2)), "mase": naive_mae / 2.0, "epochs_run": 0, "train_seconds": 0},
        {"model": "gru", "seed": "0", **net, "status": "FINISHED", "mae": 0.5, "rmse": 0.5, "mase": 0.25,
         "epochs_run": 3, "train_seconds": 1.0},
        {"model": "gru", "seed": "1", **net, "status": "FINISHED", "mae": 4 / 6,
         "rmse": np.sqrt(4 / 6), "mase": 4 / 12, "epochs_run": 5, "train_seconds": 3.0},
        {"model": "gru", "seed": "2", **net, "status": "FAILED", "mae": np.nan, "rmse": np.nan,
         "mase": np.nan, "epochs_run": np.nan, "train_seconds": np.nan, "failure_reason": "loss became nan"},
    ])
    return StoredResults(RunMeta("hand", settings={"horizon": 1}), trials, predictions)


def test_aggregation_and_ci_match_hand_computed_values():
    table = build_table(hand_results()).set_index("model")
    gru = table.loc["gru"]
    assert gru["seeds"] == 2  # the failed seed is never averaged in
    assert gru["mae_mean"] == pytest.approx((0.5 + 4 / 6) / 2)
    sd = abs(0.5 - 4 / 6) / np.sqrt(2)
    assert gru["mae_sd"] == pytest.approx(sd)
    t975_1df = 12.706204736174707
    assert gru["mae_ci_low"] == pytest.approx((0.5 + 4 / 6) / 2 - t975_1df * sd / np.sqrt(2))
    assert gru["mae_ci_high"] == pytest.approx((0.5 + 4 / 6) / 2 + t975_1df * sd / np.sqrt(2))
    assert gru["epochs"] == 4 and gru["train_seconds"] == 2
    ensemble = table.loc["gru (ensemble)"]  # mean forecast: errors [.75,-.75,.25,-.25,-.25,.25]
    assert ensemble["mae_mean"] == pytest.approx(2.5 / 6)
    assert ensemble["mase_mean"] == pytest.approx(2.5 / 6 / 2.0)
    assert table.loc["naive", "theil_u2"] == pytest.approx(1.0)
    assert gru["skill"] == pytest.approx(1 - gru["mae_mean"] / (7 / 6))
    assert list(table["rank"]) == [1, 2, 3]
    assert table.index[0] == "gru (ensemble)" and table.index[-1] == "naive"
    assert table.loc["gru", "within_noise_of_previous"]  # the ensemble lies inside the seeds' wide interval


def test_the_family_is_every_row_but_persistence_tested_on_the_ranking_metrics_loss():
    results = hand_results()
    table = build_table(results).set_index("model")
    assert not table.loc["naive", "tested"] and table.loc[["gru", "gru (ensemble)"], "tested"].all()
    seeds = np.stack([ACTUAL + np.array([0.5, -0.5, 0.5, -0.5, 0.5, -0.5]) - ACTUAL,
                      ACTUAL + np.array([1.0, -1.0, 0.0, 0.0, -1.0, 1.0]) - ACTUAL])
    expected = significance.seed_averaged_dm(seeds, LAST - ACTUAL, "absolute").pvalue  # MAE ranks, so absolute loss
    assert table.loc["gru", "p_value"] == pytest.approx(expected)
    raw = table.loc[["gru", "gru (ensemble)"], "p_value"].to_numpy()
    assert table.loc[["gru", "gru (ensemble)"], "p_holm"].to_numpy() == pytest.approx(significance.holm(raw))
    rmse = build_table(dataclasses.replace(results, meta=RunMeta("hand", settings={"metric": "rmse"})))
    rmse = rmse.set_index("model")
    expected = significance.seed_averaged_dm(seeds, LAST - ACTUAL, "squared").pvalue
    assert rmse.loc["gru", "p_value"] == pytest.approx(expected)


def test_a_raw_win_that_does_not_survive_holm_is_never_called_a_win():
    results = hand_results()
    table = build_table(results)
    table["p_value"] = np.where(table["tested"], 0.03, np.nan)  # raw p < 0.05 for both tested rows ...
    table["p_holm"] = np.where(table["tested"], 0.06, np.nan)  # ... but not after Holm over the two
    table["significant"] = False
    text = verdict(table, results.meta)
    assert "No row is significantly better than persistence" in text and "adjusted p is 0.06" in text
    assert "2 one-sided tests" in text and "Holm" in text and "absolute error" in text
    table.loc[table["model"] == "gru (ensemble)", ["p_holm", "significant"]] = (0.01, True)
    text = verdict(table, results.meta)
    assert "Significantly better than persistence: gru (ensemble)" in text and "Not significantly better: gru" in text


def test_the_noise_marker_never_pairs_a_row_with_persistence():
    table = build_table(hand_results())
    reference_rows = table.index[table["reference"]]
    for i in reference_rows:
        assert not table.loc[i, "within_noise_of_previous"]
        if i + 1 < len(table):
            assert not table.loc[i + 1, "within_noise_of_previous"]


def test_pairwise_matrix_covers_every_model():
    pv = pairwise_pvalues(hand_results())
    assert set(pv.index) == {"naive", "gru"} and np.isnan(pv.loc["gru", "gru"])


def test_leaderboard_lists_every_model_and_matches_the_store(tiny_run):
    assert tiny_run.code == 0
    text = (tiny_run.results_dir / "LEADERBOARD.md").read_text()
    for model in (*registry.neural_names(), "naive", "drift", "linear", "lstm (ensemble)", "tcn (ensemble)"):
        assert f"| {model}" in text
    assert "**Verdict.**" in text and "Holm-adjusted" in text and "DM p (Holm)" in text
    assert "python -m benchmark run --data" in text and "holdout" in text
    csv = pd.read_csv(tiny_run.results_dir / "leaderboard.csv").set_index("model")
    c = tracking.client(tiny_run.store)
    exp = c.get_experiment_by_name("tiny")
    for model in ("mlp", "lstm", "naive"):
        runs = c.search_runs([exp.experiment_id], f"params.model = '{model}' AND attributes.status = 'FINISHED'")
        stored = np.mean([r.data.metrics["mae"] for r in runs])
        assert csv.loc[model, "mae_mean"] == pytest.approx(stored, rel=1e-12)
        assert f"{stored:.4g}" in text
    parent = report.latest_parent(tiny_run.store, exp.experiment_id)
    logged = {a.path for a in c.list_artifacts(parent.run_id, "leaderboard")}
    assert "leaderboard/LEADERBOARD.md" in logged


def test_report_regenerates_an_identical_leaderboard(tiny_run, tmp_path):
    code = cli.main(["report", "--tracking-uri", tiny_run.store, "--experiment", "tiny",
                     "--results-dir", str(tmp_path)])
    assert code == 0
    for name in ("LEADERBOARD.md", "leaderboard.csv"):
        assert (tmp_path / name).read_bytes() == (tiny_run.results_dir / name).read_bytes()
    assert sorted(p.name for p in (tmp_path / "figures").iterdir()) == [
        "forecasts.png", "loss_curves.png", "pvalues.png", "seed_distribution.png"]
    for figure in (tmp_path / "figures").iterdir():
        assert figure.stat().st_size > 10_000
        assert figure.read_bytes() == (tiny_run.results_dir / "figures" / figure.name).read_bytes()


def test_figures_have_titles_labels_and_legends(tiny_run):
    c = tracking.client(tiny_run.store)
    exp = c.get_experiment_by_name("tiny")
    config_hash = report.latest_parent(tiny_run.store, exp.experiment_id).config_hash
    results = report.load_results(tiny_run.store, exp.experiment_id, config_hash)
    table = build_table(results)
    figures = plots.all_figures(results, table, pairwise_pvalues(results))
    dist = figures["seed_distribution"][1].axes[0]
    assert "MAE" in dist.get_title() and "price units" in dist.get_ylabel()
    labels = [t.get_text() for t in dist.get_legend().get_texts()]
    assert "naive (baseline)" in labels and "0" in labels
    assert [t.get_text() for t in dist.get_xticklabels()] == [m for m in table["model"] if m in
                                                              registry.neural_names()]
    fc = figures["forecasts"][1].axes[0]
    assert fc.get_ylabel() == "price (original scale)" and len(fc.get_lines()) >= 6
    assert {"actual", "naive"} <= {t.get_text() for t in fc.get_legend().get_texts()}
    loss_axes = figures["loss_curves"][1].axes
    assert sorted(ax.get_title() for ax in loss_axes) == sorted(registry.neural_names())
    assert "loss" in loss_axes[0].get_ylabel()
    heat = figures["pvalues"][1].axes[0]
    assert heat.get_title() == "Pairwise Diebold–Mariano p-values"
    assert len(heat.get_xticklabels()) == len(registry.neural_names()) + baseline_count()


@pytest.mark.slow
def test_the_price_panel_gives_one_leaderboard_with_sections_ranks_and_a_critical_difference_figure(tmp_path, store):
    """`run --dataset prices` on the five bundled series (tiny protocol, one epoch), with a network trained across
    them (`--training global`) reading one covariate."""
    code = cli.main(["run", "--dataset", "prices", "--models", "mlp", "--seeds", "1", "--epochs", "1",
                     "--lookback", "10", "--test-size", "20", "--val-size", "20", "--patience", "1", "--jobs", "1",
                     "--training", "global", "--covariates", "log_return",
                     "--tracking-uri", store, "--results-dir", str(tmp_path / "results")])
    assert code == 0
    text = (tmp_path / "results" / "LEADERBOARD.md").read_text()
    names = ["msft", "nasdaq", "sp500", "vix", "wti"]
    assert text.startswith(f"# Leaderboard: {', '.join(names)}")
    assert "## Across datasets: rank by mean test MAE" in text and "mean rank" in text
    assert "Friedman" in text and "critical difference" in text
    assert (tmp_path / "results" / "figures" / "critical_difference.png").is_file()
    assert "## Skill against persistence on each dataset" in text
    sections = text.split("\n## Leaderboard: ")[1:]
    assert [s.split("\n", 1)[0] for s in sections] == names
    for section in sections:
        for model in ("mlp", "mlp (global)", "naive", "drift", "linear", "seasonal_naive", "arima", "ets", "theta"):
            assert f"| {model} " in section, model
    assert "## Skill pooled across datasets, with a 95% interval over common dates" in text
    assert "Friedman's test treats the datasets as independent blocks" in text
    losses = pd.read_csv(tmp_path / "results" / "daily-losses.csv")
    assert sorted(losses["dataset"].unique()) == names and {"naive", "mlp", "theta"} <= set(losses.columns)
    # the global network scores each series' own 20 test points once, beside that series' persistence
    for name, days in losses.groupby("dataset"):
        assert days["date"].is_unique and len(days) == 20 and days["mlp (global)"].notna().all(), name
    # msft's test period starts first (it ends in 2017, the others in 2018-19): that is every board's cut-off
    cut = losses.loc[losses["dataset"] == "msft", "date"].min()
    assert text.count(f"whose every target falls before {cut}") == 5
    assert text.count("read by linear, mlp, mlp (global); every other row reads the target alone") == 5
    # `report` rebuilds the whole panel the run covered, and never narrows it
    assert cli.main(["report", "--tracking-uri", store, "--results-dir", str(tmp_path / "again")]) == 0
    rebuilt = (tmp_path / "again" / "LEADERBOARD.md").read_text()
    assert rebuilt.startswith(f"# Leaderboard: {', '.join(names)}")
    one = next(line for line in sections[-1].splitlines() if line.startswith("| config hash |")).split("`")[1]
    assert cli.main(["report", "--tracking-uri", store, "--config-hash", one,
                     "--results-dir", str(tmp_path / "results")]) == 2
    assert (tmp_path / "results" / "LEADERBOARD.md").read_text() == text


def test_the_cross_dataset_skill_table_marks_significant_rows():
    from benchmark.render.leaderboard import skill_lines

    tables = {name: pd.DataFrame({"model": ["naive", "theta"], "skill": [0.0, skill],
                                  "significant": np.array([False, significant])})
              for name, skill, significant in (("a", 0.031, True), ("b", -0.01, False))}
    text = "\n".join(skill_lines(tables, "mae"))
    assert "| theta   | +3.1% ✓ | -1.0% |" in text  # numpy booleans mark the cell
    assert "| naive   | +0.0%   | +0.0% |" in text


def test_user_strings_are_escaped_for_every_sink_of_their_kind():
    """Markdown cells and lines (`cell`, `code`) and CSV cells (`csv_safe`): one rule per sink."""
    from benchmark.render.leaderboard import cell, code, csv_safe

    assert cell("a|b\nc<script>") == "a\\|b c&lt;script>"
    assert code("run --set 'x=`y`'") == "``run --set 'x=`y`'``" and code("`a`") == "`` `a` ``"
    frame = csv_safe(pd.DataFrame({"dataset": ["=HYPERLINK(1)", "msft"], "=x": [1.0, -2.0]}))
    assert list(frame["dataset"]) == ["'=HYPERLINK(1)", "msft"] and list(frame.columns) == ["dataset", "'=x"]
    assert list(frame["'=x"]) == [1.0, -2.0]  # numbers are numbers, never prefixed
