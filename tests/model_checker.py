"""The one checker every model's test calls: builds, trains one epoch, predicts the right shape."""

from __future__ import annotations

import numpy as np

from benchmark.config.experiment import resolve
from benchmark.data.series import Series
from benchmark.models import registry
from benchmark.models.training import fit_model
from benchmark.pipeline.windows import prepare


def check_model(name: str, horizon: int = 1) -> np.ndarray:
    """Fit `name` with its defaults on a small series; return its scaled test predictions [n_test, horizon]."""
    spec = registry.get(name)
    values = 50 + 5 * np.sin(np.arange(240) / 5.0) + np.random.default_rng(0).normal(0, 0.3, 240)
    prepared = prepare(Series.from_array("check", values, source="test"), 16, horizon, 4 * horizon, 20, "window")
    config = resolve("default", epochs=1, patience=1, batch_size=32, models=(name,), seeds=(0,))
    fit = fit_model(spec, dict(spec.defaults), prepared, config, seed=0)
    assert fit.test_scaled.shape == (len(prepared.test), horizon)
    assert np.all(np.isfinite(fit.test_scaled))
    assert fit.epochs_run == (1 if spec.adapter.needs_keras else 0)
    return fit.test_scaled
