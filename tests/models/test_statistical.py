"""The statistical baselines (benchmark/models/statistical.py, models/arima|ets|theta|seasonal_naive.py): fitted on the
training part only, then forecasting every origin with fixed parameters from the values before it."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from benchmark.config.experiment import resolve
from benchmark.data.series import Series
from benchmark.models import registry
from benchmark.models.baselines import SeasonalNaive
from benchmark.models.statistical import Arima, Ets, Theta
from benchmark.models.training import fit_model
from benchmark.pipeline.windows import prepare

STATISTICAL = ("arima", "ets", "theta")


def _walk(length: int = 700, seed: int = 3) -> np.ndarray:
    """A positive random walk with a little momentum (so ARIMA picks an AR/MA term)."""
    rng = np.random.default_rng(seed)
    steps = np.zeros(length)
    shocks = rng.normal(0.0, 0.01, length)
    for t in range(1, length):
        steps[t] = 0.3 * steps[t - 1] + shocks[t]
    return 100.0 * np.exp(np.cumsum(steps))


def test_the_statistical_models_are_registered_as_deterministic_baselines():
    for name in STATISTICAL:
        spec = registry.get(name)
        assert spec.adapter.statistical and not spec.stochastic and spec.kind == "baseline"
    assert not registry.get("seasonal_naive").adapter.statistical
    assert {*STATISTICAL, "seasonal_naive"} <= set(registry.select("mlp"))


@pytest.mark.parametrize("cls", [Arima, Ets])
def test_state_space_forecasts_equal_statsmodels_own_forecasts_at_every_origin(cls):
    values = _walk()
    model = cls().fit(values[:500])
    origins = np.array([500, 531, 650, 699])
    ours = model.forecast(values, origins, 5)
    for origin, row in zip(origins, ours, strict=True):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            theirs = np.exp(model.results.apply(np.log(values[:origin]) / model.unit).forecast(5) * model.unit)
        np.testing.assert_allclose(row, theirs, rtol=1e-10)


def test_theta_equals_statsmodels_at_the_end_of_training():
    from statsmodels.tsa.forecasting.theta import ThetaModel

    values = _walk()
    ours = Theta().fit(values[:500]).forecast(values, np.array([500]), 5)[0]
    theirs = np.exp(np.asarray(ThetaModel(np.log(values[:500]), deseasonalize=False).fit().forecast(5)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-10)


@pytest.mark.parametrize("cls", [Arima, Ets])
def test_state_space_quantiles_are_statsmodels_own_intervals_at_the_end_of_training(cls):
    """At the end of training the applied model is the fitted one: its intervals are `get_forecast`'s."""
    values = _walk()
    model = cls().fit(values[:500])
    ours = model.forecast_quantiles(values, np.array([500]), 5, (0.05, 0.5, 0.95))[0]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = model.results.get_forecast(5)
    bounds = np.exp(np.asarray(theirs.conf_int(alpha=0.1)) * model.unit)
    np.testing.assert_allclose(ours[:, 0], bounds[:, 0], rtol=1e-8)
    np.testing.assert_allclose(ours[:, 2], bounds[:, 1], rtol=1e-8)
    np.testing.assert_allclose(ours[:, 1], np.exp(np.asarray(theirs.predicted_mean) * model.unit), rtol=1e-10)


def test_theta_quantiles_are_statsmodels_prediction_intervals_at_the_end_of_training():
    from statsmodels.tsa.forecasting.theta import ThetaModel

    values = _walk()
    ours = Theta().fit(values[:500]).forecast_quantiles(values, np.array([500]), 5, (0.05, 0.95))[0]
    bounds = ThetaModel(np.log(values[:500]), deseasonalize=False).fit().prediction_intervals(5, alpha=0.1)
    np.testing.assert_allclose(ours, np.exp(bounds[["lower", "upper"]].to_numpy()), rtol=1e-8)


@pytest.mark.parametrize("cls", [Arima, Ets, Theta])
def test_no_interval_sees_a_value_at_or_after_its_origin(cls):
    values = _walk()
    model = cls().fit(values[:500])
    before = model.forecast_quantiles(values, np.array([550]), 3, (0.1, 0.9))
    changed = values.copy()
    changed[550:] *= 1.3
    after = model.forecast_quantiles(changed, np.array([550, 690]), 3, (0.1, 0.9))
    np.testing.assert_allclose(before[0], after[0], rtol=1e-12)


def test_persistence_quantiles_are_a_random_walk_with_the_training_volatility():
    from scipy.stats import norm

    from benchmark.models.baselines import Persistence

    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 10, 1))
    y = x[:, -1, :] + 0.5 * rng.normal(size=(300, 3))
    model = Persistence(3).fit(x, y)
    sigma = np.sqrt(np.mean((y[:, 0] - x[:, -1, 0]) ** 2))
    q = model.predict_quantiles(x[:2], (0.1, 0.5, 0.9))
    np.testing.assert_allclose(q[:, :, 1], np.repeat(x[:2, -1, :], 3, axis=1))
    np.testing.assert_allclose(q[0, :, 2] - q[0, :, 1], norm.ppf(0.9) * sigma * np.sqrt([1, 2, 3]))


def test_arima_chooses_its_orders_on_training_data_only():
    values = _walk()
    model = Arima().fit(values[:500])
    assert model.order[1] == 1 and max(model.order[0], model.order[2]) <= 2
    changed = values.copy()
    changed[500:] = changed[500:][::-1]  # anything after training is irrelevant to the fit
    assert Arima().fit(changed[:500]).results.params.tolist() == model.results.params.tolist()


@pytest.mark.parametrize("name", [*STATISTICAL, "seasonal_naive", "naive", "drift", "linear"])
@pytest.mark.parametrize("strategy", ["direct", "recursive"])
def test_no_forecast_ever_sees_a_test_value_at_or_after_its_origin(name, strategy):
    """Perturb every value from the 7th test window's origin on: the forecasts of the first seven windows are
    unchanged (the 7th may use only the values before its origin)."""
    values = _walk()
    config = resolve("default", lookback=20, horizon=5, strategy=strategy, test_size=100, val_size=50)
    spec = registry.get(name)

    def forecasts(series_values):
        series = Series.from_array("walk", series_values)
        prepared = prepare(series, 20, 5, 100, 50, "window", strategy)
        fit = fit_model(spec, dict(spec.defaults), prepared, config, None)
        return prepared.test.inverse(fit.test_scaled), prepared.test.origins

    before, origins = forecasts(values)
    perturbed = values.copy()
    perturbed[origins[6]:] *= np.linspace(1.5, 0.5, len(values) - origins[6])
    after, _ = forecasts(perturbed)
    np.testing.assert_array_equal(after[:7], before[:7])
    assert not np.allclose(after[7:], before[7:])  # the perturbation does reach later forecasts


def test_statistical_models_refit_nothing_on_validation_or_test_data():
    """Parameters come from the training part: changing validation and test values leaves them unchanged."""
    values = _walk()
    prepared = prepare(Series.from_array("walk", values), 20, 1, 100, 50, "window")
    train_end = prepared.bounds.val_start
    for cls in (Arima, Ets, Theta):
        a = cls().fit(values[:train_end])
        shifted = values.copy()
        shifted[train_end:] *= 2
        b = cls().fit(shifted[:train_end])
        params = (lambda m: m.results.params.tolist()) if cls is not Theta else (lambda m: [m.alpha, m.slope])
        assert params(a) == params(b)


def test_seasonal_naive_repeats_last_season():
    x = np.arange(10.0)[None, :, None]  # one window 0..9, season 5 -> last season is 5..9
    np.testing.assert_array_equal(SeasonalNaive(7, 5).fit(x, None).predict(x), [[5, 6, 7, 8, 9, 5, 6]])
    with pytest.raises(ValueError, match="lookback"):
        SeasonalNaive(1, 5).fit(np.zeros((1, 3, 1)), None)


def test_a_non_positive_series_is_modelled_on_its_own_scale():
    values = _walk() - 100.0  # crosses zero
    model = Ets().fit(values[:500])
    assert not model._use_log
    assert np.all(np.isfinite(model.forecast(values, np.array([500, 600]), 3)))


def test_logged_forecasts_are_medians_on_the_price_scale():
    """With log=False the same model forecasts on prices; both are close on a gently moving series."""
    values = _walk()
    logged = Ets(log=True).fit(values[:500]).forecast(values, np.array([600]), 1)
    plain = Ets(log=False).fit(values[:500]).forecast(values, np.array([600]), 1)
    assert abs(logged[0, 0] - plain[0, 0]) / values[599] < 0.01


def test_a_very_long_training_part_is_fitted_on_its_most_recent_values(monkeypatch):
    from benchmark.models import statistical

    monkeypatch.setattr(statistical, "FIT_LIMIT", 300)
    values = _walk(1000)
    model = Arima(1).fit(values[:900])
    assert model.results.nobs == 300  # the last 300 training values chose the orders and the parameters
    np.testing.assert_allclose(model.results.model.endog[:, 0] * model.unit, np.log(values[600:900]), rtol=1e-12)
    assert model.forecast(values, np.array([950]), 1).shape == (1, 1)  # the forecast still filters every value
