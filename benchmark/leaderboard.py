"""The comparison: seed-aggregated metrics, skill and Diebold–Mariano tests against persistence, the verdict,
and the markdown leaderboard. Pure functions of `Results` (what the tracking store holds), so `run` and
`report` produce the same file from the same store."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from benchmark import metrics, stats

REFERENCE = "naive"
ORDER = ["fold", "date", "step"]  # every scored point of every fold, in time order within each fold
ALPHA = 0.05


@dataclass
class Results:
    """One configuration's trials as read back from the tracking store."""

    meta: dict  # dataset, protocol, command, config hash, split dates, seeds, epochs, ...
    trials: pd.DataFrame  # one row per trial run: model, seed, kind, status, metrics, failure_reason
    predictions: pd.DataFrame  # finished trials: model, seed, date, step, actual, predicted, last_observed
    histories: pd.DataFrame = field(default_factory=pd.DataFrame)  # model, seed, epoch, loss, val_loss

    @property
    def finished(self) -> pd.DataFrame:
        return self.trials[self.trials["status"] == "FINISHED"]

    @property
    def failed(self) -> pd.DataFrame:
        return self.trials[self.trials["status"] != "FINISHED"]


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
    neural = results.finished[results.finished["kind"] == "neural"]
    for model, runs in neural.groupby("model"):
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
    horizon = int(results.meta.get("horizon", 1))
    per_trial = forecasts(results)
    naive_frame = next(f for (m, _), f in per_trial.items() if m == REFERENCE)
    naive_errors = _errors(naive_frame)
    naive_mae = float(np.mean(np.abs(naive_errors)))
    rows = []
    for model, runs in results.finished.groupby("model", sort=False):
        kind = runs["kind"].iloc[0]
        seeds = list(runs["seed"])
        summaries = {m: stats.seed_summary(runs[m].astype(float).tolist()) for m in ("mae", "rmse", "mase")}
        u2, p_sq, p_abs = [], [], []
        for seed in seeds:
            frame = per_trial[(model, seed)]
            errors = _errors(frame)
            u2.append(stats.theils_u2(_matrix(frame, "actual"), _matrix(frame, "predicted"),
                                      _matrix(naive_frame, "predicted")))
            if model != REFERENCE:
                p_sq.append(_dm(errors, naive_errors, "squared", horizon))
                p_abs.append(_dm(errors, naive_errors, "absolute", horizon))
        rows.append({
            "model": model, "row": "seeds" if kind == "neural" else "baseline", "kind": kind, "seeds": len(seeds),
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
            "model": f"{model} (ensemble)", "row": "ensemble", "kind": "neural",
            "seeds": int((results.finished["model"] == model).sum()),
            "mae_mean": mae, "rmse_mean": scores["rmse"], "mase_mean": scores["mase"],
            "theil_u2": stats.theils_u2(actual, predicted, _matrix(naive_frame, "predicted")),
            "skill_vs_naive": 1 - mae / naive_mae,
            "dm_p_squared": _dm(errors, naive_errors, "squared", horizon),
            "dm_p_absolute": _dm(errors, naive_errors, "absolute", horizon),
        })
    table = pd.DataFrame(rows).sort_values("mae_mean", kind="stable").reset_index(drop=True)
    table["rank"] = table["mae_mean"].rank(method="min").astype(int)
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
    horizon = int(results.meta.get("horizon", 1))
    errors = {}
    ens = ensembles(results)
    for (model, _seed), frame in forecasts(results).items():
        if model in ens or model in errors:
            continue
        errors[model] = _errors(frame)
    for model, frame in ens.items():
        errors[model] = _errors(frame)
    return stats.pairwise_dm(errors, loss="squared", horizon=horizon)


def verdict(table: pd.DataFrame) -> str:
    """The conclusion in plain words: who beat persistence at the 5% level, and what is only seed noise."""
    seeds = table[table["row"] == "seeds"]
    naive = table[table["model"] == REFERENCE].iloc[0]
    winners = seeds[seeds["beats_naive"]]
    if winners.empty:
        best = seeds.iloc[0] if len(seeds) else None
        text = "No neural model beat naive persistence at the 5% level (Diebold–Mariano, squared loss)."
        if best is not None:
            text += (f" The best neural model, {best['model']}, has mean MAE {best['mae_mean']:.4g} against "
                     f"persistence's {naive['mae_mean']:.4g} (median DM p over seeds = {best['dm_p_squared']:.3g}).")
        ensembles = table[(table["row"] == "ensemble") & table["beats_naive"]]
        if len(ensembles):
            names = ", ".join(f"{r['model']} (MAE {r['mae_mean']:.4g}, p = {r['dm_p_squared']:.2g})"
                              for _, r in ensembles.iterrows())
            text += (f" Averaging the seeds' forecasts does beat it: {names}; a single trained network does not "
                     "reliably.")
        return text
    parts = [f"{r['model']} (MAE {r['mae_mean']:.4g} vs {naive['mae_mean']:.4g}, median p = {r['dm_p_squared']:.3g}, "
             f"significant in {int(r['seeds_significant'])}/{int(r['seeds'])} seeds)" for _, r in winners.iterrows()]
    text = "Beat naive persistence at the 5% level (Diebold–Mariano, squared loss): " + "; ".join(parts) + "."
    losers = sorted(set(seeds["model"]) - set(winners["model"]))
    if losers:
        text += f" Not significantly better than persistence: {', '.join(losers)}."
    return text


def noise_note(table: pd.DataFrame) -> str:
    """Which neighbouring ranks are within seed noise, so nobody reads a ranking into it."""
    pairs = [f"{table.iloc[i - 1]['model']} ≈ {table.iloc[i]['model']}"
             for i in range(1, len(table)) if table.iloc[i]["within_noise_of_previous"]]
    if not pairs:
        return "No neighbouring pair is within seed noise."
    return "Within seed noise of the row above (95% seed intervals overlap): " + "; ".join(pairs) + "."


def _fmt(value, digits: int = 4) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}g}"


def markdown_rows(table: pd.DataFrame, chosen: dict[str, str] | None = None) -> list[list[str]]:
    """Table rows as text; a sweep's networks carry the configuration chosen for them."""
    chosen = chosen or {}
    rows = []
    for _, r in table.iterrows():
        sd = "" if pd.isna(r.get("mae_sd")) else f" ± {_fmt(r['mae_sd'], 3)}"
        ci = "–" if pd.isna(r.get("mae_ci_low")) else f"[{_fmt(r['mae_ci_low'])}, {_fmt(r['mae_ci_high'])}]"
        p = r["dm_p_squared"]
        marker = "" if r["model"] == REFERENCE else (" ✓" if r["beats_naive"] else " ✗ n.s.")
        rows.append([
            r["rank"], r["model"] + (f" [{chosen[r['model']]}]" if r["model"] in chosen else "")
            + (" ≈" if r["within_noise_of_previous"] else ""), r["seeds"],
            f"{_fmt(r['mae_mean'])}{sd}", ci, _fmt(r["rmse_mean"]), _fmt(r["mase_mean"], 3), _fmt(r["theil_u2"], 3),
            "ref" if r["model"] == REFERENCE else f"{_fmt(p, 2)}{marker}", _fmt(r["dm_p_absolute"], 2),
            _fmt(r.get("epochs"), 3), _fmt(r.get("train_seconds"), 3),
        ])
    return rows


HEADERS = ["rank", "model", "seeds", "MAE mean ± sd", "MAE 95% CI", "RMSE", "MASE", "Theil U2",
           "DM p vs naive (sq)", "DM p (abs)", "epochs", "train s"]


def render(results: Results, table: pd.DataFrame, pvalues: pd.DataFrame, figures: dict[str, str],
           level: int = 1, extra: list[str] | None = None) -> str:
    """One dataset's leaderboard: a whole LEADERBOARD.md at level 1, a section of it at level 2."""
    from tabulate import tabulate

    m = results.meta
    h1, h2 = "#" * level, "#" * (level + 1)
    lines = [
        f"{h1} Leaderboard: {m['dataset']}",
        "",
        f"**Verdict.** {verdict(table)}",
        "",
        noise_note(table),
        "",
        "| setting | value |", "|---|---|",
        f"| dataset | `{m['dataset']}` (sha256 `{m.get('dataset_checksum', '')[:16]}…`) |",
        f"| protocol | {protocol_text(m)}, preset `{m.get('preset')}` |",
        f"| window → horizon | {m.get('window')} → {m.get('horizon')}, scaler `{m.get('scaler')}` |",
        f"| train targets | {m.get('train_start')} … {m.get('train_end')} ({m.get('train_windows')} windows) |",
        f"| validation targets | {m.get('val_start', '–')} … {m.get('val_end', '–')} |",
        f"| test targets | {m.get('test_start')} … {m.get('test_end')} "
        f"({m.get('test_points')} points, each scored once) |",
        f"| training | {m.get('optimizer')} lr {m.get('learning_rate')}, {m.get('loss')} loss, batch "
        f"{m.get('batch_size')}, {m.get('epochs')} epochs" + (f" max, early stopping (patience {m.get('patience')})"
                                                               if m.get("early_stopping") == "True" else "") + " |",
        f"| seeds | {m.get('seeds')} |",
        f"| command | `{m.get('command')}` |",
        f"| config hash | `{m.get('config_hash')}` |",
        f"| software | {m.get('software')} |",
        "",
        *fold_lines(m),
        f"{h2} Models, sorted by mean test MAE (original price scale)",
        "",
        tabulate(markdown_rows(table, m.get("chosen", {})), headers=HEADERS, tablefmt="github",
                 disable_numparse=True),
        "",
        "MAE mean ± sd and the 95% Student-t interval are over seeds; baselines are deterministic (one run). "
        "`(ensemble)` rows score the mean of the seeds' forecasts. MASE divides by the in-sample one-step naive "
        "MAE; Theil U2 is RMSE relative to persistence (< 1 beats it). DM p: one-sided Diebold–Mariano test with "
        "the Harvey–Leybourne–Newbold correction that the model's loss is lower than persistence's, median over "
        "seeds; ✓ significant at 5%, ✗ n.s. not significantly better. ≈ marks a row within seed noise of the row "
        "above (intervals overlap).",
        "",
    ]
    lines += [line.replace("## ", f"{h2} ", 1) if line.startswith("## ") else line for line in extra or []]
    failed = results.failed
    if len(failed):
        lines += [f"{h2} Failed trials (not averaged in)", "",
                  tabulate([[r["model"], r["seed"], r["status"], r["failure_reason"]] for _, r in failed.iterrows()],
                           headers=["model", "seed", "status", "reason"], tablefmt="github"), ""]
    lines += [f"{h2} Pairwise Diebold–Mariano p-values (two-sided, squared loss; ensembles for neural models)", "",
              tabulate([[name, *[_fmt(v, 2) for v in row]] for name, row in pvalues.iterrows()],
                       headers=["", *pvalues.columns], tablefmt="github", disable_numparse=True), ""]
    if figures:
        lines += [f"{h2} Figures", ""] + [f"![{title}]({path})" for title, path in figures.items()] + [""]
    return "\n".join(lines)


def protocol_text(meta: dict) -> str:
    if meta.get("protocol") != "backtest":
        return "holdout (one test period)"
    return (f"rolling-origin backtest, {meta.get('folds')} folds, {meta.get('window_type')} training window, "
            "scaler refitted and model retrained per fold")


def fold_lines(meta: dict) -> list[str]:
    """The backtest's folds and their date ranges (nothing for a holdout)."""
    import json

    if meta.get("protocol") != "backtest" or not meta.get("fold_dates"):
        return []
    from tabulate import tabulate

    rows = [[i, f.get("train_start"), f.get("train_end"), f.get("val_start", "–"), f.get("val_end", "–"),
             f.get("test_start"), f.get("test_end")] for i, f in enumerate(json.loads(meta["fold_dates"]))]
    return ["Folds (targets of each part; errors of all folds enter the tests):", "",
            tabulate(rows, headers=["fold", "train from", "train to", "val from", "val to", "test from", "test to"],
                     tablefmt="github"), ""]


def summary_across(tables: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """Rank of each model on each dataset and its mean rank over datasets (lower is better)."""
    ranks = pd.DataFrame({name: t.set_index("model")["rank"] for name, t in tables.items()})
    ranks["mean rank"] = ranks.mean(axis=1)
    return ranks.sort_values("mean rank")


def render_many(sections: list[str], tables: dict[str, pd.DataFrame]) -> str:
    """LEADERBOARD.md for several datasets: the cross-dataset summary, then one section per dataset."""
    from tabulate import tabulate

    summary = summary_across(tables)
    lines = [f"# Leaderboard: {', '.join(tables)}", "",
             "## Across datasets: rank by mean test MAE on each dataset, and the mean rank", "",
             tabulate(summary.reset_index(names="model"), headers="keys", tablefmt="github", showindex=False,
                      floatfmt=".2f", missingval="–"), "",
             "Verdicts per dataset:", ""]
    lines += [f"- **{name}**: {verdict(table)}" for name, table in tables.items()]
    return "\n".join([*lines, "", *sections])


def csv_frame(results: Results, table: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard for machines: the table plus the dataset and config it belongs to."""
    out = table.copy()
    out.insert(0, "config_hash", results.meta.get("config_hash"))
    out.insert(0, "dataset", results.meta.get("dataset"))
    return out
