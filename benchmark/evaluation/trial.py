"""One trial = one (model, seed) on one configuration.

`evaluate(...) -> TrialRecord` is pure computation: prepared data in, numbers out (no files, no tracking).
`benchmark.execution.recording.run_trial(spec)` is the thin wrapper that loads the data and records the outcome, so the
same trial runs in-process, in a worker pool or on a cluster.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from benchmark.config.experiment import ExperimentConfig
from benchmark.data import catalog
from benchmark.errors import BenchmarkError
from benchmark.evaluation.forecasts import forecast_table
from benchmark.evaluation.metrics import frame_metrics, lead_time_metrics
from benchmark.evaluation.scores import frame_scores
from benchmark.models import conformal, registry
from benchmark.models.contract import Fit, ModelSpec, TrialFailed
from benchmark.models.training import fit_model
from benchmark.pipeline.windows import Prepared, prepare_folds


@dataclass(frozen=True)
class TrialSpec:
    model: str
    seed: int | None  # None for deterministic baselines
    config: ExperimentConfig
    tracking_uri: str
    experiment_id: str
    parent_run_id: str
    environment: dict = field(default_factory=dict, compare=False)
    # A global trial (`--training global`): one spec per series of the panel (its config, experiment and parent);
    # one network learns from all of them and each gets its own run. Empty for a trial of one series.
    panel: tuple[TrialSpec, ...] = ()

    @property
    def row(self) -> str:
        """The model's row in the leaderboard: `lstm`, or `lstm (global)` for a network trained across the panel."""
        return self.model + GLOBAL_ROW if self.panel else self.model

    @property
    def name(self) -> str:
        return self.row if self.seed is None else f"{self.row} · seed {self.seed}"


GLOBAL_ROW = " (global)"  # the suffix of a global network's row


SKIPPED = "SKIPPED"  # a trial another invocation finished or is training: not run here, not a failure


@dataclass(frozen=True)
class TrialRecord:
    """What one trial computed: summary metrics, per-epoch curves and (for a final trial) its scored points."""

    summary: dict[str, float]
    curves: dict[str, list[float]]  # per epoch: loss, val_loss, epoch_seconds (earlier folds prefixed foldK.)
    predictions: pd.DataFrame | None  # None for a search trial: its test period is never scored
    epoch_seconds: tuple[float, ...] = ()  # the last fold's

    @property
    def stage(self) -> str:
        return "search" if self.predictions is None else "final"


@dataclass(frozen=True)
class TrialResult:
    model: str
    seed: int | None
    run_id: str
    status: str  # FINISHED, FAILED or SKIPPED
    metrics: dict = field(default_factory=dict)
    error: str | None = None
    epoch_seconds: tuple[float, ...] = ()  # the last fold's per-epoch wall seconds (the first includes tracing)
    wall_seconds: float = 0.0  # the whole trial: data, training, scoring and recording
    parent_run_id: str = ""  # the invocation's parent run of the configuration it belongs to
    members: tuple[TrialResult, ...] = ()  # a global trial: one result per series of the panel


def trial_hyperparameters(model: str, config: ExperimentConfig) -> dict:
    """The model's defaults with this configuration's sweep overrides applied."""
    from benchmark.config.sweep import apply_overrides

    return apply_overrides(model, registry.get(model).defaults, config.overrides)


def trial_config(config: ExperimentConfig, model: str) -> ExperimentConfig:
    """The configuration a trial of `model` trains under: the run's, or under `--speed fastest` the run's with the
    network's FASTEST implementation (backend, unroll, kernel) in place; the config hash stays the run's (under
    `fastest` those three are not hashed: the speed and each model's FASTEST, in its `trial_key`, are)."""
    fastest = registry.get(model).fastest if config.speed == "fastest" else {}
    return dataclasses.replace(config, **fastest) if fastest else config


def trial_key(model: str, config: ExperimentConfig) -> str:
    """The model hash a trial of `model` records and resumes by: its hyper-parameters, and under `--speed fastest`
    the implementation its model file names, so a changed FASTEST never resumes into another implementation's runs."""
    hyperparams = trial_hyperparameters(model, config)
    if config.speed == "fastest":
        hyperparams = {**hyperparams, "implementation": dict(registry.get(model).fastest)}
    return model_hash(model, hyperparams)


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
                             config.scaler, config.folds, config.fold_step, config.window_type, config.strategy)
    except BenchmarkError as exc:
        raise BenchmarkError(f"{config.data or config.dataset}: {exc}") from None


def overall_dates(folds: list[Prepared]) -> dict[str, str]:
    """Each part's first target date in the first fold and last target date in the last fold."""
    first, last = folds[0].split_dates(), folds[-1].split_dates()
    return {k: (first if k.endswith("_start") else last)[k] for k in last if k in first}


SANE_MULTIPLE = 10  # a forecast further than this many observed ranges outside the observed values is broken


def check_forecasts(prepared: Prepared, predicted: np.ndarray, fold: int) -> None:
    """A trial is kept only if every test forecast is finite and within a generous band around the values observed
    before its last forecast origin ([min − 10 w, max + 10 w], w their range, at least a tenth of the level; the
    test windows' inputs count, so a price that keeps rising never fails persistence): a model that diverges or
    explodes fails its trial with the reason instead of entering the leaderboard as FINISHED."""
    where = f" (fold {fold})" if fold else ""
    bad = ~np.isfinite(predicted)
    if bad.any():
        raise TrialFailed(f"{int(bad.sum())} of {bad.size} test forecasts are not finite{where}")
    bounds = prepared.bounds
    observed = prepared.series.values[: max(bounds.val_start, bounds.length - prepared.horizon)]
    low, high = float(np.min(observed)), float(np.max(observed))
    width = max(high - low, 0.1 * max(abs(low), abs(high)), 1e-12)
    outside = (predicted < low - SANE_MULTIPLE * width) | (predicted > high + SANE_MULTIPLE * width)
    if outside.any():
        worst = float(predicted.reshape(-1)[np.argmax(np.abs(predicted - (low + high) / 2).reshape(-1))])
        raise TrialFailed(f"{int(outside.sum())} of {outside.size} test forecasts lie more than {SANE_MULTIPLE} "
                          f"ranges outside the values observed before them [{low:.6g}, {high:.6g}] (e.g. "
                          f"{worst:.6g}){where}")


def test_quantiles(fit: Fit, prepared: Prepared, config: ExperimentConfig, fold: int) -> np.ndarray:
    """[n_test, horizon, levels] quantile forecasts on the price scale, ascending along the levels: the model's own
    (`fit.test_quantiles`) or conformal from its validation errors (`benchmark.models.conformal`)."""
    levels, test = tuple(config.quantiles), prepared.test
    scaled = fit.test_quantiles
    if scaled is None:
        scored = prepared.val_forecast
        if fit.val_scaled is None or scored is None or not len(scored):
            raise TrialFailed("conformal intervals need the model's validation forecasts, and it made none")
        errors = scored.targets - np.asarray(fit.val_scaled, dtype=np.float64).reshape(len(scored), -1)
        point = np.asarray(fit.test_scaled, dtype=np.float64).reshape(len(test), -1)
        scaled = conformal.conformal(conformal.method_for(config.intervals), errors, point, test.targets, levels)
    prices = np.asarray(scaled, dtype=np.float64) * test.scale[..., None] + test.loc[..., None]
    where = f" (fold {fold})" if fold else ""
    if not np.all(np.isfinite(prices)):
        raise TrialFailed(f"{int((~np.isfinite(prices)).sum())} quantile forecasts are not finite{where}")
    return np.sort(prices, axis=2)  # quantiles never cross


def score_fold(fit: Fit, prepared: Prepared, config: ExperimentConfig, fold: int) -> tuple[pd.DataFrame,
                                                                                          np.ndarray | None]:
    """One fold's forecast table from a fitted model's scaled forecasts (checked first), and its validation
    windows' absolute errors on the price scale (None without validation forecasts)."""
    check_forecasts(prepared, prepared.test.inverse(fit.test_scaled), fold)
    quantiles = test_quantiles(fit, prepared, config, fold) if config.quantiles else None
    frame = forecast_table(prepared, prepared.test.inverse(fit.test_scaled), fold, quantiles, tuple(config.quantiles))
    errors = None
    if fit.val_scaled is not None:  # the validation windows as the test is forecast (H steps, either strategy)
        scored = prepared.val_forecast
        errors = np.abs(scored.inverse(fit.val_scaled) - scored.y).reshape(-1)
    return frame, errors


def fit_folds(model, hyperparams: dict, folds: list[Prepared], config: ExperimentConfig,
              seed: int | None) -> tuple[pd.DataFrame, list[Fit], float]:
    """Train one model per fold (each on its own scaled training part); every fold's test predictions and the
    validation MAE on the price scale (what sweeps choose by, since losses differ between configurations)."""
    frames, fits, val_errors = [], [], []
    for k, prepared in enumerate(folds):
        fit = fit_model(model, hyperparams, prepared, config, seed)
        frame, errors = score_fold(fit, prepared, config, k)
        frames.append(frame)
        if errors is not None:
            val_errors.append(errors)
        fits.append(fit)
    return pd.concat(frames, ignore_index=True), fits, validation_mae(val_errors)


def validation_mae(errors: list[np.ndarray]) -> float:
    return float(np.mean(np.concatenate(errors))) if errors else float("nan")


def evaluate(model: ModelSpec, hyperparams: dict, folds: list[Prepared], config: ExperimentConfig,
             seed: int | None) -> TrialRecord:
    """Train and score one trial: one model per fold, errors on the original price scale."""
    frame, fits, val_mae = fit_folds(model, hyperparams, folds, config, seed)
    return trial_record(frame, fits, val_mae, config)


def trial_record(frame: pd.DataFrame, fits: list[Fit], val_mae: float, config: ExperimentConfig) -> TrialRecord:
    """A trial's summary metrics, curves and scored points from its folds' forecast tables and fits."""
    summary = {"train_seconds": sum(f.train_seconds for f in fits),
               "epochs_run": float(np.mean([f.epochs_run for f in fits]))}
    epoch_seconds = tuple(fits[-1].history.get("epoch_seconds", ()))
    if config.stage == "search":  # chosen on validation: the test period is not scored at all
        return TrialRecord({"val_mae": val_mae, **summary}, dict(fits[-1].history), None, epoch_seconds)
    metrics = frame_metrics(frame)
    if np.isfinite(val_mae):
        metrics["val_mae"] = val_mae
    metrics.update(summary)
    best = [f.best_epoch for f in fits if f.best_epoch is not None]
    if best:
        metrics["best_epoch"] = float(np.mean(best))
    metrics.update(lead_time_metrics(frame))
    metrics.update(frame_scores(frame))
    if len(fits) > 1:
        for k, fold in frame.groupby("fold"):
            metrics.update({f"fold{k}.{name}": v for name, v in frame_metrics(fold).items()
                            if name in ("mae", "rmse", "mase")})
    curves = {}
    for k, fit in enumerate(fits):
        prefix = "" if k == len(fits) - 1 else f"fold{k}."  # the last fold's curves are `loss` / `val_loss`
        curves.update({prefix + key: values for key, values in fit.history.items()})
    return TrialRecord(metrics, curves, frame, epoch_seconds)
