"""A real `mlflow server` on 127.0.0.1: the benchmark logs over HTTP and the runs read back over REST."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.parse
import urllib.request

import pytest

from tests.conftest import TINY_ARGS, benchmark_command


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
    assert set(runs) == {"mlp", "naive", "drift", "linear"}
    for run in runs.values():
        metrics = {m["key"]: m["value"] for m in run["data"]["metrics"]}
        assert run["info"]["status"] == "FINISHED"
        assert metrics["mae"] > 0 and metrics["rmse"] >= metrics["mae"]
    naive = {m["key"]: m["value"] for m in runs["naive"]["data"]["metrics"]}
    assert f"mae={naive['mae']:.4g}" in out.stderr  # what the terminal said is what the server holds
    assert not (tmp_path / "mlflow.db").exists()  # nothing logged locally
