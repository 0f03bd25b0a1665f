"""Estimators (`contract.Estimator`) for the baseline model files (`FAMILY = "estimator"`): fitted and applied on
the same scaled windows as the networks.

Inputs are [n, lookback, 1] arrays, outputs [n, horizon]. Scaling is affine per window, so a baseline that is
affine-equivariant (persistence, drift, least squares with intercept under a global scaler) gives in price space
exactly what it would give on raw prices.
"""

from __future__ import annotations

import numpy as np


class Persistence:
    """Every future step equals the last observed value. Its distribution (`predict_quantiles`): a driftless
    Gaussian random walk whose daily step has the root-mean-square of the training windows' one-step changes, so
    the h-step quantile at level τ is the last value + z_τ σ √h (scaled units: relative to each window's spread
    under the per-window scaler)."""

    def __init__(self, horizon: int):
        self.horizon = horizon
        self.step_sd = float("nan")

    def fit(self, x: np.ndarray, y: np.ndarray) -> Persistence:
        changes = np.asarray(y, dtype=float)[:, 0] - np.asarray(x, dtype=float)[:, -1, 0]
        self.step_sd = float(np.sqrt(np.mean(changes**2))) if len(changes) else float("nan")
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return np.repeat(x[:, -1, :1], self.horizon, axis=1)  # [n, lookback, 1] -> [n, horizon]

    def predict_quantiles(self, x: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
        from scipy.stats import norm

        spread = self.step_sd * np.sqrt(np.arange(1, self.horizon + 1))  # [horizon]
        z = norm.ppf(np.asarray(levels, dtype=float))  # [levels]
        return self.predict(x)[:, :, None] + spread[None, :, None] * z[None, None, :]


class Drift(Persistence):
    """The last value plus the window's average step per day, extended h steps ahead."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        last, first = x[:, -1, 0], x[:, 0, 0]
        slope = (last - first) / max(x.shape[1] - 1, 1)
        steps = np.arange(1, self.horizon + 1)
        return last[:, None] + slope[:, None] * steps[None, :]


class SeasonalNaive(Persistence):
    """Each future step equals the value one season earlier (the same weekday last week for a 5-day season)."""

    def __init__(self, horizon: int, season: int):
        super().__init__(horizon)
        self.season = season

    def fit(self, x: np.ndarray, y: np.ndarray) -> SeasonalNaive:
        if x.shape[1] < self.season:
            raise ValueError(f"seasonal naive needs a lookback of at least its season ({self.season})")
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        steps = np.arange(self.horizon)
        return x[:, -self.season + steps % self.season, 0]


class LinearAutoregression:
    """Ordinary least squares from the window's values to the next `horizon` values (scikit-learn)."""

    def __init__(self, horizon: int):
        from sklearn.linear_model import LinearRegression

        self.model = LinearRegression()
        self.horizon = horizon

    def fit(self, x: np.ndarray, y: np.ndarray) -> LinearAutoregression:
        self.model.fit(x.reshape(len(x), -1), y)
        return self

    def predict(self, x: np.ndarray) -> np.ndarray:
        return self.model.predict(x.reshape(len(x), -1)).reshape(len(x), self.horizon)
