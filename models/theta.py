"""Theta method: exponential smoothing plus half the linear trend, on log prices (statsmodels), fitted on train."""

FAMILY = "series"  # fitted on the training part of the series; forecasts every test origin with fixed parameters
QUANTILES = True  # its own Gaussian forecast distribution (statsmodels), on the scale it was fitted on
DEFAULTS = {"log": True}


def build(input_shape, horizon, options, log):
    from benchmark.models.statistical import Theta

    return Theta(log)
