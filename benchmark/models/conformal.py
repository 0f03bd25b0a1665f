"""Quantile forecasts for any point model: conformal intervals from the model's own validation errors.

A model that does not forecast its own distribution (`QUANTILES` unset: the networks, the window estimators, most
baselines) gets its quantiles from its **validation** errors, per lead time, in the scaled space of the windows (a
per-window scaler makes the errors relative to each window's spread, so a calm validation year does not set the
width of a volatile test year in price units). The model never trained on those errors' targets, and the test
period never enters a split interval. Two methods (`--intervals`):

- `split` (split conformal, Vovk et al. 2005; Lei et al. 2018): at lead time h the level-τ quantile is the point
  forecast plus the k-th smallest of the n signed validation errors y − ŷ, with k = ⌈(n + 1)τ⌉ for τ ≥ 0.5 and
  ⌊(n + 1)τ⌋ below (the finite-sample rule that makes a central interval cover at least its nominal share when
  errors are exchangeable). Levels outside [1/(n + 1), n/(n + 1)] would be infinite and are refused up front
  (`smallest_level`).
- `adaptive` (adaptive conformal inference, Gibbs & Candès 2021), for series whose errors are not exchangeable
  (volatility clusters, drifting levels): the test origins are walked in time order; after each window's targets
  are observed, each level's working level moves by γ (τ − miss), miss = 1 if the actual fell below that quantile,
  and the window's errors join the most recent n errors the quantiles are taken from. An interval at an origin uses
  only values observed before it (tested). The working level is clipped to the calibration range, so quantiles
  stay finite.

Early stopping chose each network's epoch on the same validation period, so its validation errors may be slightly
smaller than fresh ones: the coverage tests in the leaderboard say whether that shows.
"""

from __future__ import annotations

import numpy as np

METHODS = ("split", "adaptive")  # conformal methods
# `--intervals`: a conformal method, or `pinball`: networks trained for the quantiles on the pinball loss (every
# other model without its own distribution then gets split conformal intervals)
INTERVAL_METHODS = (*METHODS, "pinball")


def method_for(intervals: str) -> str:
    """The conformal method models without their own quantiles use under `--intervals`."""
    return intervals if intervals in METHODS else "split"
GAMMA = 0.005  # adaptive conformal inference's step size (Gibbs & Candès 2021 use 0.005)


def smallest_level(calibration_points: int) -> float:
    """The smallest level (and one minus the largest) a split interval can give from `calibration_points` errors."""
    return 1.0 / (calibration_points + 1)


def _rank(level: np.ndarray, n: int) -> np.ndarray:
    """The order statistic (0-based) of n sorted errors for each level: ⌈(n+1)τ⌉ at or above the median, ⌊(n+1)τ⌋
    below, clipped to 1..n."""
    scaled = (n + 1) * np.asarray(level, dtype=float)
    rank = np.where(level >= 0.5, np.ceil(scaled - 1e-9), np.floor(scaled + 1e-9))
    return np.clip(rank, 1, n).astype(int) - 1


def split(errors: np.ndarray, point: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """errors [n_cal, horizon] (actual − forecast on validation), point [n, horizon] -> quantiles
    [n, horizon, levels], all in the same (scaled) units."""
    errors = np.sort(np.asarray(errors, dtype=float), axis=0)
    ranks = _rank(np.asarray(levels), len(errors))
    offsets = errors[ranks]  # [levels, horizon]
    return np.asarray(point, dtype=float)[:, :, None] + offsets.T[None, :, :]


def adaptive(errors: np.ndarray, point: np.ndarray, actual: np.ndarray, levels: tuple[float, ...],
             gamma: float = GAMMA) -> np.ndarray:
    """Adaptive conformal quantiles over test windows in time order: window i uses the validation errors and the
    errors of windows before i only (each window's targets are observed before the next origin: test windows step
    by the horizon). Same units and shapes as `split`; `actual` [n, horizon]."""
    point, actual = np.asarray(point, dtype=float), np.asarray(actual, dtype=float)
    target = np.asarray(levels, dtype=float)
    window = len(errors)
    history = [np.asarray(errors, dtype=float)]
    working = np.tile(target, (point.shape[1], 1))  # [horizon, levels]
    out = np.empty((*point.shape, len(target)))
    for i in range(len(point)):
        recent = np.concatenate(history, axis=0)[-window:]
        ordered = np.sort(recent, axis=0)  # [window, horizon]
        low = smallest_level(window)
        ranks = _rank(np.clip(working, low, 1 - low), window)  # [horizon, levels]
        offsets = np.take_along_axis(ordered, ranks.T, axis=0).T  # [horizon, levels]
        out[i] = point[i][:, None] + offsets
        missed = actual[i][:, None] < out[i]  # observed only now, after the forecast was made
        working = working + gamma * (target[None, :] - missed)
        history.append((actual[i] - point[i])[None, :])
    return out


def conformal(method: str, errors: np.ndarray, point: np.ndarray, actual: np.ndarray,
              levels: tuple[float, ...]) -> np.ndarray:
    """The quantiles of `method` (one of METHODS)."""
    if method == "split":
        return split(errors, point, levels)
    if method == "adaptive":
        return adaptive(errors, point, actual, levels)
    raise ValueError(f"unknown interval method {method!r} (known: {', '.join(METHODS)})")


def calibration_points(val_size: int, horizon: int) -> int:
    """How many validation windows give errors at every lead time (origins one step apart)."""
    return max(0, val_size - horizon + 1)


def reachable(levels: tuple[float, ...], points: int) -> bool:
    """Whether every level is finite for a split interval from `points` errors."""
    low = smallest_level(points)
    return all(low - 1e-12 <= q <= 1 - low + 1e-12 for q in levels)
