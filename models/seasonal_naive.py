"""Seasonal naive: each step equals the value one season earlier (a trading week: 5 days)."""

FAMILY = "estimator"  # fit(x, y) / predict(x); deterministic, so it runs once (no seeds)
DEFAULTS = {"season": 5}


def build(input_shape, horizon, options, season):
    from benchmark.models.baselines import SeasonalNaive

    return SeasonalNaive(horizon, season)
