"""Comparative benchmark suite for neural time-series forecasters.

From Python: `benchmark.run(models=[...], seeds=3, data="prices.csv", ...)` trains and evaluates, and
`benchmark.load(tracking_uri=..., experiment=...)` reads a finished benchmark back; both return `Results`
(see `benchmark.api`). Heavy imports (TensorFlow, MLflow) happen only when they are called.
"""

from benchmark.errors import BenchmarkError
from benchmark.files import PROJECT_ROOT, bundled

__version__ = "0.1.0"
__all__ = ["PROJECT_ROOT", "BenchmarkError", "bundled", "load", "run"]


def run(**kwargs):
    """Train and evaluate a benchmark and write its leaderboard; its `Results` (see `benchmark.api.run`)."""
    from benchmark import api

    return api.run(**kwargs)


def load(tracking_uri: str | None = None, experiment: str | None = None, config_hash: str | None = None):
    """A finished benchmark's `Results` from its tracking store alone (see `benchmark.api.load`)."""
    from benchmark import api

    return api.load(tracking_uri, experiment, config_hash)
