"""Naive persistence: tomorrow equals today. The reference every model must beat."""

FAMILY = "estimator"  # fit(x, y) / predict(x); deterministic, so it runs once (no seeds)
REFERENCE = True  # every other model is judged against this one
DEFAULTS = {}


def build(input_shape, horizon, options):
    from benchmark.models.baselines import Persistence

    return Persistence(horizon)
