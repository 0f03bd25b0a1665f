"""Trials on a real Dask cluster (a LocalCluster of two worker processes) logging to a real `mlflow server`."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from benchmark import tracking
from benchmark.models import registry
from benchmark.render import report
from tests.conftest import TINY_ARGS, baseline_count, benchmark_command

distributed = pytest.importorskip("distributed")
NETWORKS = ("mlp", "lstm")


@pytest.fixture
def cluster():
    import dask

    # A killed worker fails its task at once instead of the scheduler retrying it on another worker.
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1",
                                         dashboard_address=None)
        client = distributed.Client(local)
        yield local, client
        client.close()
        local.close()


def search_trials(server: str, experiment: str = "forecast-benchmark/tiny") -> list[dict]:
    name = urllib.parse.quote(experiment)
    try:
        got = json.loads(urllib.request.urlopen(
            f"{server}/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}", timeout=10).read())
    except urllib.error.HTTPError:
        return []
    body = json.dumps({"experiment_ids": [got["experiment"]["experiment_id"]],
                       "filter": "tags.run_type = 'trial'", "max_results": 1000}).encode()
    request = urllib.request.Request(f"{server}/api/2.0/mlflow/runs/search", data=body,
                                     headers={"Content-Type": "application/json"})
    runs = json.loads(urllib.request.urlopen(request, timeout=10).read()).get("runs", [])
    out = []
    for run in runs:
        params = {p["key"]: p["value"] for p in run["data"].get("params", [])}
        metrics = {m["key"]: m["value"] for m in run["data"].get("metrics", [])}
        tags = {t["key"]: t["value"] for t in run["data"].get("tags", [])}
        out.append({"model": params.get("model"), "seed": params.get("seed"), "status": run["info"]["status"],
                    "mae": metrics.get("mae"), "rmse": metrics.get("rmse"), "owner": tags.get("benchmark.owner", "")})
    return out


def dask_run(csv, server: str, scheduler: str, tmp_path, *extra: str) -> list[str]:
    return benchmark_command("run", "--data", str(csv), "--executor", "dask", "--scheduler", scheduler,
                             "--tracking-uri", server, "--results-dir", str(tmp_path / "results"), *extra)


@pytest.mark.slow
def test_dask_executor_gives_the_local_executors_trials_and_metrics(cluster, mlflow_server, tiny_run, tiny_csv,
                                                                   tmp_path):
    local, _ = cluster
    # a feed-forward and a recurrent network beside the baselines: the same trials as the shared local run's
    args = dask_run(tiny_csv, mlflow_server, local.scheduler_address, tmp_path, "--models", ",".join(NETWORKS),
                    "--seeds", "2", *TINY_ARGS)
    out = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-3000:]
    remote = {(r["model"], r["seed"]): r for r in search_trials(mlflow_server)}
    c = tracking.client(tiny_run.store)
    experiment_id = c.get_experiment_by_name("tiny").experiment_id
    config_hash = report.latest_parent(tiny_run.store, experiment_id).config_hash
    reference = report.trials_frame(tiny_run.store, experiment_id, config_hash)
    reference = reference[reference["model"].isin([*NETWORKS, *registry.baseline_names()])]
    assert set(reference["model"]) > set(NETWORKS)
    assert set(remote) == {(r.model, r.seed) for r in reference.itertuples()}
    for r in reference.itertuples():
        assert remote[(r.model, r.seed)]["status"] == "FINISHED"
        assert remote[(r.model, r.seed)]["mae"] == pytest.approx(r.mae, rel=1e-9), (r.model, r.seed)
        assert remote[(r.model, r.seed)]["rmse"] == pytest.approx(r.rmse, rel=1e-9), (r.model, r.seed)


@pytest.mark.slow
def test_a_killed_worker_fails_its_trial_and_a_rerun_completes_it(cluster, mlflow_server, tiny_csv, tmp_path):
    local, client = cluster
    slow = ["--window", "20", "--val-size", "40", "--test-size", "40", "--epochs", "40", "--no-early-stopping"]
    args = dask_run(tiny_csv, mlflow_server, local.scheduler_address, tmp_path, "--models", "rnn", "--seeds", "3",
                    *slow)
    child = subprocess.Popen(args, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    pids = client.run(os.getpid)  # worker address -> process id
    victim = None
    deadline = time.monotonic() + 240
    while victim is None and time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        running = [r for r in search_trials(mlflow_server) if r["model"] == "rnn" and r["status"] == "RUNNING"]
        # the worker that created a RUNNING RNN run is training it (its owner tag is host:pid:start)
        owners = {int(r["owner"].split(":")[1]) for r in running if r["owner"].count(":") >= 2}
        victim = next((pid for pid in pids.values() if pid in owners), None)
        time.sleep(0.5)
    assert victim is not None, "no RNN trial was seen training"
    os.kill(victim, signal.SIGKILL)  # the worker process dies mid-trial
    _, err = child.communicate(timeout=600)
    assert child.returncode == 1, err[-3000:]
    assert "worker process died" in err
    trials = search_trials(mlflow_server)
    rnn = [r for r in trials if r["model"] == "rnn"]
    assert sum(r["status"] == "FAILED" for r in rnn) == 1
    assert sum(r["status"] == "FINISHED" for r in rnn) == 2  # the others completed
    assert not any(r["status"] == "RUNNING" for r in trials)

    rerun = subprocess.run(args, cwd=tmp_path, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr[-3000:]
    assert f"resume: {baseline_count() + 2} finished trial(s)" in rerun.stderr
    finished = {r["seed"] for r in search_trials(mlflow_server) if r["model"] == "rnn" and r["status"] == "FINISHED"}
    assert finished == {"0", "1", "2"}


def test_remote_scheduler_with_a_local_sqlite_store_is_refused(tiny_csv, tmp_path):
    out = subprocess.run(benchmark_command("run", "--data", str(tiny_csv), "--executor", "dask", "--scheduler",
                                           "tcp://127.0.0.1:8786", "--tracking-uri", f"sqlite:///{tmp_path}/m.db",
                                           *TINY_ARGS), cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert "needs a tracking server" in out.stderr and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.db").exists()
