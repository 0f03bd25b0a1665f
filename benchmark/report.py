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

from benchmark import tracking
from benchmark.errors import BenchmarkError
from benchmark.leaderboard import Results, build_table, csv_frame, pairwise_pvalues, render, render_many, verdict
from benchmark.runner import check_writable

METRICS = ("mae", "rmse", "mape", "smape", "mase", "directional_accuracy", "train_seconds", "epochs_run")
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
               "start_time": run.info.start_time, "failure_reason": run.data.tags.get("failure_reason", "")}
        row.update({m: run.data.metrics.get(m) for m in METRICS})
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["model", "seed", "kind", "status", "run_id", "start_time",
                                        "failure_reason", *METRICS])
    # A trial retrained with --force leaves older finished runs: the newest run of each (model, seed) counts.
    frame = frame.sort_values("start_time", ascending=False)
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
    meta.update(config_hash=config_hash, command=parent.data.tags.get("benchmark.command", ""),
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


def _atomic(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def write_report(entries: list[tuple[str, str, str]], results_dir: str | Path,
                 log_to_parent: bool = True) -> list[tuple[Results, pd.DataFrame]]:
    """LEADERBOARD.md, leaderboard.csv and figures/ for (tracking URI, experiment id, config hash) entries.

    One entry gives one dataset's leaderboard; several give a cross-dataset summary and a section each. Figures
    and the leaderboard are also logged to each configuration's latest parent run.
    """
    from benchmark import plots

    out = Path(results_dir)
    check_writable(out)
    many = len(entries) > 1
    done, sections, frames, tables, written = [], [], [], {}, []
    for uri, experiment_id, config_hash in entries:
        results = load_results(uri, experiment_id, config_hash)
        table = build_table(results)
        pvalues = pairwise_pvalues(results)
        dataset = results.meta["dataset"]
        paths = {}
        for name, (title, fig) in plots.all_figures(results, table, pvalues).items():
            rel = f"figures/{dataset}_{name}.png" if many else f"figures/{name}.png"
            _atomic(out / rel, lambda p, fig=fig: fig.savefig(p, dpi=110, format="png", bbox_inches="tight"))
            paths[title] = rel
        sections.append(render(results, table, pvalues, paths, level=2 if many else 1))
        frames.append(csv_frame(results, table))
        tables[dataset] = table
        written.append((uri, results.meta["parent_run_id"], list(paths.values())))
        done.append((results, table))
    text = render_many(sections, tables) if many else sections[0]
    _atomic(out / "LEADERBOARD.md", lambda p: p.write_text(text + "\n"))
    _atomic(out / "leaderboard.csv", lambda p: pd.concat(frames).to_csv(p, index=False))
    if log_to_parent:
        for uri, parent, figures in written:
            c = tracking.client(uri)
            c.log_artifact(parent, str(out / "LEADERBOARD.md"), "leaderboard")
            c.log_artifact(parent, str(out / "leaderboard.csv"), "leaderboard")
            for rel in figures:
                c.log_artifact(parent, str(out / rel), "leaderboard/figures")
    return done


def print_summary(table: pd.DataFrame, results: Results, file=sys.stdout) -> None:
    """The terminal version: rank, model, MAE over seeds, MASE, DM p, and the verdict."""
    from tabulate import tabulate

    from benchmark.leaderboard import HEADERS, markdown_rows

    keep = [0, 1, 2, 3, 6, 8]
    rows = [[row[i] for i in keep] for row in markdown_rows(table)]
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
