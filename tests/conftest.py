"""Shared fixtures: small real series as CSV files and temporary MLflow SQLite stores."""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

# Quiet, deterministic TensorFlow in this process and in every `python -m benchmark` child.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")


def _interrupted(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


# A test session stopped by SIGTERM (an outer `timeout`, CI cancelling) unwinds like Ctrl-C, so every test's
# `finally` and fixture teardown run: the servers, clusters and process groups the tests started are stopped,
# never left running behind the session.
signal.signal(signal.SIGTERM, _interrupted)

def baseline_count() -> int:
    """How many baselines every run adds (they always run, whatever --models says)."""
    from benchmark.models import registry

    return len(registry.baseline_names())


# Small enough for one-epoch trials in seconds; long enough for window 20 + validation 40 + test 40.
TINY_ARGS = ["--window", "20", "--val-size", "40", "--test-size", "40", "--epochs", "1", "--patience", "1",
             "--jobs", "1"]


def shared(tmp_path_factory, name: str, build: Callable[[Path], dict]) -> dict:
    """`build(folder)`'s answer, built once for the whole test session: under pytest-xdist the first worker to ask
    builds it in a fresh folder while the others wait on a lock, then every worker reads the same answer (a failed
    build leaves no answer, so the next one to ask builds again in another fresh folder)."""
    base = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        base = base.parent  # the session's folder, above every worker's own
    answer = base / f"{name}.json"
    with open(base / f"{name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not answer.is_file():
                value = build(Path(tempfile.mkdtemp(prefix=f"{name}-", dir=base)))
                answer.write_text(json.dumps(value))
            return json.loads(answer.read_text())
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _write_tiny_csv(folder: Path) -> dict:
    from benchmark.data.catalog import seasonal_ar

    values = seasonal_ar()[:300]
    dates = pd.date_range("2020-01-01", periods=len(values), freq="D")
    path = folder / "tiny.csv"
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Close": np.round(values, 6)}).to_csv(path, index=False)
    return {"path": str(path)}


@pytest.fixture(scope="session")
def tiny_csv(tmp_path_factory) -> Path:
    """The first 300 points of the seasonal calibration series as a Yahoo-style CSV (one file for the session)."""
    return Path(shared(tmp_path_factory, "tiny_csv", _write_tiny_csv)["path"])


def _empty_store(folder: Path) -> dict:
    from benchmark.tracking import Tracker

    path = folder / "mlflow.db"
    Tracker(f"sqlite:///{path}").ensure_store()  # MLflow's migrations: seconds, paid once per session
    return {"path": str(path)}


@pytest.fixture(scope="session")
def empty_store(tmp_path_factory) -> Path:
    """A real MLflow SQLite store with its schema created and nothing logged in it (one file for the session)."""
    return Path(shared(tmp_path_factory, "empty_store", _empty_store)["path"])


@pytest.fixture
def new_store(empty_store) -> Callable[[Path], str]:
    """`new_store(path)`: the URI of a new, empty SQLite tracking store at `path`, a copy of `empty_store` (a store
    MLflow has just created holds its schema and nothing else, so a copy is one). Tests of how the suite creates a
    store, or refuses to, name a missing file instead."""
    def make(path: Path) -> str:
        shutil.copyfile(empty_store, path)
        return f"sqlite:///{path}"

    return make


@pytest.fixture
def store(tmp_path, new_store) -> str:
    """A new, empty SQLite tracking store's URI in a temporary folder."""
    return new_store(tmp_path / "mlflow.db")


STATUS_SQL = """
SELECT model.value AS model, seed.value AS seed, runs.status AS status, COALESCE(reason.value, '') AS reason
FROM runs
JOIN tags AS kind ON kind.run_uuid = runs.run_uuid AND kind.key = 'run_type' AND kind.value = 'trial'
LEFT JOIN params AS model ON model.run_uuid = runs.run_uuid AND model.key = 'model'
LEFT JOIN params AS seed ON seed.run_uuid = runs.run_uuid AND seed.key = 'seed'
LEFT JOIN tags AS reason ON reason.run_uuid = runs.run_uuid AND reason.key = 'failure_reason'
"""


def trial_statuses(store: str) -> pd.DataFrame:
    """Trial runs read straight from the SQLite file, read-only: polling never races the child's writes."""
    path = store.removeprefix("sqlite:///")
    columns = ["model", "seed", "status", "reason"]
    if not os.path.exists(path):
        return pd.DataFrame(columns=columns)
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=10) as db:
            return pd.DataFrame(db.execute(STATUS_SQL).fetchall(), columns=columns)
    except sqlite3.OperationalError:  # tables not created yet
        return pd.DataFrame(columns=columns)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def benchmark_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "benchmark", *args]


def run_cli(store: str, csv, *extra: str, experiment: str = "tiny", results_dir=None) -> int:
    """`python -m benchmark run` in this process (TensorFlow imported once for the whole test session)."""
    from benchmark import cli

    args = ["run", "--data", str(csv), "--models", "all", "--seeds", "2", "--tracking-uri", store,
            "--experiment", experiment, *TINY_ARGS, *extra]
    # Outputs beside the store, never in the project's own results/.
    results_dir = results_dir or Path(store.removeprefix("sqlite:///")).parent / "results"
    return cli.main([*args, "--results-dir", str(results_dir)])


@dataclass
class TinyRun:
    store: str
    code: int
    results_dir: Path


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory, tiny_csv) -> TinyRun:
    """One real benchmark (every network x 2 seeds, 1 epoch, + baselines) on the tiny series, run once for the
    whole session and shared by tests (and by xdist workers): read it, or copy it before changing it."""
    def build(folder: Path) -> dict:
        store = f"sqlite:///{folder / 'mlflow.db'}"
        return {"store": store, "code": run_cli(store, tiny_csv, results_dir=folder / "results"),
                "results_dir": str(folder / "results")}

    run = shared(tmp_path_factory, "tiny_run", build)
    return TinyRun(run["store"], run["code"], Path(run["results_dir"]))


@pytest.fixture
def mlflow_server(tmp_path, new_store):
    """A real `mlflow server` on 127.0.0.1 (free port, one worker) over a temporary SQLite store."""
    port = free_port()
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", new_store(tmp_path / "s.db"),
               "--artifacts-destination", str(tmp_path / "artifacts"), "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 90
    while True:
        try:
            urllib.request.urlopen(url + "/health", timeout=2).read()
            break
        except OSError:
            assert server.poll() is None and time.monotonic() < deadline, "mlflow server did not start"
            time.sleep(0.5)
    yield url
    os.killpg(server.pid, signal.SIGTERM)  # the server and its uvicorn worker, by process id
    server.wait(timeout=30)


