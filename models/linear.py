"""Linear autoregression: least squares on the same windows (scikit-learn)."""

SEEDED = False
DEFAULTS = {}


def build(input_shape, horizon):
    from benchmark.baselines import LinearAutoregression

    return LinearAutoregression(horizon)
