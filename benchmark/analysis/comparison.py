"""The comparison in numbers: seed-aggregated metrics, skill and Diebold–Mariano tests against the reference
(persistence), neighbours within seed noise, pairwise tests and ranks across datasets.

Pure functions of `StoredResults` (what the tracking store holds) returning typed tables; the words are in
`benchmark.analysis.verdict` and the markdown in `benchmark.render.leaderboard`.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchmark.analysis import bootstrap_family, magnitude, pooling, significance
from benchmark.evaluation import metrics

ORDER = ["fold", "date", "step"]  # every scored point of every fold, in time order within each fold


@dataclass(frozen=True)
class RunMeta:
    """What the leaderboard says about a configuration, parsed once from the store."""

    dataset: str
    reference: str = "naive"  # the model every other is tested against
    settings: Mapping[str, object] = field(default_factory=dict)  # typed values of the settings table's rows
    dataset_checksum: str = ""
    data: str = ""  # the user's CSV, when the run named one instead of a bundled dataset
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
    channel_rows: tuple[str, ...] = ()  # with --covariates: the rows whose models read them
    # --training global: the series the global networks learned from, each fold's cut-off date, their windows
    panel: tuple[str, ...] = ()
    panel_cutoffs: tuple[str, ...] = ()
    panel_train_windows: int = 0

    @property
    def horizon(self) -> int:
        return int(self.settings.get("horizon", 1))

    @property
    def metric(self) -> str:
        """The headline metric: the ranking, and the loss of every test (absolute for mae, squared for rmse)."""
        return str(self.settings.get("metric", "mae"))

    @property
    def alpha(self) -> float:
        return float(self.settings.get("alpha", 0.05))

    @property
    def equivalence_margin(self) -> float:
        return float(self.settings.get("equivalence_margin", 0.01))

    @property
    def ensembles(self) -> bool:
        return bool(self.settings.get("ensembles", True))

    def get(self, name: str, default=None):
        """A setting's value (None where the store does not say)."""
        return self.settings.get(name, default)


@dataclass
class StoredResults:
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


def forecasts(results: StoredResults) -> dict[tuple[str, str], pd.DataFrame]:
    """Each finished trial's predictions, keyed by (model, seed), sorted by date and step."""
    return {key: group.sort_values(ORDER).reset_index(drop=True)
            for key, group in results.predictions.groupby(["model", "seed"], sort=False)}


def ensembles(results: StoredResults) -> dict[str, pd.DataFrame]:
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


def daily_losses(results: StoredResults) -> pd.DataFrame:
    """The headline metric's loss at every scored point (fold, date, step), one column per table row: a
    stochastic model's loss averaged over its seeds, each seed ensemble's (`<model> (ensemble)`), each baseline's."""
    loss = LOSS_OF_METRIC[results.meta.metric]
    per_trial = forecasts(results)
    first = next(iter(per_trial.values()))
    out = first[ORDER].copy()
    for model, runs in results.finished.groupby("model", sort=False):
        errors = np.stack([_errors(per_trial[(model, seed)]) for seed in runs["seed"]])
        out[model] = significance.loss_values(errors, loss).mean(axis=0)
    if results.meta.ensembles:
        for model, frame in ensembles(results).items():
            out[f"{model} (ensemble)"] = significance.loss_values(_errors(frame), loss)
    return out


def _errors(frame: pd.DataFrame) -> np.ndarray:
    return _matrix(frame, "predicted") - _matrix(frame, "actual")


LOSS_OF_METRIC = {"mae": "absolute", "rmse": "squared"}  # the test's loss must be the one the ranking quotes


def build_table(results: StoredResults, magnitudes: bool = True) -> pd.DataFrame:
    """One row per model (mean over seeds) and per seed ensemble, sorted by the headline metric and ranked.

    The declared families: every row but the reference is tested against it on the headline metric's loss (a
    stochastic model on its seed-averaged loss differential), three ways, each family Holm-adjusted over the
    tested rows: better (one-sided Diebold–Mariano/HLN: `p_value`, `p_holm`, `significant`), worse (the other
    side: `p_worse`, `p_worse_holm`) and equivalent within ± the declared margin (two one-sided tests:
    `p_equivalent`, `p_equivalent_holm`). `verdict_class` names the one class each row falls in. With
    `magnitudes` (what a leaderboard shows; calibration's rates need only the first family) each tested row also
    gets its skill interval and the smallest skill its test would detect (`benchmark.analysis.magnitude`).
    """
    meta = results.meta
    metric, loss, horizon, reference = meta.metric, LOSS_OF_METRIC[meta.metric], meta.horizon, meta.reference
    per_trial = forecasts(results)
    reference_frame = next(f for (m, _), f in per_trial.items() if m == reference)
    reference_errors = _errors(reference_frame)
    reference_score = _score(reference_errors, metric)
    rows, daily = [], {}  # daily: row -> its (seed-averaged) loss per test point
    for model, runs in results.finished.groupby("model", sort=False):
        kind, stochastic = runs["kind"].iloc[0], bool(runs["stochastic"].iloc[0])
        seeds = list(runs["seed"])
        errors = np.stack([_errors(per_trial[(model, seed)]) for seed in seeds])  # [seeds, points]
        summaries = {m: _summary(runs[m]) for m in ("mae", "rmse", "mase")}
        row = {
            "model": model, "row": "seeds" if stochastic else "baseline", "kind": kind,
            "reference": model == reference, "tested": model != reference, "seeds": len(seeds),
            **{f"{m}_{k}": getattr(s, attr) for m, s in summaries.items()
               for k, attr in (("mean", "mean"), ("sd", "sd"), ("ci_low", "ci_low"), ("ci_high", "ci_high"))},
            "theil_u2": float(np.mean([significance.u2_from_errors(e, reference_errors) for e in errors])),
            "skill": significance.skill_score(summaries[metric].mean, reference_score),
            "epochs": float(runs["epochs_run"].mean()), "train_seconds": float(runs["train_seconds"].mean()),
        }
        if model != reference:
            row["p_value"] = significance.seed_averaged_dm(errors, reference_errors, loss, horizon).pvalue
            row["p_worse"] = significance.seed_averaged_dm(errors, reference_errors, loss, horizon, "greater").pvalue
            daily[model] = significance.loss_values(errors, loss).mean(axis=0)
            # Described, never used for the verdict: how many single networks would pass on their own.
            reference_loss = significance.loss_values(reference_errors, loss)
            per_seed = [significance.dm_test(significance.loss_values(e, loss) - reference_loss, horizon).pvalue
                        for e in errors]
            row["seeds_below_alpha"] = int(sum(p < meta.alpha for p in per_seed)) if stochastic else np.nan
        rows.append(row)
    if meta.ensembles:
        for model, frame in ensembles(results).items():
            errors = _errors(frame)
            scores = metrics.frame_metrics(frame)
            rows.append({
                "model": f"{model} (ensemble)", "row": "ensemble", "reference": False, "tested": True,
                "kind": results.stochastic.loc[results.stochastic["model"] == model, "kind"].iloc[0],
                "seeds": int((results.finished["model"] == model).sum()),
                "mae_mean": scores["mae"], "rmse_mean": scores["rmse"], "mase_mean": scores["mase"],
                "theil_u2": significance.u2_from_errors(errors, reference_errors),
                "skill": significance.skill_score(scores[metric], reference_score),
                "p_value": significance.dm_test(significance.loss_values(errors, loss)
                                                - significance.loss_values(reference_errors, loss), horizon).pvalue,
                "p_worse": significance.dm_test(significance.loss_values(errors, loss)
                                                - significance.loss_values(reference_errors, loss), horizon,
                                                "greater").pvalue,
            })
            daily[f"{model} (ensemble)"] = significance.loss_values(errors, loss)
    table = pd.DataFrame(rows).sort_values(f"{metric}_mean", kind="stable").reset_index(drop=True)
    table["rank"] = table[f"{metric}_mean"].rank(method="min").astype(int)  # ties share the best rank (1, 1, 3)
    tested = table["tested"].to_numpy(dtype=bool)
    table["p_holm"] = np.nan
    if tested.any():
        table.loc[tested, "p_holm"] = significance.holm(table.loc[tested, "p_value"].to_numpy(dtype=float))
    table["significant"] = tested & (table["p_holm"] < meta.alpha).to_numpy()
    table["within_noise_of_previous"] = _neighbour_overlap(table, metric)
    if magnitudes:
        _add_magnitudes(table, daily, significance.loss_values(reference_errors, loss), meta)
    return table


def _add_magnitudes(table: pd.DataFrame, daily: Mapping[str, np.ndarray], reference_loss: np.ndarray,
                    meta: RunMeta) -> None:
    """Skill intervals, the detectable skill, and the worse and equivalent families (Holm each), in place."""
    tested = table["tested"].to_numpy(dtype=bool)
    count = int(tested.sum())
    for index in table.index[tested]:
        columns = magnitude.row_magnitudes(daily[table.at[index, "model"]], reference_loss, meta.metric,
                                           meta.alpha / count, meta.equivalence_margin)
        for name, value in columns.items():
            table.loc[index, name] = value
    for family in ("worse", "equivalent"):
        table[f"p_{family}_holm"] = np.nan
        if count:
            table.loc[tested, f"p_{family}_holm"] = significance.holm(
                table.loc[tested, f"p_{family}"].to_numpy(dtype=float))
    table["verdict_class"] = [
        "reference" if not is_tested else magnitude.verdict_class(
            bool(row["significant"]), row["p_worse_holm"] < meta.alpha, row["p_equivalent_holm"] < meta.alpha)
        for is_tested, (_, row) in zip(tested, table.iterrows(), strict=True)]
    if count:
        _add_bootstrap_family(table, {**daily, meta.reference: reference_loss}, meta)


def _add_bootstrap_family(table: pd.DataFrame, daily: Mapping[str, np.ndarray], meta: RunMeta) -> None:
    """The bootstrap family beside the Holm one (`benchmark.analysis.bootstrap_family`), in place: SPA's p on the
    reference's row (H0: no row beats it), StepM's "better" and the model confidence set on every row."""
    names = list(table["model"])
    family = bootstrap_family.bootstrap_family({n: daily[n] for n in names}, meta.reference, meta.alpha)
    table["spa_p"] = [family.spa_p if is_ref else np.nan for is_ref in table["reference"]]
    table["stepm_better"] = [bool(n in family.better) for n in names]
    table["in_confidence_set"] = [bool(n in family.confidence_set) for n in names]
    table["mcs_p"] = [family.mcs_p[n] for n in names]
    table["bootstrap_block"] = float(family.block)


def _summary(values: pd.Series) -> significance.Summary:
    """The seed summary of a metric; one that is undefined for this data (MASE on a constant series) stays NaN
    rather than failing the whole leaderboard."""
    values = values.astype(float).to_numpy()
    if not np.all(np.isfinite(values)):
        return significance.Summary(len(values), float("nan"), float("nan"), float("nan"), float("nan"))
    return significance.seed_summary(values.tolist())


def _score(errors: np.ndarray, metric: str) -> float:
    return float(np.mean(np.abs(errors))) if metric == "mae" else float(np.sqrt(np.mean(errors**2)))


def _interval(row: pd.Series, metric: str) -> tuple[float, float]:
    """A row's seed interval; a single deterministic run is the point itself."""
    low, high = row.get(f"{metric}_ci_low", np.nan), row.get(f"{metric}_ci_high", np.nan)
    if pd.isna(low) or pd.isna(high):
        return row[f"{metric}_mean"], row[f"{metric}_mean"]
    return low, high


def _neighbour_overlap(table: pd.DataFrame, metric: str) -> list[bool]:
    """True where a row's 95% interval over training seeds overlaps the row above it: another set of seeds could
    swap them. Training randomness only, and never against the reference, whose comparison is the declared test
    (a seed interval says nothing about test-sample uncertainty)."""
    flags = [False]
    for i in range(1, len(table)):
        above, row = table.iloc[i - 1], table.iloc[i]
        (a_low, a_high), (b_low, b_high) = _interval(above, metric), _interval(row, metric)
        both_points = a_low == a_high and b_low == b_high
        involves_reference = bool(above["reference"] or row["reference"])
        flags.append(not both_points and not involves_reference and a_low <= b_high and b_low <= a_high)
    return flags


def pairwise_pvalues(results: StoredResults) -> pd.DataFrame:
    """Two-sided DM p-values on the headline metric's loss between models (ensembles for stochastic models,
    deterministic ones as they are), Holm-adjusted over all the pairs."""
    meta = results.meta
    errors = {}
    ens = ensembles(results)
    for (model, _seed), frame in forecasts(results).items():
        if model in ens or model in errors:
            continue
        errors[model] = _errors(frame)
    for model, frame in ens.items():
        errors[model] = _errors(frame)
    raw = significance.pairwise_dm(errors, loss=LOSS_OF_METRIC[meta.metric], horizon=meta.horizon)
    upper = np.triu_indices(len(raw), k=1)
    if len(upper[0]):
        adjusted = raw.to_numpy(copy=True)
        adjusted[upper] = significance.holm(adjusted[upper])
        adjusted.T[upper] = adjusted[upper]
        return pd.DataFrame(adjusted, index=raw.index, columns=raw.columns)
    return raw


def block_scores(tables: Mapping[str, pd.DataFrame], metric: str,
                 models: Collection[str] | None = None) -> pd.DataFrame:
    """[blocks, models] of the headline metric for the models present in every block (seed rows and baselines;
    ensembles are aggregates of the seed rows, not models of their own), only `models` when given."""
    frames = {name: t[t["row"] != "ensemble"].set_index("model")[f"{metric}_mean"] for name, t in tables.items()}
    scores = pd.DataFrame(frames).T.dropna(axis=1)
    return scores if models is None else scores[[m for m in scores.columns if m in set(models)]]


def candidates(tables: Mapping[str, pd.DataFrame]) -> list[str]:
    """The models a cross-dataset question is about: the stochastic models (the networks) and the reference;
    every model when a run has no stochastic one. Strawman baselines (the seasonal naive model, last on every
    daily price) would otherwise decide a rank test over all rows on their own."""
    first = next(iter(tables.values()))
    networks = list(first.loc[first["row"] == "seeds", "model"])
    if not networks:
        return list(first.loc[first["row"] != "ensemble", "model"])
    return [*first.loc[first["reference"], "model"], *networks]


def fold_tables(results: StoredResults) -> dict[str, pd.DataFrame]:
    """A backtest's per-fold scores (mean over seeds), as tables for `block_scores`."""
    out = {}
    for fold, frame in results.predictions.groupby("fold"):
        errors = frame.assign(abs=(frame["predicted"] - frame["actual"]).abs(),
                              sq=(frame["predicted"] - frame["actual"]) ** 2)
        per_trial = errors.groupby(["model", "seed"]).agg(mae=("abs", "mean"), mse=("sq", "mean")).reset_index()
        per_trial["rmse"] = np.sqrt(per_trial["mse"])
        scores = per_trial.groupby("model").agg(mae_mean=("mae", "mean"), rmse_mean=("rmse", "mean"))
        out[f"fold {fold}"] = scores.reset_index().assign(row="model")
    return out


def friedman_across(tables: Mapping[str, pd.DataFrame], metric: str, alpha: float,
                    models: Collection[str] | None = None) -> significance.FriedmanResult | None:
    """Friedman's test on the models' ranks over blocks (datasets or folds), with Nemenyi's critical difference,
    on `models` only when given; None when there are fewer than two blocks or models."""
    scores = block_scores(tables, metric, models)
    if scores.shape[0] < 2 or scores.shape[1] < 2:
        return None
    return significance.friedman(scores, alpha)


def architecture_equivalence(results: StoredResults, losses: pd.DataFrame | None = None) -> pd.DataFrame:
    """Which architectures are equivalent to each other: every pair of stochastic models (seed-averaged daily
    losses), two one-sided tests that their loss difference lies within ± the declared margin of persistence's
    mean loss, Holm-adjusted over the pairs (a family of its own, declared by the run's margin and α). `losses`:
    the results' `daily_losses`, when already computed."""
    meta = results.meta
    losses = daily_losses(results) if losses is None else losses
    models = list(results.stochastic.drop_duplicates("model")["model"])
    pairs = [(a, b) for i, a in enumerate(models) for b in models[i + 1:]]
    if not pairs:
        return pd.DataFrame(columns=["a", "b", "p_equivalent", "p_equivalent_holm", "equivalent"])
    reference = losses[meta.reference].to_numpy(dtype=float)
    raw = [magnitude.equivalence_test(losses[a].to_numpy(dtype=float), losses[b].to_numpy(dtype=float),
                                      meta.equivalence_margin, reference) for a, b in pairs]
    adjusted = significance.holm(raw)
    return pd.DataFrame({"a": [a for a, _ in pairs], "b": [b for _, b in pairs], "p_equivalent": raw,
                         "p_equivalent_holm": adjusted, "equivalent": adjusted < meta.alpha})


def pooled_across(losses: Mapping[str, pd.DataFrame], metric: str, reference: str = "naive") -> pd.DataFrame:
    """Each row's skill pooled over the datasets it was scored on (`losses`: dataset -> `daily_losses`), with the
    common-dates bootstrap interval of `benchmark.analysis.pooling`."""
    names = dict.fromkeys(c for frame in losses.values() for c in frame.columns if c not in ORDER and c != reference)
    panels = {name: {dataset: pd.DataFrame({"date": frame["date"], "row": frame[name],
                                            "reference": frame[reference]})
                     for dataset, frame in losses.items() if name in frame}
              for name in names}
    return pooling.pooled_table(panels, metric)


def summary_across(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rank of each model on each dataset and its mean rank over datasets (lower is better)."""
    ranks = pd.DataFrame({name: t.set_index("model")["rank"] for name, t in tables.items()})
    ranks["mean rank"] = ranks.mean(axis=1)
    return ranks.sort_values("mean rank")




def lead_time_table(results: StoredResults, table: pd.DataFrame) -> pd.DataFrame | None:
    """Errors and tests at each lead time (None for one-step forecasts): one row per (table row, step).

    `mae`/`rmse` are means over seeds (a seed ensemble scores its mean forecast). Each tested row is tested against
    persistence at each step on the headline metric's loss (seed-averaged for stochastic models), with h = 1.
    These tests form their own declared family, every (row, step) pair, Holm-adjusted over all of them: a
    secondary analysis beside the pooled verdict, never a second chance for a row.

    Origins are `horizon` apart, so the step-k errors of neighbouring origins do not overlap and are not serially
    dependent by construction: h = 1 is the valid choice. h = step would add estimated autocovariances of
    independent differences and over-reject (7.4% at h = 5, n = 50, measured in tests/analysis/test_stats.py).
    A step with fewer than 3 origins is described but not tested.
    """
    meta = results.meta
    if meta.horizon < 2:
        return None
    loss, reference = LOSS_OF_METRIC[meta.metric], meta.reference
    per_trial = forecasts(results)
    blends = ensembles(results) if meta.ensembles else {}
    reference_frame = next(f for (m, _), f in per_trial.items() if m == reference)
    rows = []
    for _, entry in table.iterrows():
        if entry["row"] == "ensemble":
            frames = [blends[entry["model"].removesuffix(" (ensemble)")]]
        else:
            frames = [f for (m, _), f in per_trial.items() if m == entry["model"]]
        by_step = [metrics.by_lead_time(_errors(f), _matrix(f, "step")) for f in frames]  # per seed
        for step in range(1, meta.horizon + 1):
            errors = np.stack([_errors(f[f["step"] == step]) for f in frames])  # [seeds, origins]
            row = {"model": entry["model"], "row": entry["row"], "tested": bool(entry["tested"]), "step": step,
                   "mae": float(np.mean([s[step][0] for s in by_step])),
                   "rmse": float(np.mean([s[step][1] for s in by_step])), "p_value": np.nan}
            # HLN's h-step correction needs more origins than steps; with fewer the step is described, not tested
            testable = errors.shape[1] >= 3
            row["tested"] = bool(entry["tested"]) and testable
            if row["tested"]:
                reference_errors = _errors(reference_frame[reference_frame["step"] == step])
                row["p_value"] = significance.seed_averaged_dm(errors, reference_errors, loss, 1).pvalue
            rows.append(row)
    out = pd.DataFrame(rows)
    tested = out["tested"].to_numpy(dtype=bool)
    out["p_holm"] = np.nan
    out.loc[tested, "p_holm"] = significance.holm(out.loc[tested, "p_value"].to_numpy(dtype=float))
    out["significant"] = tested & (out["p_holm"] < meta.alpha).to_numpy()
    return out


def skill_across(tables: Mapping[str, pd.DataFrame]) -> pd.DataFrame:
    """[models, datasets] skill against persistence on the headline metric (1 - metric / persistence's), with
    whether the row was significantly better on that dataset (each dataset its own declared family)."""
    skill = pd.DataFrame({name: t.set_index("model")["skill"] for name, t in tables.items()})
    significant = pd.DataFrame({name: t.set_index("model")["significant"] for name, t in tables.items()})
    return pd.concat({"skill": skill, "significant": significant}, axis=1)
