"""Exponential smoothing with a damped trend, ETS(A,Ad,N), on log prices (statsmodels), fitted on train."""

FAMILY = "series"  # fitted on the training part of the series; forecasts every test origin with fixed parameters
QUANTILES = True  # its own Gaussian forecast distribution (statsmodels), on the scale it was fitted on
DEFAULTS = {"damped": True, "log": True}


def build(input_shape, horizon, options, damped, log):
    from benchmark.models.statistical import Ets

    return Ets(damped, log)
