"""Multi-step forecasts: the direct and recursive strategies, errors by lead time, and their tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.config.experiment import resolve
from benchmark.data.series import Series
from benchmark.evaluation.metrics import lead_time_metrics
from benchmark.evaluation.trial import evaluate
from benchmark.models import registry
from benchmark.pipeline.windows import fit_scaler, prepare, recursive_forecast
from tests.conftest import run_cli


def _linear(length: int = 600) -> Series:
    return Series.from_array("line", 50.0 + 0.25 * np.arange(length))


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
@pytest.mark.parametrize("model", ["drift", "linear"])
@pytest.mark.parametrize("scaler", ["window", "minmax"])
def test_both_strategies_are_exact_on_an_exactly_linear_series(strategy, model, scaler):
    config = resolve("default", lookback=10, horizon=5, strategy=strategy, test_size=100, val_size=50,
                     scaler=scaler)
    folds = [prepare(_linear(), 10, 5, 100, 50, scaler, strategy)]
    assert folds[0].train.y.shape[1] == (1 if strategy == "recursive" else 5)
    record = evaluate(registry.get(model), {}, folds, config, None)
    frame = record.predictions
    np.testing.assert_allclose(frame["predicted"], frame["actual"], rtol=1e-9)
    for step in range(1, 6):
        assert record.summary[f"step{step}.mae"] == pytest.approx(0.0, abs=1e-7)


def test_the_recursion_feeds_each_forecast_back_and_rescales_the_new_window():
    """A one-step rule 'next = last + (last - previous)' on scaled inputs is exact on a line only if every step
    sees its own forecast as the newest input, rescaled with the new window's statistics."""
    prepared = prepare(_linear(), 10, 5, 100, 50, "window", "recursive")
    calls = []

    def rule(inputs):
        calls.append(inputs.copy())
        return 2 * inputs[:, -1, :] - inputs[:, -2, :]

    prices = recursive_forecast(rule, prepared.test, prepared.scaler, 5)
    np.testing.assert_allclose(prices, prepared.test.y, rtol=1e-12)
    assert len(calls) == 5
    # A global scaler gives the same prices (its location and scale never move).
    minmax = recursive_forecast(rule, prepared.test, fit_scaler("minmax", _linear().values[:400]), 5)
    np.testing.assert_allclose(minmax, prices, rtol=1e-12)


def test_persistence_error_grows_like_the_square_root_of_the_lead_time_on_a_random_walk():
    rng = np.random.default_rng(7)
    walk = Series.from_array("walk", 1000.0 + np.cumsum(rng.normal(0, 1, 42_000)))
    config = resolve("default", lookback=5, horizon=5, test_size=40_000, val_size=0, early_stopping=False)
    folds = [prepare(walk, 5, 5, 40_000, 0, "window")]
    record = evaluate(registry.get("naive"), {}, folds, config, None)
    mae = np.array([record.summary[f"step{k}.mae"] for k in range(1, 6)])
    np.testing.assert_allclose(mae / mae[0], np.sqrt(np.arange(1, 6)), rtol=0.06)


@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_every_test_point_of_every_step_is_scored_exactly_once(strategy):
    series = _linear(700)
    config = resolve("default", lookback=10, horizon=4, strategy=strategy, test_size=120, val_size=40)
    prepared = prepare(series, 10, 4, 120, 40, "window", strategy)
    frame = evaluate(registry.get("naive"), {}, [prepared], config, None).predictions
    assert len(frame) == 120 and frame["date"].is_unique
    assert frame["step"].value_counts().to_dict() == {1: 30, 2: 30, 3: 30, 4: 30}
    test_dates = series.dates[-120:].strftime("%Y-%m-%d")
    assert sorted(frame["date"]) == sorted(test_dates)
    np.testing.assert_array_equal(np.sort(frame["actual"]), np.sort(series.values[-120:]))


def test_lead_time_metrics_group_by_step():
    frame = pd.DataFrame({"step": [1, 2, 1, 2], "actual": [0.0, 0.0, 0.0, 0.0], "predicted": [1.0, 2.0, -1.0, 4.0]})
    assert lead_time_metrics(frame) == {"step1.mae": 1.0, "step1.rmse": 1.0, "step2.mae": 3.0,
                                        "step2.rmse": pytest.approx(np.sqrt(10.0))}
    assert lead_time_metrics(frame[frame["step"] == 1]) == {}


def test_the_strategy_is_part_of_the_hash_only_where_it_changes_numbers():
    one = resolve("default", horizon=1)
    assert resolve("default", horizon=1, strategy="recursive").config_hash == one.config_hash
    five = resolve("default", horizon=5)
    assert resolve("default", horizon=5, strategy="direct").config_hash == five.config_hash
    assert resolve("default", horizon=5, strategy="recursive").config_hash != five.config_hash


@pytest.mark.slow
@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_a_five_step_run_reports_errors_by_lead_time(tmp_path, tiny_csv, strategy, store):
    from benchmark.tracking import Tracker

    code = run_cli(store, tiny_csv, "--models", "mlp", "--seeds", "1", "--horizon", "5", "--strategy", strategy)
    assert code == 0
    text = (tmp_path / "results" / "LEADERBOARD.md").read_text()
    assert "## Errors by lead time (MAE" in text and f"strategy {strategy}" in text
    assert "| model" in text and "step 5" in text
    assert "figures/lead_time.png" in text and (tmp_path / "results" / "figures" / "lead_time.png").is_file()
    for model in ("arima", "ets", "theta", "seasonal_naive", "naive", "mlp"):
        assert f"| {model} " in text
    tracker = Tracker(store)
    experiment = tracker.find_experiment("tiny")
    parent = tracker.latest_parent(experiment)
    runs = tracker.trials(experiment, parent.tags["config_hash"], status="FINISHED")
    assert len(runs) == 8  # mlp and the 7 baselines
    assert all({f"step{k}.mae" for k in range(1, 6)} <= set(r.metrics) for r in runs)
    import benchmark

    lead = benchmark.load(store, "tiny").lead_times  # the same table through the Python API
    assert sorted(lead["step"].unique()) == [1, 2, 3, 4, 5]
    assert set(lead.loc[lead["model"] == "naive", "tested"]) == {False}
    assert lead.loc[lead["tested"], "p_holm"].between(0, 1).all()


def test_a_step_with_too_few_origins_is_described_not_tested():
    """2 test origins at horizon 5: too few paired errors at any step for a test; the table still reports them,
    and with 4 origins every step is tested (h = 1: origins are H apart)."""
    from benchmark.analysis.comparison import build_table, lead_time_table
    from benchmark.execution.calibration import results_from_records

    rng = np.random.default_rng(3)
    series = Series.from_array("walk", 100 + np.cumsum(rng.normal(0, 1, 400)))
    for test_size, testable in ((10, False), (20, True)):
        config = resolve("default", lookback=10, horizon=5, test_size=test_size, val_size=20, early_stopping=False)
        folds = [prepare(series, 10, 5, test_size, 20, "window")]
        records = [(registry.get(m), None, evaluate(registry.get(m), {}, folds, config, None))
                   for m in ("naive", "drift", "linear")]
        results = results_from_records("walk", config, records)
        lead = lead_time_table(results, build_table(results, magnitudes=False))
        tested = lead[lead["model"] != "naive"].set_index(["model", "step"])["tested"]
        assert set(tested) == {testable}
        assert lead.loc[~lead["tested"], "p_holm"].isna().all() and lead["mae"].notna().all()


def test_validation_scores_the_h_step_forecast_under_both_strategies():
    """What sweeps and searches choose by: persistence forecasts the same H steps under both strategies, so its
    validation MAE must be the same (a one-step validation score would be smaller under recursive)."""
    rng = np.random.default_rng(5)
    series = Series.from_array("walk", 100 + np.cumsum(rng.normal(0, 1, 800)))
    scores = {}
    for strategy in ("direct", "recursive"):
        config = resolve("default", lookback=10, horizon=5, strategy=strategy, test_size=100, val_size=100)
        folds = [prepare(series, 10, 5, 100, 100, "window", strategy)]
        scores[strategy] = evaluate(registry.get("naive"), {}, folds, config, None).summary["val_mae"]
    assert scores["recursive"] == pytest.approx(scores["direct"], rel=1e-12)
    one_step = np.mean(np.abs(np.diff(series.values[-201:-100])))
    assert scores["direct"] > 1.5 * one_step
