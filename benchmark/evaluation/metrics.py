"""Point-forecast metrics, always on the original price scale. Inputs are [n, horizon] arrays."""

from __future__ import annotations

import numpy as np


def mae(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.mean(np.abs(predicted - actual)))


def rmse(actual: np.ndarray, predicted: np.ndarray) -> float:
    return float(np.sqrt(np.mean((predicted - actual) ** 2)))


def mape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Mean absolute percentage error in %; nan when an actual value is 0."""
    if np.any(actual == 0):
        return float("nan")
    return float(100 * np.mean(np.abs((predicted - actual) / actual)))


def smape(actual: np.ndarray, predicted: np.ndarray) -> float:
    """Symmetric MAPE in % (0..200); a point where both are 0 counts as 0."""
    denom = np.abs(actual) + np.abs(predicted)
    ratio = np.divide(2 * np.abs(predicted - actual), denom, out=np.zeros_like(denom, dtype=float),
                      where=denom != 0)
    return float(100 * np.mean(ratio))


def mase(actual: np.ndarray, predicted: np.ndarray, naive_mae_in_sample) -> float:
    """Absolute errors scaled by a one-step naive MAE (Hyndman & Koehler 2006), here that of the last test-size
    steps observed before the test period (`pipeline.mase_scale`). The scale may be one number or one per point
    (a backtest has one per fold).
    """
    scale = np.asarray(naive_mae_in_sample, dtype=float)
    if np.any(scale <= 0):
        return float("nan")
    return float(np.mean(np.abs(predicted - actual) / scale))


def directional_accuracy(actual: np.ndarray, predicted: np.ndarray, last_observed: np.ndarray) -> float:
    """Share of forecasts that get the sign of the change from the last observed value right (0..1).

    A forecast of no change counts as right only when the price did not change: persistence scores the share of
    flat days, which is the honest reference.
    """
    true_move = np.sign(actual - last_observed)
    predicted_move = np.sign(predicted - last_observed)
    return float(np.mean(true_move == predicted_move))


def all_metrics(actual: np.ndarray, predicted: np.ndarray, last_observed: np.ndarray,
                naive_mae_in_sample) -> dict[str, float]:
    """The metric set every trial logs; arrays of the same shape, one entry per scored point."""
    return {
        "mae": mae(actual, predicted),
        "rmse": rmse(actual, predicted),
        "mape": mape(actual, predicted),
        "smape": smape(actual, predicted),
        "mase": mase(actual, predicted, naive_mae_in_sample),
        "directional_accuracy": directional_accuracy(actual, predicted, last_observed),
    }


def frame_metrics(frame) -> dict[str, float]:
    """The metric set from a predictions table (columns actual, predicted, last_observed, mase_scale)."""
    columns = [frame[c].to_numpy(dtype=float) for c in ("actual", "predicted", "last_observed", "mase_scale")]
    return all_metrics(*columns)


def by_lead_time(errors: np.ndarray, steps: np.ndarray) -> dict[int, tuple[float, float]]:
    """step -> (MAE, RMSE) of the errors (forecast - actual) made that many steps ahead."""
    return {int(step): (float(np.mean(np.abs(errors[steps == step]))),
                        float(np.sqrt(np.mean(errors[steps == step] ** 2)))) for step in np.unique(steps)}


def lead_time_metrics(frame) -> dict[str, float]:
    """MAE and RMSE at each lead time (`step3.mae`: three steps ahead) when forecasts reach beyond one step."""
    steps = frame["step"].to_numpy()
    if steps.max() == 1:
        return {}
    errors = frame["predicted"].to_numpy(dtype=float) - frame["actual"].to_numpy(dtype=float)
    out = {}
    for step, (mae_k, rmse_k) in by_lead_time(errors, steps).items():
        out[f"step{step}.mae"], out[f"step{step}.rmse"] = mae_k, rmse_k
    return out
