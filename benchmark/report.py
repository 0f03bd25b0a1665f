"""Results from the tracking store: the terminal summary (leaderboard and plots come in `leaderboard`)."""

from __future__ import annotations

import pandas as pd

from benchmark import tracking

METRICS = ("mae", "rmse", "mape", "smape", "mase", "directional_accuracy", "train_seconds", "epochs_run")


def trials_frame(uri: str, experiment_id: str, config_hash: str) -> pd.DataFrame:
    """One row per trial run of a configuration: model, seed, status, run id and its summary metrics."""
    rows = []
    for run in tracking.trial_runs(uri, experiment_id, config_hash):
        row = {"model": run.data.params.get("model"), "seed": run.data.params.get("seed"),
               "kind": run.data.params.get("kind"), "status": run.info.status, "run_id": run.info.run_id,
               "start_time": run.info.start_time, "failure_reason": run.data.tags.get("failure_reason", "")}
        row.update({m: run.data.metrics.get(m) for m in METRICS})
        rows.append(row)
    return pd.DataFrame(rows, columns=["model", "seed", "kind", "status", "run_id", "start_time",
                                       "failure_reason", *METRICS])


def print_summary(outcome) -> None:
    """Mean and sd over seeds per model, sorted by mean MAE, for the terminal."""
    from tabulate import tabulate

    frame = trials_frame(outcome.tracking_uri, outcome.experiment_id, outcome.config.config_hash)
    done = frame[frame["status"] == "FINISHED"]
    table = done.groupby("model").agg(seeds=("mae", "size"), mae=("mae", "mean"), mae_sd=("mae", "std"),
                                      rmse=("rmse", "mean"), mase=("mase", "mean"))
    print(tabulate(table.sort_values("mae"), headers="keys", floatfmt=".4g"))
