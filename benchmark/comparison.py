"""The comparison in numbers: seed-aggregated metrics, skill and Diebold–Mariano tests against the reference
(persistence), neighbours within seed noise, pairwise tests and ranks across datasets.

Pure functions of `Results` (what the tracking store holds) returning typed tables; the words are in
`benchmark.verdict` and the markdown in `benchmark.leaderboard`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchmark import metrics, stats

ORDER = ["fold", "date", "step"]  # every scored point of every fold, in time order within each fold
ALPHA = 0.05


@dataclass(frozen=True)
class RunMeta:
    """What the leaderboard says about a configuration, parsed once from the store."""

    dataset: str
    reference: str = "naive"  # the model every other is tested against
    settings: Mapping[str, object] = field(default_factory=dict)  # typed values of the settings table's rows
    dataset_checksum: str = ""
    config_hash: str = ""
    command: str = ""
    parent_run_id: str = ""
    dates: Mapping[str, str] = field(default_factory=dict)  # first/last target date of train, val, test
    fold_dates: tuple[Mapping[str, str], ...] = ()  # per backtest fold
    train_windows: int = 0
    test_points: int = 0
    seeds: tuple[int, ...] = ()
    software: Mapping[str, str] = field(default_factory=dict)
    sweep_label: str = ""
    chosen: Mapping[str, str] = field(default_factory=dict)  # a sweep's network -> its chosen grid point

    @property
    def horizon(self) -> int:
        return int(self.settings.get("horizon", 1))

    def get(self, name: str, default=None):
        """A setting's value (None where the store does not say)."""
        return self.settings.get(name, default)


@dataclass
class Results:
    """One configuration's trials as read back from the tracking store."""

    meta: RunMeta
    trials: pd.DataFrame  # one row per trial run: model, seed, kind, stochastic, status, metrics, failure_reason
    predictions: pd.DataFrame  # finished trials: model, seed, fold, date, step, actual, predicted, last_observed
    histories: pd.DataFrame = field(default_factory=pd.DataFrame)  # model, seed, epoch, metric, value

    @property
    def finished(self) -> pd.DataFrame:
        return self.trials[self.trials["status"] == "FINISHED"]

    @property
    def failed(self) -> pd.DataFrame:
        return self.trials[self.trials["status"] != "FINISHED"]

    @property
    def stochastic(self) -> pd.DataFrame:
        """Finished trials of models trained once per seed."""
        finished = self.finished
        return finished[finished["stochastic"].astype(bool)]


def _matrix(frame: pd.DataFrame, column: str) -> np.ndarray:
    """[n_points] in (fold, date, step) order, for one trial's predictions."""
    return frame.sort_values(ORDER)[column].to_numpy(dtype=float)


def forecasts(results: Results) -> dict[tuple[str, str], pd.DataFrame]:
    """Each finished trial's predictions, keyed by (model, seed), sorted by date and step."""
    return {key: group.sort_values(ORDER).reset_index(drop=True)
            for key, group in results.predictions.groupby(["model", "seed"], sort=False)}


def ensembles(results: Results) -> dict[str, pd.DataFrame]:
    """The seed-ensemble forecast (mean of the seeds' predictions) of every neural model with 2+ seeds."""
    out = {}
    for model, runs in results.stochastic.groupby("model"):
        if len(runs) < 2:
            continue
        frames = results.predictions[results.predictions["model"] == model]
        mean = frames.groupby(ORDER, as_index=False).agg(
            actual=("actual", "first"), predicted=("predicted", "mean"), last_observed=("last_observed", "first"),
            mase_scale=("mase_scale", "first"))
        out[model] = mean
    return out


def _errors(frame: pd.DataFrame) -> np.ndarray:
    return _matrix(frame, "predicted") - _matrix(frame, "actual")


def _dm(errors: np.ndarray, reference: np.ndarray, loss: str, horizon: int) -> float:
    return stats.diebold_mariano(errors, reference, loss=loss, horizon=horizon, alternative="less").pvalue


def build_table(results: Results) -> pd.DataFrame:
    """One row per model (mean over seeds) and per seed-ensemble, sorted by mean MAE, ranked and flagged."""
    horizon, reference = results.meta.horizon, results.meta.reference
    per_trial = forecasts(results)
    naive_frame = next(f for (m, _), f in per_trial.items() if m == reference)
    naive_errors = _errors(naive_frame)
    naive_mae = float(np.mean(np.abs(naive_errors)))
    rows = []
    for model, runs in results.finished.groupby("model", sort=False):
        kind, stochastic = runs["kind"].iloc[0], bool(runs["stochastic"].iloc[0])
        seeds = list(runs["seed"])
        summaries = {m: stats.seed_summary(runs[m].astype(float).tolist()) for m in ("mae", "rmse", "mase")}
        u2, p_sq, p_abs = [], [], []
        for seed in seeds:
            frame = per_trial[(model, seed)]
            errors = _errors(frame)
            u2.append(stats.theils_u2(_matrix(frame, "actual"), _matrix(frame, "predicted"),
                                      _matrix(naive_frame, "predicted")))
            if model != reference:
                p_sq.append(_dm(errors, naive_errors, "squared", horizon))
                p_abs.append(_dm(errors, naive_errors, "absolute", horizon))
        rows.append({
            "model": model, "row": "seeds" if stochastic else "baseline", "kind": kind,
            "reference": model == reference, "seeds": len(seeds),
            **{f"{m}_{k}": getattr(s, attr) for m, s in summaries.items()
               for k, attr in (("mean", "mean"), ("sd", "sd"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))},
            "theil_u2": float(np.mean(u2)), "skill_vs_naive": 1 - summaries["mae"].mean / naive_mae,
            "dm_p_squared": float(np.median(p_sq)) if p_sq else np.nan,
            "dm_p_absolute": float(np.median(p_abs)) if p_abs else np.nan,
            "seeds_significant": int(sum(p < ALPHA for p in p_sq)) if p_sq else np.nan,
            "epochs": float(runs["epochs_run"].mean()), "train_seconds": float(runs["train_seconds"].mean()),
        })
    for model, frame in ensembles(results).items():
        actual, predicted = _matrix(frame, "actual"), _matrix(frame, "predicted")
        errors = predicted - actual
        scores = metrics.frame_metrics(frame)
        mae = scores["mae"]
        rows.append({
            "model": f"{model} (ensemble)", "row": "ensemble", "reference": False, "kind": results.stochastic.loc[
                results.stochastic["model"] == model, "kind"].iloc[0],
            "seeds": int((results.finished["model"] == model).sum()),
            "mae_mean": mae, "rmse_mean": scores["rmse"], "mase_mean": scores["mase"],
            "theil_u2": stats.theils_u2(actual, predicted, _matrix(naive_frame, "predicted")),
            "skill_vs_naive": 1 - mae / naive_mae,
            "dm_p_squared": _dm(errors, naive_errors, "squared", horizon),
            "dm_p_absolute": _dm(errors, naive_errors, "absolute", horizon),
        })
    table = pd.DataFrame(rows).sort_values("mae_mean", kind="stable").reset_index(drop=True)
    table["rank"] = table["mae_mean"].rank(method="min").astype(int)  # ties share the best rank (1, 1, 3)
    table["within_noise_of_previous"] = _neighbour_overlap(table)
    table["beats_naive"] = (table["dm_p_squared"] < ALPHA) & (table["mae_mean"] < naive_mae)
    return table


def _interval(row: pd.Series) -> tuple[float, float]:
    """A row's seed CI; a single deterministic run is the point itself."""
    low, high = row.get("mae_ci_low", np.nan), row.get("mae_ci_high", np.nan)
    if pd.isna(low) or pd.isna(high):
        return row["mae_mean"], row["mae_mean"]
    return low, high


def _neighbour_overlap(table: pd.DataFrame) -> list[bool]:
    """True where a row's MAE interval overlaps the row above it: their order is within seed noise."""
    flags = [False]
    for i in range(1, len(table)):
        (a_low, a_high), (b_low, b_high) = _interval(table.iloc[i - 1]), _interval(table.iloc[i])
        both_points = a_low == a_high and b_low == b_high
        flags.append(not both_points and a_low <= b_high and b_low <= a_high)
    return flags


def pairwise_pvalues(results: Results) -> pd.DataFrame:
    """Two-sided DM p-values (squared loss) between models: ensembles for neural models, baselines as they are."""
    horizon = results.meta.horizon
    errors = {}
    ens = ensembles(results)
    for (model, _seed), frame in forecasts(results).items():
        if model in ens or model in errors:
            continue
        errors[model] = _errors(frame)
    for model, frame in ens.items():
        errors[model] = _errors(frame)
    return stats.pairwise_dm(errors, loss="squared", horizon=horizon)


def summary_across(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rank of each model on each dataset and its mean rank over datasets (lower is better)."""
    ranks = pd.DataFrame({name: t.set_index("model")["rank"] for name, t in tables.items()})
    ranks["mean rank"] = ranks.mean(axis=1)
    return ranks.sort_values("mean rank")


