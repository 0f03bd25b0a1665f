"""One adapter per way of training, behind one protocol: `fit(spec, hyperparams, prepared, config, seed) -> Fit`
(trained on the training part of the prepared data, forecasting its test and validation windows, scaled).

The rest of the suite asks an adapter's questions (`needs_keras`, `statistical`, what it supports) and never
compares a model's FAMILY word: that word is read here, once, by `for_family`.
"""

from __future__ import annotations

import time

import numpy as np

from benchmark.models import training
from benchmark.models.conformal import method_for
from benchmark.models.contract import CAPABILITIES, Adapter, BuildOptions, Fit, TrialFailed
from benchmark.models.training import model_inputs, test_forecasts, val_forecasts


class KerasAdapter(Adapter):
    """A Keras network, compiled and trained the same way as every other (`benchmark.models.training`)."""

    name = "keras"
    needs_keras = True
    default_stochastic = True
    default_cost = 1.0
    supports = frozenset({"channels"})

    def quantile_source(self, spec, config) -> str:
        if config.intervals == "pinball":
            return "model (pinball loss)"
        return super().quantile_source(spec, config)

    def fit(self, spec, hyperparams, prepared, config, seed):
        # A network that is not stochastic runs once with seed None and is trained under seed 0: reproducible too.
        return training.fit_keras(spec, hyperparams, prepared, config, 0 if seed is None else seed)


class EstimatorAdapter(Adapter):
    """`fit(x, y)` / `predict(x)` on the same scaled windows as the networks (scikit-learn style)."""

    name = "estimator"
    supports = frozenset({"channels", "quantiles"})

    def quantile_source(self, spec, config) -> str:
        # An estimator's own quantiles are of the forecasts it emits: a recursive run trains one-step estimators,
        # whose H-step quantiles are conformal.
        if config.strategy == "recursive" and config.horizon > 1:
            return f"conformal ({method_for(config.intervals)})"
        return super().quantile_source(spec, config)

    def fit(self, spec, hyperparams, prepared, config, seed):
        start = time.perf_counter()
        shape = (prepared.lookback, prepared.channels if spec.channels else 1)
        estimator = spec.build(shape, prepared.fit_horizon, BuildOptions(unroll=config.unroll, seed=seed),
                               **hyperparams)
        estimator.fit(model_inputs(spec, prepared.train), prepared.train.targets)

        def predict(inputs):
            return estimator.predict(inputs)

        predictions = test_forecasts(predict, prepared, spec)
        quantiles = None
        if config.quantiles and self.quantile_source(spec, config) == "model":
            quantiles = np.asarray(estimator.predict_quantiles(model_inputs(spec, prepared.test),
                                                               tuple(config.quantiles)), dtype=np.float64)
        return Fit(predictions, val_forecasts(predict, prepared, spec), train_seconds=time.perf_counter() - start,
                   test_quantiles=quantiles)


class SeriesAdapter(Adapter):
    """A statistical model: parameters from the training part of the series, then every origin's forecasts with
    them fixed (multi-step forecasts come from the model's own recursion whatever the strategy)."""

    name = "series"
    statistical = True
    supports = frozenset({"quantiles"})  # it reads the target alone

    def fit(self, spec, hyperparams, prepared, config, seed):
        start = time.perf_counter()
        forecaster = spec.build((prepared.lookback, 1), prepared.horizon, BuildOptions(unroll=config.unroll,
                                                                                        seed=seed), **hyperparams)
        values, test, val = prepared.series.values, prepared.test, prepared.val_forecast
        forecaster.fit(values[: prepared.bounds.val_start])
        predictions = (forecaster.forecast(values, test.origins, prepared.horizon) - test.loc) / test.scale
        val_scaled = None
        if val is not None:
            val_scaled = (forecaster.forecast(values, val.origins, val.y.shape[1]) - val.loc) / val.scale
        if not np.all(np.isfinite(predictions)):
            raise TrialFailed("the model forecast non-finite values")
        quantiles = None
        if config.quantiles and self.quantile_source(spec, config) == "model":
            prices = forecaster.forecast_quantiles(values, test.origins, prepared.horizon, tuple(config.quantiles))
            quantiles = (np.asarray(prices, dtype=np.float64) - test.loc[..., None]) / test.scale[..., None]
        return Fit(predictions, val_scaled, train_seconds=time.perf_counter() - start, test_quantiles=quantiles)


ADAPTERS = {adapter.name: adapter for adapter in (KerasAdapter(), EstimatorAdapter(), SeriesAdapter())}
CAPABILITY_NAMES = {field: constant for constant, field in CAPABILITIES.items()}  # field -> module constant


def quantile_source(spec, config) -> str:
    """Where a trial's --quantiles come from: "model" (its own predictive distribution) or "conformal (METHOD)"."""
    return spec.adapter.quantile_source(spec, config)


def for_family(family: str) -> Adapter | None:
    """The adapter a model file's FAMILY names (None for an unknown word)."""
    return ADAPTERS.get(family)


def unsupported(adapter: Adapter, capabilities: dict[str, bool]) -> list[str]:
    """The declared capabilities (as their module constants) this way of training cannot honour."""
    return [CAPABILITY_NAMES[c] for c, on in capabilities.items() if on and c not in adapter.supports]
