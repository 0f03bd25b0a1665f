"""A real `mlflow server` on 127.0.0.1: the benchmark logs over HTTP and the runs read back over REST."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request

import pytest

from benchmark.models import registry
from tests.conftest import TINY_ARGS, baseline_count, benchmark_command


def rest(url: str, endpoint: str, body: dict) -> dict:
    request = urllib.request.Request(f"{url}/api/2.0/mlflow/{endpoint}", data=json.dumps(body).encode(),
                                     headers={"Content-Type": "application/json"})
    return json.loads(urllib.request.urlopen(request, timeout=30).read())


@pytest.mark.slow
def test_benchmark_logs_to_a_real_server(mlflow_server, tiny_csv, tmp_path):
    env = dict(os.environ, MLFLOW_TRACKING_URI=mlflow_server)
    out = subprocess.run(benchmark_command("run", "--data", str(tiny_csv), "--models", "mlp", "--seeds", "1",
                                           "--results-dir", str(tmp_path / "results"), *TINY_ARGS),
                         env=env, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    name = urllib.parse.quote("forecast-benchmark/tiny")
    get = f"{mlflow_server}/api/2.0/mlflow/experiments/get-by-name?experiment_name={name}"
    experiment = json.loads(urllib.request.urlopen(get, timeout=30).read())
    experiment_id = experiment["experiment"]["experiment_id"]
    found = rest(mlflow_server, "runs/search", {"experiment_ids": [experiment_id],
                                                "filter": "tags.run_type = 'trial'"})
    runs = {next(p["value"] for p in r["data"]["params"] if p["key"] == "model"): r for r in found["runs"]}
    assert set(runs) == {"mlp", *registry.baseline_names()}
    for run in runs.values():
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        assert run["info"]["status"] == "FINISHED"
        assert metrics["mae"] > 0 and metrics["rmse"] >= metrics["mae"]
    naive = {m["key"]: m["value"] for m in runs["naive"]["data"]["metrics"]}
    assert f"mae={naive['mae']:.4g}" in out.stderr  # what the terminal said is what the server holds
    assert not (tmp_path / "mlflow.db").exists()  # nothing logged locally


def start_server(store: str, artifacts: str, port: int) -> subprocess.Popen:
    import sys
    import time

    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    server = subprocess.Popen([sys.executable, "-m", "mlflow", "server", "--backend-store-uri", store,
                               "--artifacts-destination", artifacts, "--host", "127.0.0.1", "--port", str(port),
                               "--workers", "1"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            return server
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.5)


def stop_server(server: subprocess.Popen) -> None:
    import signal

    os.killpg(server.pid, signal.SIGKILL)
    server.wait(timeout=30)


@pytest.mark.slow
def test_a_server_that_dies_mid_run_ends_the_run_in_bounded_time_and_a_rerun_loses_nothing(tiny_csv, tmp_path,
                                                                                            new_store):
    import time

    from tests.conftest import free_port

    port, store, artifacts = free_port(), new_store(tmp_path / "s.db"), str(tmp_path / "artifacts")
    url = f"http://127.0.0.1:{port}"
    args = ["run", "--data", str(tiny_csv), "--models", "mlp,lstm", "--seeds", "3", "--tracking-uri", url,
            "--results-dir", str(tmp_path / "results"), *TINY_ARGS, "--epochs", "5", "--no-early-stopping"]
    server = start_server(store, artifacts, port)
    run = subprocess.Popen(benchmark_command(*args), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:  # some trials finished, others to come
        found = rest(url, "runs/search", {"experiment_ids": ["1"], "filter": "attributes.status = 'FINISHED'"})
        if len(found.get("runs", [])) >= 4:
            break
        time.sleep(1)
    stop_server(server)
    killed_at = time.monotonic()
    _, err = run.communicate(timeout=300)
    assert time.monotonic() - killed_at < 90, "the run did not notice the dead server in time"
    assert run.returncode != 0
    lines = err.strip().splitlines()
    assert "stopped answering" in lines[-1] and url in lines[-1] and "Traceback" not in err, err[-3000:]
    server = start_server(store, artifacts, port)
    try:
        rerun = subprocess.run(benchmark_command(*args), cwd=tmp_path, capture_output=True, text=True, timeout=600)
        assert rerun.returncode == 0, rerun.stderr[-3000:]
        found = rest(url, "runs/search", {"experiment_ids": ["1"], "filter": "tags.run_type = 'trial'",
                                          "max_results": 1000})
    finally:
        stop_server(server)
    finished = [(next(x["value"] for x in r["data"]["params"] if x["key"] == "model"),
                 next(x["value"] for x in r["data"]["params"] if x["key"] == "seed"))
                for r in found["runs"] if r["info"]["status"] == "FINISHED"]
    # no duplicate, none lost
    assert sorted(finished) == sorted(set(finished)) and len(finished) == 2 * 3 + baseline_count()
