"""`python -m benchmark ui`: the MLflow UI on 127.0.0.1, opened on the benchmark's runs table."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from benchmark import tracking
from benchmark.errors import BenchmarkError


def runs_url(port: int, experiment_id: str) -> str:
    # MLflow 3 opens an experiment on its GenAI overview; the training-runs table lives at /runs.
    return f"http://127.0.0.1:{port}/#/experiments/{experiment_id}/runs"


def serve(uri: str | None, port: int, experiment: str | None) -> int:
    """Start `mlflow server` on the store and wait; Ctrl-C stops it."""
    uri = tracking.default_tracking_uri() if uri is None else uri
    if tracking.is_remote(uri):
        raise BenchmarkError(f"{uri} is already a server: open it in a browser")
    tracking.check_reachable(uri, must_exist=True, writes=False)  # a mistyped path must not become an empty store
    _check_port_free(port)
    tracker = tracking.Tracker(uri)
    tracker.ensure_store()
    experiment_id = tracker.find_experiment(experiment)
    if experiment and experiment_id is None:
        raise BenchmarkError(f"no experiment named '{experiment}' in {uri}")
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")
    command = [sys.executable, "-m", "mlflow", "server", "--backend-store-uri", uri, "--host", "127.0.0.1",
               "--port", str(port), "--workers", "1"]
    server = subprocess.Popen(command, env=env)
    try:
        _wait_healthy(port, server)
        where = runs_url(port, experiment_id) if experiment_id else f"http://127.0.0.1:{port}/"
        print(f"MLflow UI: {where}  (Ctrl-C stops it)", flush=True)
        server.wait()
    except KeyboardInterrupt:
        pass
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


def _check_port_free(port: int) -> None:
    """Refuse a port another program already listens on, before starting anything (otherwise that program's
    /health could answer for ours)."""
    import socket

    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.settimeout(1.0)
        if probe.connect_ex(("127.0.0.1", port)) == 0:
            raise BenchmarkError(f"port {port} on 127.0.0.1 is already in use by another program: choose another "
                                 "with --port")


def _wait_healthy(port: int, server: subprocess.Popen, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise BenchmarkError(f"mlflow server exited with code {server.returncode} (is port {port} free?)")
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2).read()
            return
        except OSError:
            time.sleep(0.5)
    raise BenchmarkError(f"mlflow server did not answer on port {port} within {timeout:.0f} s")
