"""`--speed fastest`: each network on its model file's FASTEST implementation, recorded per trial, one Keras backend
per process (a pool of its own for the JAX trials), its own experiment, and refusals before any work."""

from __future__ import annotations

import dataclasses

import pytest

from benchmark import cli, tracking
from benchmark.config.experiment import resolve
from benchmark.errors import BenchmarkError
from benchmark.evaluation.trial import trial_config, trial_key
from benchmark.models import registry
from tests.conftest import run_cli


def test_the_classic_four_name_their_fastest_implementation_and_the_others_keep_the_run_s():
    assert {name: dict(registry.get(name).fastest) for name in ("mlp", "rnn", "lstm", "gru")} == {
        "mlp": {"backend": "jax"}, "rnn": {"unroll": True}, "lstm": {"kernel": "fused"}, "gru": {"unroll": True}}
    config = resolve("default", speed="fastest")
    assert (trial_config(config, "mlp").backend, trial_config(config, "rnn").unroll,
            trial_config(config, "lstm").kernel) == ("jax", True, "fused")
    for name in ("tcn", "transformer", "naive", "arima"):
        assert trial_config(config, name) is config
    assert trial_config(resolve("default"), "mlp").backend == "tensorflow"  # only under --speed fastest


def test_the_speed_is_its_own_experiment_and_a_trial_keeps_the_run_s_hash():
    plain, fastest = resolve("default"), resolve("default", speed="fastest")
    assert resolve("default", speed="default").config_hash == plain.config_hash  # earlier results keep their hash
    assert fastest.config_hash != plain.config_hash
    assert {trial_config(fastest, m).config_hash for m in registry.neural_names()} == {fastest.config_hash}
    # the implementation is in the trial's key: a changed FASTEST resumes nothing of the old one
    assert trial_key("lstm", fastest) != trial_key("lstm", plain)
    assert trial_key("naive", fastest) != trial_key("naive", plain)  # keys are per speed, baselines included
    assert trial_key("lstm", plain) == trial_key("lstm", dataclasses.replace(plain, seeds=(7,)))


@pytest.mark.parametrize(("extra", "message"), [
    (["--unroll"], "--speed fastest chooses each network's backend, unrolling and kernel"),
    (["--kernel", "fused"], "--speed fastest chooses each network's backend, unrolling and kernel"),
    (["--backend", "jax"], "--speed fastest chooses each network's backend, unrolling and kernel"),
    (["--executor", "dask"], "--speed fastest runs mlp on jax, and a Dask cluster's workers run one Keras backend"),
])
def test_what_fastest_cannot_honour_is_refused_in_one_line_before_any_work(tiny_csv, tmp_path, capsys, extra,
                                                                            message):
    store = tmp_path / "mlflow.db"
    code = cli.main(["run", "--data", str(tiny_csv), "--speed", "fastest", "--tracking-uri", f"sqlite:///{store}",
                     "--results-dir", str(tmp_path / "results"), *extra])
    err = capsys.readouterr().err.strip()
    assert code == 2 and message in err and len(err.splitlines()) == 1, err
    assert not store.exists() and not (tmp_path / "results").exists()


def test_a_missing_backend_is_named(monkeypatch):
    from benchmark.execution import runner
    from benchmark.models import backends

    monkeypatch.setattr(backends, "available", lambda backend: backend != "jax")
    with pytest.raises(BenchmarkError, match=r"--speed fastest runs mlp on jax, which is not installed: pip install "
                                             r"'forecast-benchmark\[jax\]'"):
        runner.check_fastest(resolve("default", speed="fastest", models=("mlp", "lstm")))


@pytest.mark.slow
def test_each_trial_runs_and_records_its_implementation_and_a_rerun_trains_nothing(tiny_csv, store, capsys):
    assert run_cli(store, tiny_csv, "--models", "mlp,rnn,lstm,gru", "--seeds", "1", "--speed", "fastest") == 0
    client = tracking.client(store)
    experiment = client.get_experiment_by_name("tiny")
    runs = client.search_runs([experiment.experiment_id], "tags.run_type = 'trial'")
    parent = client.search_runs([experiment.experiment_id], "tags.run_type = 'parent'")[0]
    by_model = {r.data.params["model"]: r for r in runs}
    assert all(r.info.status == "FINISHED" for r in runs) and len(runs) == 4 + len(registry.baseline_names())
    assert {r.data.tags["config_hash"] for r in runs} == {parent.data.tags["config_hash"]}
    implementation = {m: (by_model[m].data.params["backend"], by_model[m].data.params["unroll"],
                          by_model[m].data.params["kernel"], by_model[m].data.tags[tracking.BACKEND])
                      for m in ("mlp", "rnn", "lstm", "gru")}
    tf = "tensorflow"
    assert implementation == {"mlp": ("jax", "False", "keras", "jax"), "rnn": (tf, "True", "keras", tf),
                              "lstm": (tf, "False", "fused", tf), "gru": (tf, "True", "keras", tf)}
    assert by_model["lstm"].data.params["kernel_used"] == "fused"
    assert by_model["mlp"].data.params["speed"] == "fastest"
    assert parent.data.tags[tracking.BACKEND] == "tensorflow"
    capsys.readouterr()
    assert run_cli(store, tiny_csv, "--models", "mlp,rnn,lstm,gru", "--seeds", "1", "--speed", "fastest") == 0
    assert f"{4 + len(registry.baseline_names())} finished trial(s)" in capsys.readouterr().err


@pytest.mark.parametrize("jobs", [1, 2])
def test_the_local_executor_runs_nothing_when_nothing_is_left(jobs):
    """A rerun of finished work (a global panel's rerun reaches the executor with no trial) yields nothing."""
    from benchmark.execution import executors

    assert list(executors.run_local([], jobs)) == []


def test_trials_are_grouped_by_the_backend_they_run_on_in_schedule_order():
    from benchmark.evaluation.trial import TrialSpec
    from benchmark.execution import executors

    config = resolve("default", speed="fastest")
    specs = [TrialSpec(m, 0, trial_config(config, m), "sqlite://", "0", "p") for m in ("lstm", "mlp", "gru", "naive")]
    groups = executors.by_backend(specs)
    assert {b: [s.model for s in g] for b, g in groups.items()} == {"tensorflow": ["lstm", "gru", "naive"],
                                                                  "jax": ["mlp"]}
