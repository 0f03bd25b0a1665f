"""The leaderboard in markdown: the typed table (`benchmark.comparison`) and its words (`benchmark.verdict`)
rendered as one page, or one section per dataset. Pure functions of `Results`, so `run` and `report` write the
same file from the same store."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from benchmark import settings
from benchmark.comparison import Results, RunMeta, summary_across
from benchmark.verdict import noise_note, verdict


def _fmt(value, digits: int = 4) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}g}"


def markdown_rows(table: pd.DataFrame, chosen: Mapping[str, str] | None = None) -> list[list[str]]:
    """Table rows as text; a sweep's networks carry the configuration chosen for them."""
    chosen = chosen or {}
    rows = []
    for _, r in table.iterrows():
        sd = "" if pd.isna(r.get("mae_sd")) else f" ± {_fmt(r['mae_sd'], 3)}"
        ci = "–" if pd.isna(r.get("mae_ci_low")) else f"[{_fmt(r['mae_ci_low'])}, {_fmt(r['mae_ci_high'])}]"
        p = r["dm_p_squared"]
        marker = "" if r["reference"] else (" ✓" if r["beats_naive"] else " ✗ n.s.")
        rows.append([
            r["rank"], r["model"] + (f" [{chosen[r['model']]}]" if r["model"] in chosen else "")
            + (" ≈" if r["within_noise_of_previous"] else ""), r["seeds"],
            f"{_fmt(r['mae_mean'])}{sd}", ci, _fmt(r["rmse_mean"]), _fmt(r["mase_mean"], 3), _fmt(r["theil_u2"], 3),
            "ref" if r["reference"] else f"{_fmt(p, 2)}{marker}", _fmt(r["dm_p_absolute"], 2),
            _fmt(r.get("epochs"), 3), _fmt(r.get("train_seconds"), 3),
        ])
    return rows


HEADERS = ["rank", "model", "seeds", "MAE mean ± sd", "MAE 95% CI", "RMSE", "MASE", "Theil U2",
           "DM p vs naive (sq)", "DM p (abs)", "epochs", "train s"]


def settings_rows(meta: RunMeta) -> list[str]:
    """One row per group of the settings table (data, protocol, training): every setting that decides this
    configuration's numbers, by the word the command line and the experiment files use."""
    rows = []
    for group in ("data", "protocol", "training"):
        values = [f"{s.name} `{meta.settings[s.name]}`" for s in settings.TABLE
                  if s.group == group and s.name in meta.settings and meta.settings[s.name] is not None
                  and s.name not in ("dataset", "preset") and s.is_hashed(meta.settings)]
        if values:
            rows.append(f"| {group} settings | {', '.join(values)} |")
    return rows


def _seeds_text(seeds: tuple[int, ...]) -> str:
    return f"{len(seeds)} ({', '.join(map(str, seeds))})" if seeds else "–"


def render(results: Results, table: pd.DataFrame, pvalues: pd.DataFrame, figures: dict[str, str],
           level: int = 1, extra: list[str] | None = None) -> str:
    """One dataset's leaderboard: a whole LEADERBOARD.md at level 1, a section of it at level 2."""
    from tabulate import tabulate

    m = results.meta
    h1, h2 = "#" * level, "#" * (level + 1)
    dates = m.dates
    lines = [
        f"{h1} Leaderboard: {m.dataset}",
        "",
        f"**Verdict.** {verdict(table)}",
        "",
        noise_note(table),
        "",
        "| setting | value |", "|---|---|",
        f"| dataset | `{m.dataset}` (sha256 `{m.dataset_checksum[:16]}…`) |",
        f"| protocol | {protocol_text(m)}, preset `{m.get('preset')}` |",
        *settings_rows(m),
        f"| train targets | {dates.get('train_start')} … {dates.get('train_end')} ({m.train_windows} windows) |",
        f"| validation targets | {dates.get('val_start', '–')} … {dates.get('val_end', '–')} |",
        f"| test targets | {dates.get('test_start')} … {dates.get('test_end')} "
        f"({m.test_points} points, each scored once) |",
        f"| seeds | {_seeds_text(m.seeds)} |",
        f"| command | `{m.command}` |",
        f"| config hash | `{m.config_hash}` |",
        f"| software | {', '.join(f'{k} {v}' for k, v in sorted(m.software.items()))} |",
        "",
        *fold_lines(m),
        f"{h2} Models, sorted by mean test MAE (original price scale)",
        "",
        tabulate(markdown_rows(table, m.chosen), headers=HEADERS, tablefmt="github", disable_numparse=True),
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


def protocol_text(meta: RunMeta) -> str:
    if meta.get("protocol") != "backtest":
        return "holdout (one test period)"
    return (f"rolling-origin backtest, {meta.get('folds')} folds, {meta.get('window_type')} training window, "
            "scaler refitted and model retrained per fold")


def fold_lines(meta: RunMeta) -> list[str]:
    """The backtest's folds and their date ranges (nothing for a holdout)."""
    if meta.get("protocol") != "backtest" or not meta.fold_dates:
        return []
    from tabulate import tabulate

    rows = [[i, f.get("train_start"), f.get("train_end"), f.get("val_start", "–"), f.get("val_end", "–"),
             f.get("test_start"), f.get("test_end")] for i, f in enumerate(meta.fold_dates)]
    return ["Folds (targets of each part; errors of all folds enter the tests):", "",
            tabulate(rows, headers=["fold", "train from", "train to", "val from", "val to", "test from", "test to"],
                     tablefmt="github"), ""]


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
    out.insert(0, "config_hash", results.meta.config_hash)
    out.insert(0, "dataset", results.meta.dataset)
    return out
