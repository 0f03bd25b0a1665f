"""The runner end to end against a real temporary SQLite MLflow store: runs, params, metrics, artifacts,
determinism, resume and parallel workers."""

from __future__ import annotations

import pandas as pd
import pytest

from benchmark import tracking
from benchmark.models import registry
from benchmark.render import report
from tests.conftest import baseline_count, run_cli

TRIAL_METRICS = {"mae", "rmse", "mape", "smape", "mase", "directional_accuracy", "train_seconds", "epochs_run"}


def trials(store: str, experiment: str = "tiny") -> pd.DataFrame:
    c = tracking.client(store)
    exp = c.get_experiment_by_name(experiment)
    parents = c.search_runs([exp.experiment_id], "tags.run_type = 'parent'")
    frame = report.trials_frame(store, exp.experiment_id, parents[0].data.tags["config_hash"])
    return frame.sort_values(["model", "seed"]).reset_index(drop=True)


@pytest.fixture(scope="module")
def first_run(tiny_run):
    return tiny_run.store, tiny_run.code


def test_all_models_and_baselines_logged_under_one_parent(first_run):
    store, code = first_run
    assert code == 0
    c = tracking.client(store)
    exp = c.get_experiment_by_name("tiny")
    note = exp.tags["mlflow.note.content"]  # written from the registry, so it lists every baseline of today
    assert "Compares the networks (gru, lstm, mlp, rnn, tcn, transformer) with the baselines (" in note
    assert all(name in note for name in ("naive", "seasonal_naive", "drift", "linear", "arima", "ets", "theta"))
    parents = c.search_runs([exp.experiment_id], "tags.run_type = 'parent'")
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert parents[0].info.run_name == "tiny · holdout · default"
    runs = c.search_runs([exp.experiment_id], "tags.run_type = 'trial'")
    assert len(runs) == 2 * len(registry.neural_names()) + baseline_count()
    assert {r.data.tags["mlflow.parentRunId"] for r in runs} == {parents[0].info.run_id}
    pairs = {(r.data.params["model"], r.data.params["seed"]) for r in runs}
    assert pairs == {(m, s) for m in registry.neural_names() for s in ("0", "1")} | {
        (b, "none") for b in ("naive", "seasonal_naive", "drift", "linear", "arima", "ets", "theta")}
    for r in runs:
        assert r.info.status == "FINISHED"
        assert set(r.data.metrics) >= TRIAL_METRICS
        expected = {"lookback", "horizon", "scaler", "dataset_checksum", "test_start", "protocol", "unroll"}
        assert expected <= set(r.data.params)
        assert r.data.tags["config_hash"] == parents[0].data.tags["config_hash"]
        assert "benchmark.version.tensorflow" in r.data.tags
        artifacts = {a.path for a in c.list_artifacts(r.info.run_id)}
        assert {"predictions.csv", "forecast.png"} <= artifacts
        inputs = {(d.dataset.name, t.value) for d in r.inputs.dataset_inputs for t in d.tags
                  if t.key == "mlflow.data.context"}  # the runs table's Dataset column
        assert inputs == {("tiny.train", "training"), ("tiny.val", "validation"), ("tiny.test", "testing")}
    lstm = next(r for r in runs if r.data.params["model"] == "lstm")
    assert lstm.info.run_name == "lstm · seed 0" or lstm.info.run_name == "lstm · seed 1"
    assert [m.step for m in c.get_metric_history(lstm.info.run_id, "loss")] == [1]
    assert len(c.get_metric_history(lstm.info.run_id, "val_loss")) == 1


def test_predictions_artifact_scores_every_test_point_on_the_price_scale(first_run, tiny_csv):
    store, _ = first_run
    c = tracking.client(store)
    exp = c.get_experiment_by_name("tiny")
    naive = c.search_runs([exp.experiment_id], "params.model = 'naive'")[0]
    path = c.download_artifacts(naive.info.run_id, "predictions.csv")
    frame = pd.read_csv(path)
    source = pd.read_csv(tiny_csv)
    assert list(frame["date"]) == list(source["Date"].iloc[-40:])
    assert frame["actual"].tolist() == pytest.approx(source["Close"].iloc[-40:].tolist())
    assert frame["predicted"].tolist() == pytest.approx(source["Close"].iloc[-41:-1].tolist())
    assert naive.data.metrics["mae"] == pytest.approx((frame["actual"] - frame["predicted"]).abs().mean())


def test_rerun_trains_nothing(first_run, tiny_csv, tmp_path, capsys):
    import shutil

    # on a copy of the shared store: the rerun's parent run and leaderboard never reach the tests reading it
    shutil.copy(first_run[0].removeprefix("sqlite:///"), tmp_path / "mlflow.db")
    store = f"sqlite:///{tmp_path / 'mlflow.db'}"
    before = trials(store)
    assert run_cli(store, tiny_csv) == 0
    assert f"{2 * len(registry.neural_names()) + baseline_count()} finished trial(s)" in capsys.readouterr().err
    after = trials(store)
    assert len(after) == len(before)


@pytest.mark.slow
def test_same_seed_same_metrics_and_jobs2_equals_jobs1(first_run, tiny_csv, store):
    reference = trials(first_run[0])
    assert run_cli(store, tiny_csv, "--jobs", "2", "--models", "mlp,lstm", experiment="parallel") == 0
    parallel = trials(store, "parallel")
    assert run_cli(store, tiny_csv, "--models", "mlp,lstm", "--force", experiment="parallel") == 0
    again = trials(store, "parallel")
    again = again[again["start_time"] > parallel["start_time"].max()]
    key = ["model", "seed"]
    for frame in (parallel, again):
        merged = frame.merge(reference, on=key, suffixes=("", "_ref"))
        assert len(merged) == 4 + baseline_count()
        for metric in ("mae", "rmse", "mase", "directional_accuracy"):
            assert (merged[metric] == merged[f"{metric}_ref"]).all(), metric


def test_schedule_starts_the_costliest_models_first_with_seeds_together():
    from benchmark.config.experiment import resolve
    from benchmark.evaluation.trial import TrialSpec
    from benchmark.execution import runner

    config = resolve("classic")
    specs = [TrialSpec(m, s, config, "sqlite:///unused.db", "0", "parent") for m, s in
             [("naive", None), ("mlp", 0), ("mlp", 1), ("lstm", 0), ("rnn", 0), ("lstm", 1), ("gru", 0), ("gru", 1)]]
    order = [(s.model, s.seed) for s in runner.schedule(specs)]
    assert order == [("naive", None), ("gru", 0), ("gru", 1), ("lstm", 0), ("lstm", 1), ("rnn", 0), ("mlp", 0),
                     ("mlp", 1)]


def test_auto_jobs_is_one_worker_per_core_within_memory():
    import os

    from benchmark.config.experiment import resolve
    from benchmark.evaluation.trial import TrialSpec
    from benchmark.execution import runner

    config = resolve("classic")
    specs = [TrialSpec(m, s, config, "sqlite:///unused.db", "0", "parent") for m in ("lstm", "gru") for s in range(4)]
    cores = os.cpu_count() or 1
    assert runner.effective_jobs(config, specs, memory=64 * 2**30) == min(cores, 8)
    assert runner.effective_jobs(config, specs, memory=int(1.6 * 2**30)) == 1  # room for one worker only
    assert runner.effective_jobs(config, specs[:1], memory=64 * 2**30) == 1  # one network to train
    assert runner.effective_jobs(resolve("classic", jobs=3), specs, memory=2**30) == 3  # --jobs N is obeyed
    assert runner.available_memory() is None or runner.available_memory() > 0
