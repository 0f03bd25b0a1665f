"""One trial = one (model, seed) on one configuration: `run_trial(spec) -> TrialResult`.

A pure function of its spec: it loads the data itself (cached per process), trains, scores on the original
scale and logs to MLflow as a child of the given parent run, so it runs the same in-process, in a worker pool
or on a cluster.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
import time
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import catalog, registry, tracking
from benchmark.config import ExperimentConfig
from benchmark.errors import BenchmarkError
from benchmark.metrics import frame_metrics
from benchmark.pipeline import Prepared, prepare_folds
from benchmark.training import Fit, fit_model


@dataclass(frozen=True)
class TrialSpec:
    model: str
    seed: int | None  # None for deterministic baselines
    config: ExperimentConfig
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    environment: dict = field(default_factory=dict, compare=False)

    @property
    def name(self) -> str:
        return self.model if self.seed is None else f"{self.model} · seed {self.seed}"


@dataclass(frozen=True)
class TrialResult:
    model: str
    seed: int | None
    run_id: str
    status: str  # FINISHED or FAILED
    metrics: dict = field(default_factory=dict)
    error: str | None = None
    epoch_seconds: tuple[float, ...] = ()  # the last fold's per-epoch wall seconds (the first includes tracing)
    wall_seconds: float = 0.0  # the whole trial: data, training, scoring and recording


def trial_hyperparameters(model: str, config: ExperimentConfig) -> dict:
    """The model's defaults with this configuration's sweep overrides applied."""
    from benchmark.sweep import apply_overrides

    return apply_overrides(model, registry.get(model).defaults, config.overrides)


def model_hash(model: str, hyperparams: dict) -> str:
    """Identifies a model's hyper-parameters, so editing a model file never resumes into stale results."""
    blob = json.dumps({"model": model, **hyperparams}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()[:12]


@lru_cache(maxsize=4)
def prepared_for(config: ExperimentConfig) -> list[Prepared]:
    """The folds' windows for a configuration (one fold for a holdout), made once per process."""
    series = catalog.load_series(config)
    try:
        return prepare_folds(series, config.lookback, config.horizon, config.test_size, config.val_size,
                             config.scaler, config.folds, config.fold_step, config.window_type)
    except BenchmarkError as exc:
        raise BenchmarkError(f"{config.data or config.dataset}: {exc}") from None


def overall_dates(folds: list[Prepared]) -> dict[str, str]:
    """Each part's first target date in the first fold and last target date in the last fold."""
    first, last = folds[0].split_dates(), folds[-1].split_dates()
    return {k: (first if k.endswith("_start") else last)[k] for k in last if k in first}


def trial_params(spec: TrialSpec, folds: list[Prepared], hyperparams: dict) -> dict[str, str]:
    config, last = spec.config, folds[-1]
    params = {
        "model": spec.model, "seed": "none" if spec.seed is None else str(spec.seed),
        "kind": registry.get(spec.model).kind, "dataset": config.dataset_name,
        "dataset_checksum": last.series.checksum, "preset": config.preset, "protocol": config.protocol,
        "folds": len(folds), "window_type": config.window_type,
        "window": config.lookback, "horizon": config.horizon, "scaler": config.scaler,
        "train_windows": len(last.train), "val_windows": len(last.val) if last.val else 0,
        "test_points": sum(f.test.y.size for f in folds), "epochs": config.epochs, "batch_size": config.batch_size,
        "loss": config.loss, "optimizer": config.optimizer, "learning_rate": config.learning_rate,
        "early_stopping": config.early_stopping, "patience": config.patience, "unroll": config.unroll,
        **overall_dates(folds), **{f"hp.{k}": v for k, v in hyperparams.items()},
    }
    if len(folds) > 1:
        params["fold_dates"] = json.dumps([f.split_dates() for f in folds])
    params.update({f"sweep.{k}": v for k, v in config.sweep})  # the varied keys, to group by in the UI
    return {k: str(v) for k, v in params.items()}


def predictions_frame(prepared: Prepared, predicted: np.ndarray, fold: int = 0) -> pd.DataFrame:
    """One row per scored test point: fold, date, lead time, actual, forecast, last observed value, MASE scale."""
    test, dates = prepared.test, prepared.series.dates
    horizon = prepared.horizon
    rows = np.repeat(np.arange(len(test)), horizon)
    steps = np.tile(np.arange(1, horizon + 1), len(test))
    target_index = test.origins[rows] + steps - 1
    when = dates[target_index]
    daily = bool((when == when.normalize()).all())  # dates stay dates; intraday data keeps its times
    return pd.DataFrame({
        "fold": fold,
        "date": when.strftime("%Y-%m-%d" if daily else "%Y-%m-%dT%H:%M:%S"),
        "step": steps,
        "actual": test.y.reshape(-1),
        "predicted": predicted.reshape(-1),
        "last_observed": test.x[rows, -1],
        "mase_scale": prepared.naive_mae_in_sample,
    })


def fit_folds(model, hyperparams: dict, folds: list[Prepared], config: ExperimentConfig,
              seed: int | None) -> tuple[pd.DataFrame, list[Fit], float]:
    """Train one model per fold (each on its own scaled training part); every fold's test predictions and the
    validation MAE on the price scale (what sweeps choose by, since losses differ between configurations)."""
    frames, fits, val_errors = [], [], []
    for k, prepared in enumerate(folds):
        fit = fit_model(model, hyperparams, prepared, config, seed)
        frames.append(predictions_frame(prepared, prepared.test.inverse(fit.test_scaled), k))
        if fit.val_scaled is not None:
            val_errors.append(np.abs(prepared.val.inverse(fit.val_scaled) - prepared.val.y).reshape(-1))
        fits.append(fit)
    val_mae = float(np.mean(np.concatenate(val_errors))) if val_errors else float("nan")
    return pd.concat(frames, ignore_index=True), fits, val_mae


def _log_success(c, run_id: str, frame: pd.DataFrame, fits: list[Fit], val_mae: float, spec: TrialSpec) -> dict:
    from mlflow.entities import Metric

    metrics = frame_metrics(frame)
    if np.isfinite(val_mae):
        metrics["val_mae"] = val_mae
    metrics.update(train_seconds=sum(f.train_seconds for f in fits),
                   epochs_run=float(np.mean([f.epochs_run for f in fits])))
    best = [f.best_epoch for f in fits if f.best_epoch is not None]
    if best:
        metrics["best_epoch"] = float(np.mean(best))
    entries = [Metric(k, float(v), 0, 0) for k, v in metrics.items()]
    if len(fits) > 1:
        for k, fold in frame.groupby("fold"):
            entries += [Metric(f"fold{k}.{name}", float(v), 0, 0) for name, v in frame_metrics(fold).items()
                        if name in ("mae", "rmse", "mase")]
    for k, fit in enumerate(fits):
        prefix = "" if k == len(fits) - 1 else f"fold{k}."  # the last fold's curves are `loss` / `val_loss`
        for key, values in fit.history.items():
            entries += [Metric(prefix + key, v, 0, epoch) for epoch, v in enumerate(values, start=1)]
    for start in range(0, len(entries), 1000):  # the REST API takes at most 1000 metrics per batch
        c.log_batch(run_id, metrics=entries[start:start + 1000])
    with tempfile.TemporaryDirectory() as tmp:
        frame.to_csv(Path(tmp) / "predictions.csv", index=False)
        from benchmark.plots import trial_forecast_figure

        trial_forecast_figure(frame, spec.name).savefig(Path(tmp) / "forecast.png", dpi=80)
        c.log_artifacts(run_id, tmp)
    return metrics


def _log_search(c, run_id: str, fits: list[Fit], val_mae: float) -> dict:
    from mlflow.entities import Metric

    metrics = {"val_mae": val_mae, "train_seconds": sum(f.train_seconds for f in fits),
               "epochs_run": float(np.mean([f.epochs_run for f in fits]))}
    entries = [Metric(k, float(v), 0, 0) for k, v in metrics.items()]
    entries += [Metric(key, v, 0, epoch) for key, values in fits[-1].history.items()
                for epoch, v in enumerate(values, start=1)]
    c.log_batch(run_id, metrics=entries)
    c.set_tag(run_id, "stage", "search")
    return metrics


def run_trial(spec: TrialSpec) -> TrialResult:
    """Train and score one trial, logging it as a child run; failures are recorded, interruptions re-raised."""
    started = time.perf_counter()
    model = registry.get(spec.model)
    hyperparams = trial_hyperparameters(spec.model, spec.config)
    folds = prepared_for(spec.config)
    c = tracking.client(spec.tracking_uri)
    tags = {"mlflow.parentRunId": spec.parent_run_id, "run_type": "trial", "sweep_id": spec.config.sweep_id,
            "config_hash": spec.config.config_hash, "model_hash": model_hash(spec.model, hyperparams),
            "mlflow.note.content": model.description, **spec.environment}
    run = c.create_run(spec.experiment_id, run_name=spec.name, tags=tags)
    run_id = run.info.run_id
    try:
        c.log_batch(run_id, params=_params(trial_params(spec, folds, hyperparams)))
        frame, fits, val_mae = fit_folds(model, hyperparams, folds, spec.config, spec.seed)
        if spec.config.stage == "search":  # chosen on validation: the test period is not scored at all
            metrics = _log_search(c, run_id, fits, val_mae)
        else:
            metrics = _log_success(c, run_id, frame, fits, val_mae, spec)
    except Exception as exc:  # noqa: BLE001 - one broken trial must not stop the grid
        reason = f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
        c.set_tag(run_id, "failure_reason", reason)
        c.set_terminated(run_id, "FAILED")
        return TrialResult(spec.model, spec.seed, run_id, "FAILED", error=reason)
    except BaseException:  # Ctrl-C / SIGTERM: this trial did not finish, and says so
        c.set_tag(run_id, "failure_reason", "interrupted")
        c.set_terminated(run_id, "KILLED")
        raise
    c.set_terminated(run_id, "FINISHED")
    return TrialResult(spec.model, spec.seed, run_id, "FINISHED", metrics,
                       epoch_seconds=tuple(fits[-1].history.get("epoch_seconds", ())),
                       wall_seconds=time.perf_counter() - started)


def _params(params: dict[str, str]):
    from mlflow.entities import Param

    return [Param(k, v) for k, v in params.items()]
