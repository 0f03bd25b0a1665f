"""Read a configuration's trials back from the tracking store and write the leaderboard, CSV and figures.

`run` ends here, and `python -m benchmark report` calls the same code on the store alone (no retraining), so
both write the same files from the same runs. Every file is written to a temporary name and renamed.
"""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmark import sweep, tracking
from benchmark.errors import BenchmarkError
from benchmark.files import atomic_write
from benchmark.leaderboard import Results, build_table, csv_frame, pairwise_pvalues, render, render_many, verdict
from benchmark.runner import check_writable

METRICS = ("mae", "rmse", "mape", "smape", "mase", "directional_accuracy", "train_seconds", "epochs_run", "val_mae")
META_PARAMS = ("dataset", "dataset_checksum", "protocol", "preset", "window", "horizon", "scaler", "epochs",
               "batch_size", "loss", "optimizer", "learning_rate", "early_stopping", "patience", "train_windows",
               "test_points", "train_start", "train_end", "val_start", "val_end", "test_start", "test_end",
               "folds", "window_type", "fold_dates")


def trials_frame(uri: str, experiment_id: str, config_hash: str) -> pd.DataFrame:
    """One row per trial run of a configuration: model, seed, status, run id and its summary metrics."""
    rows = []
    for run in tracking.trial_runs(uri, experiment_id, config_hash):
        row = {"model": run.data.params.get("model"), "seed": run.data.params.get("seed"),
               "kind": run.data.params.get("kind"), "status": run.info.status, "run_id": run.info.run_id,
               "start_time": run.info.start_time, "failure_reason": run.data.tags.get("failure_reason", ""),
               "model_hash": run.data.tags.get("model_hash", "")}
        row.update({m: run.data.metrics.get(m) for m in METRICS})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["model", "seed", "kind", "status", "run_id", "start_time",
                                        "failure_reason", "model_hash", *METRICS])
    # A trial retrained with --force leaves older finished runs: the newest run of each (model, seed) counts, and
    # only runs of the model's newest hyper-parameters (an edited model never mixes with its old self).
    frame = frame.sort_values("start_time", ascending=False)
    newest = frame.drop_duplicates("model").set_index("model")["model_hash"]
    frame = frame[frame["model_hash"].to_numpy() == newest.reindex(frame["model"]).to_numpy()]
    finished = frame[frame["status"] == "FINISHED"].drop_duplicates(["model", "seed"])
    unfinished = frame[frame["status"] != "FINISHED"]
    unfinished = unfinished[~unfinished.set_index(["model", "seed"]).index.isin(
        finished.set_index(["model", "seed"]).index)].drop_duplicates(["model", "seed"])
    return pd.concat([finished, unfinished]).sort_values(["kind", "model", "seed"]).reset_index(drop=True)


def latest_parent(uri: str, experiment_id: str, config_hash: str | None = None):
    query = "tags.run_type = 'parent'" + (f" AND tags.config_hash = '{config_hash}'" if config_hash else "")
    runs = tracking.client(uri).search_runs([experiment_id], query, order_by=["attributes.start_time DESC"],
                                            max_results=1)
    if not runs:
        raise BenchmarkError(f"no benchmark runs{' with config ' + config_hash if config_hash else ''} "
                             f"in experiment {experiment_id} of {uri}")
    return runs[0]


def load_results(uri: str, experiment_id: str, config_hash: str) -> Results:
    """Everything the leaderboard needs, from the store only."""
    c = tracking.client(uri)
    trials = trials_frame(uri, experiment_id, config_hash)
    finished = trials[trials["status"] == "FINISHED"]
    if "naive" not in set(finished["model"]):
        raise BenchmarkError(f"config {config_hash} has no finished naive baseline to compare against")
    parent = latest_parent(uri, experiment_id, config_hash)
    sample = c.get_run(finished["run_id"].iloc[0])
    meta = {k: sample.data.params.get(k) for k in META_PARAMS}
    seeds = sorted({int(s) for s in finished[finished["kind"] == "neural"]["seed"]})
    versions = {k.split(".")[-1]: v for k, v in sample.data.tags.items() if k.startswith("benchmark.version.")}
    label = ", ".join(f"{k.removeprefix('sweep.')}={v}" for k, v in sorted(sample.data.params.items())
                      if k.startswith("sweep."))
    meta.update(config_hash=config_hash, command=parent.data.tags.get("benchmark.command", ""), sweep_label=label,
                seeds=f"{len(seeds)} ({', '.join(map(str, seeds))})" if seeds else "–",
                software=", ".join(f"{k} {v}" for k, v in sorted(versions.items())),
                parent_run_id=parent.info.run_id)
    predictions, histories = [], []
    with tempfile.TemporaryDirectory() as tmp:
        for _, trial in finished.iterrows():
            path = c.download_artifacts(trial["run_id"], "predictions.csv", dst_path=f"{tmp}/{trial['run_id']}")
            predictions.append(pd.read_csv(path).assign(model=trial["model"], seed=trial["seed"]))
    for _, trial in finished[finished["kind"] == "neural"].iterrows():
        for key in ("loss", "val_loss"):
            history = c.get_metric_history(trial["run_id"], key)
            histories += [{"model": trial["model"], "seed": trial["seed"], "epoch": m.step, "metric": key,
                           "value": m.value} for m in history]
    predictions = pd.concat(predictions, ignore_index=True)
    if "fold" not in predictions:  # runs logged before backtests existed: one fold, one scale
        row = finished.iloc[0]
        predictions = predictions.assign(fold=0, mase_scale=float(row["mae"] / row["mase"]))
    return Results(meta, trials, predictions, pd.DataFrame(histories))


def load_sweep(uri: str, experiment_id: str, config_hashes: list[str]) -> tuple[Results, list[str]]:
    """A sweep's leaderboard data: for each network the grid point chosen on validation MAE, the baselines once,
    plus the sensitivity table and the per-point summary as markdown lines."""
    from tabulate import tabulate

    points = [load_results(uri, experiment_id, h) for h in config_hashes]
    labelled = []
    for results in points:
        trials = results.finished.assign(point=results.meta["sweep_label"], config_hash=results.meta["config_hash"])
        labelled.append(trials)
    trials = pd.concat(labelled, ignore_index=True)
    networks = trials[trials["kind"] == "neural"].astype({"val_mae": float, "mae": float})
    chosen = sweep.select(networks)
    base = points[0]
    keep_trials = [base.trials[base.trials["kind"] == "baseline"]]
    keep_predictions = [base.predictions[base.predictions["model"].isin(set(base.trials.query("kind == 'baseline'")
                                                                             ["model"]))]]
    keep_histories = []
    by_label = {r.meta["sweep_label"]: r for r in points}
    for row in chosen.itertuples():
        source = by_label[row.point]
        keep_trials.append(source.trials[source.trials["model"] == row.model])
        keep_predictions.append(source.predictions[source.predictions["model"] == row.model])
        if not source.histories.empty:
            keep_histories.append(source.histories[source.histories["model"] == row.model])
    meta = dict(base.meta, chosen={r.model: r.point for r in chosen.itertuples()})
    combined = Results(meta, pd.concat(keep_trials, ignore_index=True),
                       pd.concat(keep_predictions, ignore_index=True),
                       pd.concat(keep_histories, ignore_index=True) if keep_histories else pd.DataFrame())
    per_point = networks.groupby(["model", "point"], sort=False).agg(
        seeds=("mae", "size"), val_mae=("val_mae", "mean"), test_mae=("mae", "mean")).reset_index()
    per_point = per_point.sort_values("model", kind="stable").reset_index(drop=True)
    per_point["chosen"] = [("✓" if chosen.set_index("model").loc[m, "point"] == p else "")
                           for m, p in zip(per_point["model"], per_point["point"], strict=True)]
    spread = sweep.sensitivity(networks)
    lines = [
        "## Sweep: each architecture at the configuration with the best mean validation MAE", "",
        f"{len(points)} grid points; every point trained under every seed. The choice uses validation MAE only "
        "(price scale, mean over seeds); the test period is never looked at to choose. The main table shows each "
        "architecture at its chosen point.", "",
        tabulate(per_point, headers=["model", "configuration", "seeds", "val MAE", "test MAE", "chosen"],
                 tablefmt="github", showindex=False, floatfmt=".4g"), "",
        "## Sensitivity: test MAE over the grid (mean over seeds per point)", "",
        tabulate(spread, headers=["model", "min", "median", "max", "points"], tablefmt="github", showindex=False,
                 floatfmt=".4g"), "",
    ]
    combined.meta["sweep_points"] = per_point
    return combined, lines


def write_report(entries: list[tuple[str, str, list[str]]], results_dir: str | Path,
                 log_to_parent: bool = True) -> list[tuple[Results, pd.DataFrame]]:
    """LEADERBOARD.md, leaderboard.csv and figures/ for (tracking URI, experiment id, config hashes) entries.

    An entry is one dataset: one config hash gives its leaderboard, several (a sweep's grid points) give each
    architecture at the point chosen on validation plus the sensitivity table. Several entries give a
    cross-dataset summary and a section each. Files also go to each configuration's latest parent run.
    """
    from benchmark import plots

    out = Path(results_dir)
    check_writable(out)
    many = len(entries) > 1
    done, sections, frames, tables, written = [], [], [], {}, []
    for uri, experiment_id, config_hashes in entries:
        extra: list[str] = []
        results = load_results(uri, experiment_id, config_hashes[0])
        if len(config_hashes) > 1 or results.meta["sweep_label"]:  # grid points or a search's chosen point
            results, extra = load_sweep(uri, experiment_id, config_hashes)
        table = build_table(results)
        pvalues = pairwise_pvalues(results)
        dataset = results.meta["dataset"]
        figures = plots.all_figures(results, table, pvalues)
        if "sweep_points" in results.meta:
            figures["sweep"] = ("Validation and test MAE over the grid", plots.sweep_figure(results.meta))
        paths = {}
        for name, (title, fig) in figures.items():
            rel = f"figures/{dataset}_{name}.png" if many else f"figures/{name}.png"
            atomic_write(out / rel, lambda p, fig=fig: fig.savefig(p, dpi=110, format="png", bbox_inches="tight"))
            paths[title] = rel
        sections.append(render(results, table, pvalues, paths, level=2 if many else 1, extra=extra))
        frames.append(csv_frame(results, table))
        tables[dataset] = table
        written.append((uri, results.meta["parent_run_id"], list(paths.values())))
        done.append((results, table))
    text = render_many(sections, tables) if many else sections[0]
    atomic_write(out / "LEADERBOARD.md", lambda p: p.write_text(text + "\n"))
    atomic_write(out / "leaderboard.csv", lambda p: pd.concat(frames).to_csv(p, index=False))
    if log_to_parent:
        for uri, parent, figures in written:
            c = tracking.client(uri)
            c.log_artifact(parent, str(out / "LEADERBOARD.md"), "leaderboard")
            c.log_artifact(parent, str(out / "leaderboard.csv"), "leaderboard")
            for rel in figures:
                c.log_artifact(parent, str(out / rel), "leaderboard/figures")
    return done


def sweep_hashes(uri: str, experiment_id: str, parent) -> list[str]:
    """The config hashes of every grid point of the parent's sweep (just its own outside sweeps)."""
    sweep_id = parent.data.tags.get("sweep_id")
    if not sweep_id:
        return [parent.data.tags["config_hash"]]
    runs = tracking.client(uri).search_runs([experiment_id], f"tags.run_type = 'parent' AND "
                                            f"tags.sweep_id = '{sweep_id}'", order_by=["attributes.start_time ASC"])
    return list(dict.fromkeys(r.data.tags["config_hash"] for r in runs))


def print_summary(table: pd.DataFrame, results: Results, file=None) -> None:
    """The terminal version: rank, model, MAE over seeds, MASE, DM p, and the verdict."""
    from tabulate import tabulate

    from benchmark.leaderboard import HEADERS, markdown_rows

    file = file or sys.stdout
    keep = [0, 1, 2, 3, 6, 8]
    rows = [[row[i] for i in keep] for row in markdown_rows(table, results.meta.get("chosen"))]
    print(tabulate(rows, headers=[HEADERS[i] for i in keep], disable_numparse=True), file=file)
    print("\n" + verdict(table), file=file)


def resolve_experiment(uri: str, experiment: str | None) -> str:
    """An experiment id by name, or the most recently updated benchmark experiment."""
    c = tracking.client(uri)
    if experiment:
        found = c.get_experiment_by_name(experiment)
        if found is None:
            raise BenchmarkError(f"no experiment named '{experiment}' in {uri}")
        return found.experiment_id
    found = c.search_experiments(filter_string=f"name LIKE '{tracking.EXPERIMENT_PREFIX}/%'",
                                 order_by=["last_update_time DESC"], max_results=1)
    if not found:
        raise BenchmarkError(f"no benchmark experiment in {uri}: run `python -m benchmark run` first")
    return found[0].experiment_id
