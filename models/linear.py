"""Linear autoregression: least squares on the same windows (scikit-learn)."""

FAMILY = "estimator"  # fit(x, y) / predict(x); deterministic, so it runs once (no seeds)
CHANNELS = True  # least squares over every input channel: the target, then the --covariates columns
DEFAULTS = {}


def build(input_shape, horizon, options):
    from benchmark.models.baselines import LinearAutoregression

    return LinearAutoregression(horizon)
