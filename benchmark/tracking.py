"""MLflow: where the store is, the benchmark's experiment, parent and trial runs, and what already finished.

Everything goes through `MlflowClient` with explicit run ids (no fluent active-run state), so the same code logs
from the driver, from worker processes and against a remote `mlflow server`.
"""

from __future__ import annotations

import contextlib
import os
import platform
import subprocess
import urllib.error
import urllib.request
from pathlib import Path
from urllib.parse import urlparse

from benchmark import PROJECT_ROOT
from benchmark.errors import BenchmarkError

EXPERIMENT_PREFIX = "forecast-benchmark"
EXPERIMENT_DESCRIPTION = (
    "Compares neural forecasters (MLP, SimpleRNN, LSTM, GRU; Keras on TensorFlow) with baselines "
    "(naive persistence, drift, linear autoregression) on the same test points, over several seeds. "
    "Parent runs are invocations; child runs are (model, seed) trials. Compare `mae`/`rmse` in the runs table, "
    "group by the `model` param to average over seeds. The generated leaderboard states significance vs naive."
)


def default_tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` if set, else a SQLite store in the project folder (absolute, so cwd never matters)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{PROJECT_ROOT / 'mlflow.db'}"


def is_remote(uri: str) -> bool:
    return urlparse(uri).scheme in ("http", "https", "databricks")


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def check_reachable(uri: str, timeout: float = 5.0) -> None:
    """Fail before any training when the store cannot be used: an unreachable server or an unwritable folder."""
    scheme = urlparse(uri).scheme
    if scheme in ("http", "https"):
        try:
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise BenchmarkError(f"tracking server {uri} is unreachable ({exc})") from None
        return
    path = _sqlite_path(uri)
    if path is None:
        raise BenchmarkError(f"unsupported tracking URI '{uri}': use sqlite:///ABSOLUTE/PATH.db or http://HOST:PORT")
    if not path.parent.is_dir() or not os.access(path.parent, os.W_OK):
        raise BenchmarkError(f"tracking store folder {path.parent} does not exist or is not writable")


def client(uri: str):
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def ensure_store(uri: str) -> None:
    """Create the SQLite schema once, in this (parent) process: concurrent first creation corrupts the store."""
    client(uri).search_experiments(max_results=1)


def experiment_name(dataset: str) -> str:
    return f"{EXPERIMENT_PREFIX}/{dataset}"


def ensure_experiment(uri: str, name: str) -> str:
    """The experiment's id, created with a description (and a local artifact folder for SQLite stores)."""
    c = client(uri)
    found = c.get_experiment_by_name(name)
    if found is not None:
        if found.lifecycle_stage == "deleted":
            raise BenchmarkError(f"experiment '{name}' is deleted in {uri}; restore it or use --experiment")
        return found.experiment_id
    artifact_location = None
    db = _sqlite_path(uri)
    if db is not None:
        artifact_location = (db.parent / "mlartifacts").as_uri()
    experiment_id = c.create_experiment(name, artifact_location=artifact_location,
                                        tags={"mlflow.note.content": EXPERIMENT_DESCRIPTION})
    return experiment_id


def environment_tags() -> dict[str, str]:
    """Versions, commit and CPU: what decides whether two runs' numbers may be compared bit for bit."""
    from importlib.metadata import PackageNotFoundError, version

    tags = {"benchmark.cpu": platform.processor() or platform.machine(),
            "benchmark.python": platform.python_version(),
            "benchmark.onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
            "benchmark.git_commit": git_commit()}
    for package in ("tensorflow", "keras", "mlflow", "numpy", "pandas", "scikit-learn"):
        with contextlib.suppress(PackageNotFoundError):
            tags[f"benchmark.version.{package}"] = version(package)
    return tags


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def trial_runs(uri: str, experiment_id: str, config_hash: str, status: str | None = None) -> list:
    """All trial runs of one configuration, optionally only those with the given status."""
    query = f"tags.run_type = 'trial' AND tags.config_hash = '{config_hash}'"
    if status:
        query += f" AND attributes.status = '{status}'"
    runs, token = [], None
    while True:
        page = client(uri).search_runs([experiment_id], query, max_results=1000, page_token=token)
        runs.extend(page)
        token = page.token
        if not token:
            return runs


def trial_key(model: str, seed: int | None, model_hash: str) -> tuple[str, str, str]:
    return model, "none" if seed is None else str(seed), model_hash


def run_key(run) -> tuple[str, str, str]:
    return run.data.params.get("model"), run.data.params.get("seed"), run.data.tags.get("model_hash", "")
