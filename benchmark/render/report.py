"""Read a configuration's trials back from the tracking store and write the leaderboard, CSV and figures.

`run` ends here, and `python -m benchmark report` calls the same code on the store alone (no retraining), so
both write the same files from the same runs. Every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import dataclasses
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.analysis import coverage
from benchmark.analysis.comparison import (
    RunMeta,
    StoredResults,
    architecture_equivalence,
    build_table,
    candidates,
    daily_losses,
    fold_tables,
    friedman_across,
    lead_time_table,
    pairwise_pvalues,
    pooled_across,
)
from benchmark.analysis.verdict import verdict
from benchmark.config import settings, sweep
from benchmark.errors import BenchmarkError
from benchmark.evaluation.forecasts import conform, quantile_levels
from benchmark.files import atomic_write, check_writable
from benchmark.render.intervals import interval_lines
from benchmark.render.leaderboard import csv_frame, csv_safe, render, render_many
from benchmark.tracking import FINISHED, StoredRun, Tracker

METRICS = ("mae", "rmse", "mape", "smape", "mase", "directional_accuracy", "train_seconds", "epochs_run", "val_mae")
COLUMNS = ["model", "seed", "kind", "stochastic", "reference", "status", "run_id", "start_time", "failure_reason",
           "model_hash", "interval_source", *METRICS]


def trials_frame(uri: str, experiment_id: str, config_hash: str) -> pd.DataFrame:
    """One row per trial of a configuration: model, seed, kind, status, run id and its summary metrics."""
    return _frame(Tracker(uri).trials(experiment_id, config_hash))


def _frame(runs: list[StoredRun]) -> pd.DataFrame:
    rows = []
    for run in runs:
        trial = run.trial
        row = {"model": trial.model, "seed": trial.seed, "kind": trial.kind,
               "stochastic": trial.stochastic, "reference": trial.reference,
               "status": run.status, "run_id": run.run_id,
               "start_time": run.start_time, "failure_reason": run.failure_reason,
               "model_hash": run.key[2], "interval_source": trial.interval_source}
        row.update({m: run.metrics.get(m) for m in METRICS})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=COLUMNS)
    # A trial retrained with --force leaves older finished runs: the newest run of each (model, seed) counts, and
    # only runs of the model's newest hyper-parameters (an edited model never mixes with its old self).
    frame = frame.sort_values("start_time", ascending=False)
    newest = frame.drop_duplicates("model").set_index("model")["model_hash"]
    frame = frame[frame["model_hash"].to_numpy() == newest.reindex(frame["model"]).to_numpy()]
    finished = frame[frame["status"] == FINISHED].drop_duplicates(["model", "seed"])
    unfinished = frame[frame["status"] != FINISHED]
    unfinished = unfinished[~unfinished.set_index(["model", "seed"]).index.isin(
        finished.set_index(["model", "seed"]).index)].drop_duplicates(["model", "seed"])
    return pd.concat([finished, unfinished]).sort_values(["kind", "model", "seed"]).reset_index(drop=True)


def latest_parent(uri: str, experiment_id: str, config_hash: str | None = None):
    return Tracker(uri).latest_parent(experiment_id, config_hash)


def run_meta(tracker: Tracker, experiment_id: str, config_hash: str, trials: pd.DataFrame,
             sample: StoredRun) -> RunMeta:
    """The configuration's facts from one finished trial's params and the latest parent run."""
    finished = trials[trials["status"] == FINISHED]
    references = sorted(set(finished.loc[finished["reference"], "model"]))
    if len(references) != 1:
        raise BenchmarkError(f"config {config_hash} has no finished reference baseline (naive) to compare against")
    parent = tracker.latest_parent(experiment_id, config_hash)
    trial = sample.trial
    seeds = tuple(sorted({int(s) for s in finished[finished["stochastic"]]["seed"]}))
    label = ", ".join(f"{k}={v}" for k, v in trial.sweep.items())
    declared = declared_verdict(tracker, experiment_id, config_hash)
    return RunMeta(
        dataset=trial.dataset, reference=references[0],
        settings={**settings.from_params(trial.settings), **declared},
        dataset_checksum=trial.dataset_checksum, data=trial.data, config_hash=config_hash,
        command=parent.command, parent_run_id=parent.run_id, dates=dict(trial.dates), fold_dates=trial.fold_dates,
        train_windows=trial.train_windows, test_points=trial.test_points,
        seeds=seeds, software=sample.versions, sweep_label=label)


def declared_verdict(tracker: Tracker, experiment_id: str, config_hash: str) -> dict[str, object]:
    """The verdict settings as the configuration's first run declared them, before any result existed (a later
    run cannot re-declare them: `runner.run` refuses)."""
    first = tracker.first_parent(experiment_id, config_hash)
    return settings.verdict_from_params(first.params) if first is not None else {}


def load_results(uri: str, experiment_id: str, config_hash: str) -> StoredResults:
    """Everything the leaderboard needs, from the store only."""
    tracker = Tracker(uri)
    runs = tracker.trials(experiment_id, config_hash)
    trials = _frame(runs)
    finished = trials[trials["status"] == FINISHED]
    if finished.empty:
        raise BenchmarkError(f"config {config_hash} has no finished trials in experiment {experiment_id} of {uri}")
    sample = next(r for r in runs if r.run_id == finished["run_id"].iloc[0])
    meta = run_meta(tracker, experiment_id, config_hash, trials, sample)
    trained_across = next((r.trial for r in runs if r.run_id in set(finished["run_id"]) and r.trial.panel), None)
    if trained_across is not None:  # the global networks' panel, as their runs recorded it
        meta = dataclasses.replace(meta, panel=trained_across.panel, panel_cutoffs=trained_across.panel_cutoffs,
                                   panel_train_windows=trained_across.panel_train_windows)
    if meta.settings.get("covariates"):
        read = {r.trial.model for r in runs if r.run_id in set(finished["run_id"]) and len(r.trial.inputs) > 1}
        meta = dataclasses.replace(meta, channel_rows=tuple(sorted(read)))
    predictions = [conform(tracker.predictions(t.run_id), meta.dataset).assign(model=t.model, seed=t.seed)
                   for t in finished.itertuples()]
    histories = [{"model": t.model, "seed": t.seed, "epoch": step, "metric": key, "value": value}
                 for t in finished[finished["kind"] == "neural"].itertuples() for key in ("loss", "val_loss")
                 for step, value in tracker.metric_history(t.run_id, key)]
    return StoredResults(meta, trials, pd.concat(predictions, ignore_index=True), pd.DataFrame(histories))


def load_sweep(uri: str, experiment_id: str, config_hashes: list[str]) -> tuple[StoredResults, list[str], pd.DataFrame]:
    """A sweep's leaderboard data: for each network the grid point chosen on validation MAE, the baselines once,
    the sweep's sections as markdown lines, and the per-point table (model, point, seeds, val_mae, test_mae)."""
    from tabulate import tabulate

    points = [load_results(uri, experiment_id, h) for h in config_hashes]
    labelled = []
    for results in points:
        trials = results.finished.assign(point=results.meta.sweep_label, config_hash=results.meta.config_hash)
        labelled.append(trials)
    trials = pd.concat(labelled, ignore_index=True)
    networks = trials[trials["stochastic"]].astype({"val_mae": float, "mae": float})
    chosen = sweep.select(networks)
    base = points[0]
    deterministic = base.trials[~base.trials["stochastic"]]
    keep_trials = [deterministic]
    keep_predictions = [base.predictions[base.predictions["model"].isin(set(deterministic["model"]))]]
    keep_histories = []
    by_label = {r.meta.sweep_label: r for r in points}
    for row in chosen.itertuples():
        source = by_label[row.point]
        keep_trials.append(source.trials[source.trials["model"] == row.model])
        keep_predictions.append(source.predictions[source.predictions["model"] == row.model])
        if not source.histories.empty:
            keep_histories.append(source.histories[source.histories["model"] == row.model])
    meta = dataclasses.replace(base.meta, chosen={r.model: r.point for r in chosen.itertuples()})
    combined = StoredResults(meta, pd.concat(keep_trials, ignore_index=True),
                       pd.concat(keep_predictions, ignore_index=True),
                       pd.concat(keep_histories, ignore_index=True) if keep_histories else pd.DataFrame())
    per_point = networks.groupby(["model", "point"], sort=False).agg(
        seeds=("mae", "size"), val_mae=("val_mae", "mean"), test_mae=("mae", "mean")).reset_index()
    per_point = per_point.sort_values("model", kind="stable").reset_index(drop=True)
    per_point["chosen"] = [("✓" if chosen.set_index("model").loc[m, "point"] == p else "")
                           for m, p in zip(per_point["model"], per_point["point"], strict=True)]
    spread = sweep.sensitivity(networks)
    closeness = []
    for model, group in per_point.groupby("model", sort=False):
        best = group.loc[group["chosen"] == "✓", "val_mae"].iloc[0]
        point = chosen.set_index("model").loc[model, "point"]
        seeds = networks[(networks["model"] == model) & (networks["point"] == point)]["val_mae"]
        se = float(seeds.std(ddof=1) / np.sqrt(len(seeds))) if len(seeds) > 1 else float("nan")
        span = (group["val_mae"].max() - group["val_mae"].min()) / best
        closeness.append(f"{model}: the points span {100 * span:.2g}% of the chosen point's validation MAE, "
                         f"whose standard error over its {len(seeds)} seeds is {100 * se / best:.2g}%")
    lines = [
        "## Sweep: each architecture at the configuration with the best mean validation MAE", "",
        f"{len(points)} grid points; every point trained under every seed. The choice uses validation MAE only "
        "(price scale, mean over seeds); the test period is never looked at to choose. The main table shows each "
        "architecture at its chosen point.", "",
        tabulate(per_point, headers=["model", "configuration", "seeds", "val MAE", "test MAE", "chosen"],
                 tablefmt="github", showindex=False, floatfmt=".4g"), "",
        "How far apart the points are: " + "; ".join(closeness) + ". Where the span is within about two standard "
        "errors, another set of seeds could choose another point; the choice is declared, not a finding.", "",
        "## Sensitivity: test MAE over the grid (mean over seeds per point)", "",
        tabulate(spread, headers=["model", "min", "median", "max", "points"], tablefmt="github", showindex=False,
                 floatfmt=".4g"), "",
    ]
    return combined, lines, per_point


@dataclass
class Section:
    """One dataset's part of a report: its data, typed table, pairwise tests, figures and markdown."""

    uri: str
    results: StoredResults
    table: pd.DataFrame
    pvalues: pd.DataFrame
    figures: dict[str, str]  # title -> path relative to the results folder
    text: str
    losses: pd.DataFrame  # the headline metric's loss at every scored point, per table row (`daily_losses`)
    lead: pd.DataFrame | None = None  # errors and tests by lead time (horizon > 1)
    spread: pd.DataFrame | None = None  # with --quantiles: proper scores and the spread family (`coverage`)
    coverage: pd.DataFrame | None = None  # with --quantiles: each interval's coverage tests

    @property
    def frame(self) -> pd.DataFrame:
        frame = csv_frame(self.results, self.table)
        if self.spread is None or self.spread.empty:
            return frame
        keep = [c for c in self.spread.columns if c not in ("reference",)]
        scores = self.spread[keep].rename(columns={c: f"crps_{c}" if c.startswith(("skill", "p_", "better", "worse"))
                                                   else c for c in keep if c != "model"})
        return frame.merge(scores, on="model", how="left")


@dataclass
class Report:
    """Everything a leaderboard shows, computed from the store, before anything is written."""

    sections: list[Section]
    text: str  # LEADERBOARD.md
    figures: dict  # path relative to the results folder -> matplotlib Figure


def build_report(entries: list[tuple[str, str, list[str]]]) -> Report:
    """The leaderboard for (tracking URI, experiment id, config hashes) entries, from the store alone.

    An entry is one dataset: one config hash gives its leaderboard, several (a sweep's grid points) give each
    architecture at the point chosen on validation plus the sensitivity table. Several entries give a
    cross-dataset summary (mean ranks, Friedman, critical-difference diagram) and a section each.
    """
    from benchmark.render import plots

    many = len(entries) > 1
    sections, figures = [], {}
    for uri, experiment_id, config_hashes in entries:
        extra, points = [], None
        results = load_results(uri, experiment_id, config_hashes[0])
        if len(config_hashes) > 1 or results.meta.sweep_label:  # grid points or a search's chosen point
            results, extra, points = load_sweep(uri, experiment_id, config_hashes)
        table = build_table(results)
        pvalues = pairwise_pvalues(results)
        lead = lead_time_table(results, table)
        drawn = plots.all_figures(results, table, pvalues, lead)
        folds = friedman_across(fold_tables(results), results.meta.metric, results.meta.alpha) \
            if results.meta.get("protocol") == "backtest" else None
        if folds is not None:
            drawn["critical_difference"] = ("Critical-difference diagram over the folds",
                                            plots.critical_difference_figure(folds, "folds"))
        if points is not None:
            drawn["sweep"] = ("Validation and test MAE over the grid", plots.sweep_figure(points))
        paths = {}
        for name, (title, fig) in drawn.items():
            rel = f"figures/{results.meta.dataset}_{name}.png" if many else f"figures/{name}.png"
            figures[rel], paths[title] = fig, rel
        spread = cover = None
        probabilistic: list[str] = []
        if quantile_levels(results.predictions):
            spread, cover, probabilistic, more = _intervals(results, level=2 if many else 1)
            for name, (title, fig) in more.items():
                rel = f"figures/{results.meta.dataset}_{name}.png" if many else f"figures/{name}.png"
                figures[rel], paths[title] = fig, rel
        losses = daily_losses(results)  # once per section: the pairs, the panel's pooling and daily-losses.csv
        text = render(results, table, pvalues, paths, level=2 if many else 1, extra=extra, lead=lead, folds=folds,
                      pairs=architecture_equivalence(results, losses), intervals=probabilistic)
        sections.append(Section(uri, results, table, pvalues, paths, text, losses, lead, spread, cover))
    if not many:
        return Report(sections, sections[0].text, figures)
    tables = {s.results.meta.dataset: s.table for s in sections}
    metas = {s.results.meta.dataset: s.results.meta for s in sections}
    first = sections[0].results.meta
    across = friedman_across(tables, first.metric, first.alpha, candidates(tables))
    pooled = pooled_across({s.results.meta.dataset: s.losses for s in sections}, first.metric,
                           first.reference)
    figure = None
    if across is not None:
        figure = "figures/critical_difference.png"
        figures[figure] = plots.critical_difference_figure(across, "datasets")
        for s in sections:  # the diagram belongs to every dataset's leaderboard
            s.figures["Critical-difference diagram across datasets"] = figure
    text = render_many([s.text for s in sections], tables, metas, across, figure, pooled)
    return Report(sections, text, figures)


def _intervals(results: StoredResults, level: int):
    """The probabilistic section of a run with --quantiles: spread and coverage tables, its markdown and figures
    (reliability diagram; fan chart of the two rows with the lowest CRPS and persistence)."""
    from benchmark.render import plots

    meta = results.meta
    spread = coverage.spread_table(results.predictions, meta.reference, meta.alpha, meta.horizon)
    cover = coverage.coverage_table(results.predictions, meta.alpha)
    sources = {r.model: r.interval_source for r in results.finished.itertuples()
               if isinstance(getattr(r, "interval_source", None), str) and r.interval_source}
    lines = interval_lines(spread, cover, meta, sources, "#" * (level + 1))
    figures = {}
    if not spread.empty:
        best = [m for m in spread["model"] if m != meta.reference][:2] + [meta.reference]
        figures["reliability"] = ("Reliability of the quantile forecasts",
                                  plots.reliability_figure(coverage.pit_table(results.predictions), meta.dataset))
        figures["fan_chart"] = ("Intervals of the rows with the lowest CRPS, and persistence's",
                                plots.fan_chart_figure(coverage.row_forecasts(results.predictions), best,
                                                       meta.dataset))
    return spread, cover, lines, figures


def write_report(entries: list[tuple[str, str, list[str]]], results_dir: str | Path,
                 log_to_parent: bool = True) -> Report:
    """LEADERBOARD.md, leaderboard.csv, daily-losses.csv (what the tests ran on), trials.csv (each trial's test
    metrics) and figures/ in `results_dir`
    (each written whole, then renamed), also logged to each configuration's latest parent run, and each trial's
    forecast figure to its own run."""
    out = Path(results_dir)
    check_writable(out)
    report = build_report(entries)
    for rel, fig in report.figures.items():
        atomic_write(out / rel, lambda p, fig=fig: fig.savefig(p, dpi=110, format="png", bbox_inches="tight"))
    atomic_write(out / "LEADERBOARD.md", lambda p: p.write_text(report.text + "\n"))
    frame = pd.concat([s.frame for s in report.sections])
    atomic_write(out / "leaderboard.csv", lambda p: frame.to_csv(p, index=False))
    losses = pd.concat([s.losses.pipe(_labelled, s.results.meta) for s in report.sections])
    atomic_write(out / LOSSES_FILE, lambda p: csv_safe(losses).to_csv(p, index=False))
    trials = pd.concat([trial_table(s.results) for s in report.sections], ignore_index=True)
    atomic_write(out / TRIALS_FILE, lambda p: csv_safe(trials).to_csv(p, index=False))
    written = [out / "LEADERBOARD.md", out / "leaderboard.csv", out / LOSSES_FILE, out / TRIALS_FILE]
    covered = [s.coverage.assign(dataset=s.results.meta.dataset) for s in report.sections if s.coverage is not None]
    if covered:  # each interval's coverage and tests (a run with --quantiles)
        intervals = pd.concat(covered, ignore_index=True)
        atomic_write(out / INTERVALS_FILE, lambda p: csv_safe(intervals).to_csv(p, index=False))
        written.append(out / INTERVALS_FILE)
    if log_to_parent:
        for section in report.sections:
            tracker, parent = Tracker(section.uri), section.results.meta.parent_run_id
            tracker.log_existing(parent, written, "leaderboard")
            tracker.log_existing(parent, [out / rel for rel in section.figures.values()], "leaderboard/figures")
            log_trial_figures(tracker, section.results)
    return report


def check_not_narrower(results_dir: str | Path, datasets: list[str]) -> None:
    """Refuse to replace a leaderboard of more series with one of fewer (a panel's board is rebuilt whole)."""
    board = Path(results_dir) / "LEADERBOARD.md"
    if not board.is_file():
        return
    first = board.read_text(errors="replace").split("\n", 1)[0]
    if not first.startswith("# Leaderboard: "):
        return
    held = [name.strip() for name in first.removeprefix("# Leaderboard: ").split(",")]
    lost = [name for name in held if name not in datasets]
    if lost and len(held) > 1:
        raise BenchmarkError(f"{board} holds {', '.join(held)}; this report covers only {', '.join(datasets)}: "
                             "give another --results-dir (or move that leaderboard) rather than lose "
                             f"{', '.join(lost)}")


INTERVALS_FILE = "intervals.csv"  # with --quantiles: coverage and tests per row, central interval and lead time
LOSSES_FILE = "daily-losses.csv"  # every scored point's loss per table row: what the tests ran on
TRIALS_FILE = "trials.csv"  # every finished trial's test metrics: what a row's mean and sd summarise
TRIAL_METRICS = ("mae", "rmse", "mase", "epochs_run", "train_seconds")


def trial_table(results: StoredResults) -> pd.DataFrame:
    """One row per finished trial (model, seed, its test metrics, epochs and training time), dataset and config
    hash in front: `python -m benchmark compare` pairs two boards' networks seed by seed from it."""
    finished = results.finished
    columns = ["model", "seed", *[c for c in TRIAL_METRICS if c in finished.columns]]
    table = finished[columns].sort_values(["model", "seed"], kind="stable").reset_index(drop=True)
    return table.assign(dataset=results.meta.dataset, config_hash=results.meta.config_hash)[
        ["dataset", "config_hash", *columns]]


def _labelled(losses: pd.DataFrame, meta: RunMeta) -> pd.DataFrame:
    """The daily losses with the dataset, config hash, metric and reference they belong to in front."""
    return losses.assign(dataset=meta.dataset, config_hash=meta.config_hash, metric=meta.metric,
                         reference=meta.reference)[["dataset", "config_hash", "metric", "reference",
                                                    *losses.columns]]


def log_trial_figures(tracker: Tracker, results: StoredResults) -> None:
    """Each finished trial's forecast figure, drawn here from its stored predictions (never in the worker) and
    logged to its run once."""
    from benchmark.render.plots import trial_forecast_figure
    from benchmark.tracking import FORECAST_FIGURE

    for trial in results.finished.itertuples():
        if tracker.has_artifact(trial.run_id, FORECAST_FIGURE):
            continue
        frame = results.predictions[(results.predictions["model"] == trial.model)
                                    & (results.predictions["seed"] == trial.seed)]
        name = trial.model if not trial.stochastic else f"{trial.model} · seed {trial.seed}"
        figure = trial_forecast_figure(frame, name)
        tracker.log_files(trial.run_id, {FORECAST_FIGURE: lambda path, fig=figure: fig.savefig(path, dpi=80)})


def sweep_hashes(uri: str, experiment_id: str, parent) -> list[str]:
    """The config hashes of every grid point of the parent's sweep (just its own outside sweeps)."""
    return Tracker(uri).sweep_hashes(experiment_id, parent)


def print_summary(table: pd.DataFrame, results: StoredResults, file=None) -> None:
    """The terminal version: rank, model, MAE over seeds, MASE, DM p, and the verdict."""
    from tabulate import tabulate

    from benchmark.render.leaderboard import headers, markdown_rows

    file = file or sys.stdout
    metric = results.meta.metric
    names = headers(metric)
    keep = [names.index(h) for h in ("rank", "model", "seeds", f"{metric.upper()} mean ± sd", "MASE",
                                     "skill [95% CI]", "DM p (raw)", "DM p (Holm)", "vs persistence")]
    rows = [[row[i] for i in keep] for row in markdown_rows(table, metric, results.meta.chosen)]
    print(tabulate(rows, headers=[names[i] for i in keep], disable_numparse=True), file=file)
    print("\n" + verdict(table, results.meta), file=file)


def resolve_experiment(uri: str, experiment: str | None) -> str:
    """An experiment id by name, or the most recently updated benchmark experiment."""
    found = Tracker(uri).find_experiment(experiment)
    if found is None:
        raise BenchmarkError(f"no experiment named '{experiment}' in {uri}" if experiment else
                             f"no benchmark experiment in {uri}: run `python -m benchmark run` first")
    return found
