"""Drift: the last value plus the window's mean daily change."""

FAMILY = "estimator"  # fit(x, y) / predict(x); deterministic, so it runs once (no seeds)
DEFAULTS = {}


def build(input_shape, horizon, options):
    from benchmark.models.baselines import Drift

    return Drift(horizon)
