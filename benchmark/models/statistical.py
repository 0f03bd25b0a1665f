"""Statistical forecasters (`contract.SeriesForecaster`) for the model files of `FAMILY = "series"`: ARIMA,
exponential smoothing and Theta from statsmodels.

Protocol, the same for each (what a practitioner does, with nothing seen twice): parameters are estimated once on
the training part of the series (its last `FIT_LIMIT` values when it is longer); then, with those parameters
fixed, the model is run over the series and forecasts `horizon` steps from every test origin using only the values
before that origin. Nothing is refitted on validation or test data. Forecasts are on the price scale.

With `log=True` (the default) the model is fitted to log prices and its forecast is exponentiated back: the
median of the forecast distribution, which is what an absolute-error metric rewards. A training part with a value
at or below zero is modelled on its own scale; a value at or below zero after a log-scale fit fails the trial
(recorded with that reason), since the scale was chosen on the training part alone.
"""

from __future__ import annotations

import warnings

import numpy as np

# Parameters (and ARIMA's orders) are estimated on at most the last FIT_LIMIT training values: a likelihood over a
# million days takes minutes per order and says nothing more about the recent dynamics the test period continues.
# Every bundled series is shorter; the forecasts still filter the whole series.
FIT_LIMIT = 20_000


class _Transformed:
    """Log transform on the way in, exponential on the way out (when every value is positive)."""

    log: bool = True

    def _forward(self, values: np.ndarray) -> np.ndarray:
        return np.log(values) if self._use_log else np.asarray(values, dtype=float)

    def _back(self, values: np.ndarray) -> np.ndarray:
        return np.exp(values) if self._use_log else values

    def fit(self, train: np.ndarray):
        train = np.asarray(train)[-FIT_LIMIT:]  # the most recent part of a very long training period
        self._use_log = bool(self.log and np.all(train > 0))
        with warnings.catch_warnings():  # statsmodels warns on every plain array (no date index) and slow convergence
            warnings.simplefilter("ignore")
            self._fit(self._forward(train))
        return self

    def forecast(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """[len(origins), horizon] forecasts; row i uses values[:origins[i]] only."""
        origins = np.asarray(origins, dtype=np.int64)
        if len(origins) == 0:
            return np.zeros((0, horizon))
        used = values[: int(origins.max())]  # what the last origin may see: nothing at or after it
        if self._use_log and np.any(used <= 0):
            raise ValueError("a value at or below zero after the training part: cannot forecast on the log scale")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return self._back(self._forecast(self._forward(used), origins, horizon))


    def forecast_quantiles(self, values: np.ndarray, origins: np.ndarray, horizon: int,
                           levels: tuple[float, ...]) -> np.ndarray:
        """[len(origins), horizon, levels] quantiles of the model's own Gaussian forecast distribution on the
        fitted scale, mapped back (a quantile of log prices exponentiated is the same quantile of prices); row i
        uses values[:origins[i]] only."""
        from scipy.stats import norm

        origins = np.asarray(origins, dtype=np.int64)
        if len(origins) == 0:
            return np.zeros((0, horizon, len(levels)))
        used = values[: int(origins.max())]
        if self._use_log and np.any(used <= 0):
            raise ValueError("a value at or below zero after the training part: cannot forecast on the log scale")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            forward = self._forward(used)
            mean = self._forecast(forward, origins, horizon)
            sd = self._forecast_sd(forward, origins, horizon)
        z = norm.ppf(np.asarray(levels, dtype=float))
        return self._back(mean[:, :, None] + sd[:, :, None] * z[None, None, :])


class StateSpace(_Transformed):
    """A fitted statsmodels state-space model run with fixed parameters: one Kalman filter pass over the series,
    then each origin's h-step forecasts from its one-step-ahead predicted state.

    For a time-invariant model y_t = d + Z a_t + e_t, a_{t+1} = c + T a_t + R eta_t, the k-step forecast from
    origin o is d + Z T^(k-1) a_{o|o-1} with the intercepts carried along: exactly `results.forecast` of a model
    filtered up to o (tested against it).
    """

    def _fit(self, train: np.ndarray) -> None:
        # Fitted in units of the training part's typical daily change: log returns of ~1% leave the likelihood so
        # flat that the optimiser wanders for seconds. Both models are scale-equivariant, so forecasts are unchanged.
        self.unit = float(np.std(np.diff(train))) or 1.0
        self.results = self._estimate(train / self.unit)

    def _estimate(self, train: np.ndarray):
        raise NotImplementedError

    def _forecast(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        filtered = self.results.apply(values / self.unit).filter_results  # same parameters, the observed values
        matrices = [filtered.design, filtered.obs_intercept, filtered.transition, filtered.state_intercept]
        if any(m.shape[-1] != 1 for m in matrices):
            raise ValueError("only time-invariant state-space models can forecast from many origins")
        design, obs_intercept, transition, state_intercept = (m[..., 0] for m in matrices)
        state = filtered.predicted_state[:, origins]  # [k_states, n]: a_{o|o-1}, from values[:o]
        out = np.empty((len(origins), horizon))
        for step in range(horizon):
            out[:, step] = (obs_intercept[:, None] + design @ state)[0]
            state = transition @ state + state_intercept[:, None]
        return out * self.unit

    def _forecast_sd(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """The k-step forecast's standard deviation from origin o: sqrt(Z P_k Z' + H), P_1 = P_{o|o-1} and
        P_{k+1} = T P_k T' + R Q R' (what `results.get_forecast` reports, tested against it), at the scale
        estimated on the training part."""
        applied = self.results.apply(values / self.unit)
        filtered = applied.filter_results
        # A model whose scale is concentrated out of the likelihood (ETS) re-estimates it from whatever values it is
        # applied to, later test values included: the training fit's scale is the one that may set the width.
        rescale = float(np.sqrt(self.results.scale / applied.scale)) if applied.scale > 0 else 1.0
        design, transition = filtered.design[..., 0], filtered.transition[..., 0]
        selection, state_cov, obs_cov = filtered.selection[..., 0], filtered.state_cov[..., 0], \
            filtered.obs_cov[..., 0]
        noise = selection @ state_cov @ selection.T
        cov = np.moveaxis(filtered.predicted_state_cov[:, :, origins], 2, 0)  # [n, k, k]
        out = np.empty((len(origins), horizon))
        for step in range(horizon):
            out[:, step] = np.sqrt(np.maximum(np.einsum("i,nij,j->n", design[0], cov, design[0]) + obs_cov[0, 0],
                                              0.0))
            cov = transition @ cov @ transition.T + noise
        return out * self.unit * rescale


class Arima(StateSpace):
    """ARIMA(p, 1, q), the orders chosen by AIC over p, q <= `max_order` on the training part."""

    def __init__(self, max_order: int = 2, log: bool = True):
        self.max_order, self.log = max_order, log

    def _estimate(self, train: np.ndarray):
        from statsmodels.tsa.arima.model import ARIMA

        best = None
        for p in range(self.max_order + 1):
            for q in range(self.max_order + 1):
                results = ARIMA(train, order=(p, 1, q)).fit()
                if best is None or results.aic < best.aic:
                    best = results
        self.order = best.model.order
        return best


class Ets(StateSpace):
    """Exponential smoothing with an additive damped trend, ETS(A,Ad,N) (Gardner & McKenzie), by maximum
    likelihood on the training part."""

    def __init__(self, damped: bool = True, log: bool = True):
        self.damped, self.log = damped, log

    def _estimate(self, train: np.ndarray):
        from statsmodels.tsa.statespace.exponential_smoothing import ExponentialSmoothing

        return ExponentialSmoothing(train, trend=True, damped_trend=self.damped).fit(disp=False)


class Theta(_Transformed):
    """The Theta method (Assimakopoulos & Nikolopoulos 2000; Hyndman & Billah 2003): simple exponential smoothing
    plus half the slope of a linear trend, alpha and slope estimated on the training part (statsmodels'
    ThetaModel, no deseasonalising: daily prices have no season to remove)."""

    def __init__(self, log: bool = True):
        self.log = log

    def _fit(self, train: np.ndarray) -> None:
        from statsmodels.tsa.forecasting.theta import ThetaModel

        results = ThetaModel(train, deseasonalize=False).fit()
        self.alpha, self.slope = float(results.params["alpha"]), float(results.params["b0"])
        self._results = results  # its innovation variance is estimated only when quantiles are asked for

    def _forecast_sd(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """statsmodels' Theta interval: variance sigma² (1 + (h − 1)(1 + (alpha − 1)²)) at lead time h, sigma² of
        an ARIMA(0,1,1) with drift fitted to the training part (`ThetaModelResults.prediction_intervals`)."""
        steps = np.arange(horizon)
        sd = np.sqrt((1 + steps * (1 + (self.alpha - 1) ** 2)) * float(self._results.sigma2))
        return np.tile(sd, (len(origins), 1))

    def _forecast(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        from scipy.signal import lfilter

        alpha = self.alpha
        # level_t = alpha * y_t + (1 - alpha) * level_{t-1}, starting from the first value (as statsmodels does)
        level, _ = lfilter([alpha], [1.0, alpha - 1.0], values, zi=[(1.0 - alpha) * values[0]])
        seen = origins.astype(float)[:, None]  # observations before each origin: T in the formula
        steps = np.arange(1, horizon + 1)[None, :]
        # (1 - (1 - alpha)^T) / alpha, whose limit at alpha = 0 is T (statsmodels guards the same way)
        weight = (1 - (1 - alpha) ** seen) / alpha if alpha > 0 else seen
        trend = 0.5 * self.slope * (steps - 1 + weight)
        return level[origins - 1][:, None] + trend
