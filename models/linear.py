"""Linear autoregression: least squares on the same windows (scikit-learn)."""

FAMILY = "estimator"  # fit(x, y) / predict(x); deterministic, so it runs once (no seeds)
DEFAULTS = {}


def build(input_shape, horizon, options):
    from benchmark.models.baselines import LinearAutoregression

    return LinearAutoregression(horizon)
