"""Naive persistence: tomorrow equals today; its intervals, a random walk. The reference every model must beat."""

FAMILY = "estimator"  # fit(x, y) / predict(x); deterministic, so it runs once (no seeds)
REFERENCE = True  # every other model is judged against this one
QUANTILES = True  # its distribution: a Gaussian random walk with the training period's volatility
DEFAULTS = {}


def build(input_shape, horizon, options):
    from benchmark.models.baselines import Persistence

    return Persistence(horizon)
