"""Comparative benchmark suite for neural time-series forecasters.

From Python: `benchmark.run(models=[...], seeds=3, data="prices.csv", ...)` trains and evaluates, and
`benchmark.load(tracking_uri=..., experiment=...)` reads a finished benchmark back; both return `Results`
(see `benchmark.api`). Heavy imports (TensorFlow, MLflow) happen only when they are called.
"""

from pathlib import Path

from benchmark.errors import BenchmarkError

__version__ = "0.1.0"
__all__ = ["BenchmarkError", "load", "run", "bundled"]

# In a source checkout, the folder that holds the package, models/, datasets/ and experiments/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def bundled(name: str) -> Path:
    """The bundled `models` or `datasets` folder: inside the installed package (a wheel carries them as
    benchmark/bundled_NAME), else beside the package in a source checkout (the repository keeps them there)."""
    installed = Path(__file__).resolve().parent / f"bundled_{name}"
    return installed if installed.is_dir() else PROJECT_ROOT / name


def run(**kwargs):
    """Train and evaluate a benchmark and write its leaderboard; its `Results` (see `benchmark.api.run`)."""
    from benchmark import api

    return api.run(**kwargs)


def load(tracking_uri: str | None = None, experiment: str | None = None, config_hash: str | None = None):
    """A finished benchmark's `Results` from its tracking store alone (see `benchmark.api.load`)."""
    from benchmark import api

    return api.load(tracking_uri, experiment, config_hash)
