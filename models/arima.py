"""ARIMA(p,1,q) on log prices, orders by AIC on the training part (statsmodels), then fixed."""

FAMILY = "series"  # fitted on the training part of the series; forecasts every test origin with fixed parameters
QUANTILES = True  # its own Gaussian forecast distribution (statsmodels), on the scale it was fitted on
DEFAULTS = {"max_order": 2, "log": True}


def build(input_shape, horizon, options, max_order, log):
    from benchmark.models.statistical import Arima

    return Arima(max_order, log)
