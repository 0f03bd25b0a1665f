"""Scores of quantile forecasts, on the original price scale. Arrays: actual [n], quantiles [n, levels] ascending.

- pinball (quantile) loss at level τ: (1{y < q} − τ)(q − y); `quantile_loss` is its mean over points and levels;
- CRPS from the quantiles: twice the mean pinball loss over the levels (exact for the CRPS's quantile-score
  integral when the levels are a fine even grid, an approximation otherwise; Gneiting & Raftery 2007);
- weighted quantile loss (GluonTS `mean_wQuantileLoss`, fev's WQL): per level 2 Σ pinball / Σ |y|, averaged;
- scaled quantile loss (fev's SQL): 2 × pinball / the MASE scale, averaged over points and levels;
- interval (Winkler) score of a central (1 − α) interval [l, u]: (u − l) + (2/α)(l − y)⁺ + (2/α)(y − u)⁺
  (Gneiting & Raftery 2007), and its empirical coverage;
- the PIT histogram: how many of the quantiles lie below each actual (bins between consecutive levels).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from benchmark.evaluation.forecasts import quantile_column, quantile_levels


def pinball(actual: np.ndarray, quantiles: np.ndarray, levels) -> np.ndarray:
    """[n, levels] pinball losses."""
    actual = np.asarray(actual, dtype=float)[:, None]
    quantiles = np.asarray(quantiles, dtype=float)
    tau = np.asarray(levels, dtype=float)[None, :]
    return ((actual < quantiles) - tau) * (quantiles - actual)


def quantile_loss(actual, quantiles, levels) -> float:
    return float(np.mean(pinball(actual, quantiles, levels)))


def crps(actual, quantiles, levels) -> np.ndarray:
    """[n] CRPS approximated from the quantiles: 2 × the mean pinball loss over the levels."""
    return 2 * pinball(actual, quantiles, levels).mean(axis=1)


def weighted_quantile_loss(actual, quantiles, levels) -> float:
    scale = float(np.sum(np.abs(actual)))
    if scale == 0:
        return float("nan")
    return float(np.mean(2 * pinball(actual, quantiles, levels).sum(axis=0) / scale))


def scaled_quantile_loss(actual, quantiles, levels, mase_scale) -> float:
    scale = np.asarray(mase_scale, dtype=float)
    if np.any(scale <= 0):
        return float("nan")
    return float(np.mean(2 * pinball(actual, quantiles, levels) / np.reshape(scale, (-1, 1))))


def interval_score(actual, lower, upper, alpha: float) -> np.ndarray:
    """[n] Winkler scores of the central (1 − alpha) interval."""
    actual, lower, upper = (np.asarray(a, dtype=float) for a in (actual, lower, upper))
    return (upper - lower) + (2 / alpha) * np.maximum(lower - actual, 0) + (2 / alpha) * np.maximum(actual - upper, 0)


def central_intervals(levels) -> list[tuple[float, float, float]]:
    """(lower level, upper level, nominal coverage) for each τ < 0.5 whose 1 − τ is also declared, widest first."""
    declared = {round(float(q), 10): float(q) for q in levels}
    out = []
    for q in sorted(declared.values()):
        upper = round(1 - q, 10)
        if q < 0.5 and upper in declared:
            out.append((q, declared[upper], 1 - 2 * q))
    return out


def label(nominal: float) -> str:
    """0.9 -> '90' (the metric suffix of a central interval: coverage_90)."""
    return f"{100 * nominal:.10g}"


def pit_counts(actual, quantiles) -> np.ndarray:
    """[levels + 1] counts: how many actuals have k of the quantiles below them (k = 0..levels)."""
    below = (np.asarray(quantiles, dtype=float) < np.asarray(actual, dtype=float)[:, None]).sum(axis=1)
    return np.bincount(below, minlength=np.shape(quantiles)[1] + 1)


def arrays(frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """actual [n], quantiles [n, levels] and the levels of a forecast table with quantile columns."""
    levels = quantile_levels(frame)
    quantiles = frame[[quantile_column(q) for q in levels]].to_numpy(dtype=float)
    return frame["actual"].to_numpy(dtype=float), quantiles, levels


def interval_metrics(actual, quantiles, levels, prefix: str = "") -> dict[str, float]:
    """coverage_NN and interval_score_NN (means over the points) for each declared central interval."""
    out = {}
    index = {q: k for k, q in enumerate(levels)}
    for low, high, nominal in central_intervals(levels):
        lower, upper = quantiles[:, index[low]], quantiles[:, index[high]]
        tag = label(nominal)
        out[f"{prefix}coverage_{tag}"] = float(np.mean((actual >= lower) & (actual <= upper)))
        out[f"{prefix}interval_score_{tag}"] = float(np.mean(interval_score(actual, lower, upper, 1 - nominal)))
    return out


def frame_scores(frame: pd.DataFrame) -> dict[str, float]:
    """The probabilistic metrics every trial with quantiles logs (`step3.coverage_90`: at lead time 3, when
    forecasts reach beyond one step)."""
    actual, quantiles, levels = arrays(frame)
    if not levels:
        return {}
    out = {"quantile_loss": quantile_loss(actual, quantiles, levels),
           "crps": float(np.mean(crps(actual, quantiles, levels))),
           "wql": weighted_quantile_loss(actual, quantiles, levels),
           "sql": scaled_quantile_loss(actual, quantiles, levels, frame["mase_scale"].to_numpy(dtype=float)),
           **interval_metrics(actual, quantiles, levels)}
    steps = frame["step"].to_numpy()
    if steps.max() > 1:
        for step in np.unique(steps):
            at = steps == step
            out.update(interval_metrics(actual[at], quantiles[at], levels, f"step{int(step)}."))
    return out
