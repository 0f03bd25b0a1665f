"""The leaderboard in markdown: the typed table (`benchmark.analysis.comparison`) and its words
(`benchmark.analysis.verdict`) rendered as one page, or one section per dataset. Pure functions of `StoredResults`, so
`run` and `report` write the same file from the same store."""

from __future__ import annotations

import re
from collections.abc import Mapping

import numpy as np
import pandas as pd

from benchmark.analysis.comparison import (
    LOSS_OF_METRIC,
    RunMeta,
    StoredResults,
    skill_across,
    summary_across,
)
from benchmark.analysis.significance import FriedmanResult
from benchmark.analysis.verdict import noise_note, verdict
from benchmark.config import settings


def cell(text: object) -> str:
    """Any user-supplied string placed in a markdown table cell or line: one escaping rule for the whole page (a
    `|` would split the cell, a newline the row, `<` open HTML)."""
    return (str(text).replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace("\r", " ")
            .replace("\n", " "))


def code(text: object) -> str:
    """A user-supplied string as inline code: fenced with more backticks than it holds, table-safe."""
    text = str(text).replace("|", "\\|").replace("\r", " ").replace("\n", " ")
    ticks = "`" * (1 + max((len(run) for run in re.findall(r"`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{ticks}{pad}{text}{pad}{ticks}"


def _fmt(value, digits: int = 4) -> str:
    return "–" if value is None or (isinstance(value, float) and np.isnan(value)) else f"{value:.{digits}g}"


def markdown_rows(table: pd.DataFrame, metric: str, chosen: Mapping[str, str] | None = None) -> list[list[str]]:
    """Table rows as text; a sweep's networks carry the configuration chosen for them."""
    chosen = chosen or {}
    other = "rmse" if metric == "mae" else "mae"
    rows = []
    for _, r in table.iterrows():
        sd = "" if pd.isna(r.get(f"{metric}_sd")) else f" ± {_fmt(r[f'{metric}_sd'], 3)}"
        ci = ("–" if pd.isna(r.get(f"{metric}_ci_low")) else
              f"[{_fmt(r[f'{metric}_ci_low'])}, {_fmt(r[f'{metric}_ci_high'])}]")
        if r["reference"]:
            raw, adjusted, marker, skill, detectable = "ref", "ref", "", "ref", "–"
        else:
            raw, adjusted = _fmt(r["p_value"], 2), _fmt(r["p_holm"], 2)
            marker = CLASS_MARKS.get(r.get("verdict_class"), "✓ better" if r["significant"] else "n.s.")
            skill = _skill_text(r)
            detectable = "–" if pd.isna(r.get("detectable_skill")) else f"{100 * r['detectable_skill']:.2g}%"
        seeds_below = "" if pd.isna(r.get("seeds_below_alpha")) else f"{int(r['seeds_below_alpha'])}/{r['seeds']}"
        rows.append([
            r["rank"], cell(r["model"] + (f" [{chosen[r['model']]}]" if r["model"] in chosen else ""))
            + (" ≈" if r["within_noise_of_previous"] else ""), r["seeds"],
            f"{_fmt(r[f'{metric}_mean'])}{sd}", ci, _fmt(r[f"{other}_mean"]), _fmt(r["mase_mean"], 3),
            _fmt(r["theil_u2"], 3), skill, raw, adjusted, marker, detectable, _bootstrap_text(r),
            seeds_below or "–",
            _fmt(r.get("epochs"), 3), _fmt(r.get("train_seconds"), 3),
        ])
    return rows


def headers(metric: str) -> list[str]:
    other = "RMSE" if metric == "mae" else "MAE"
    return ["rank", "model", "seeds", f"{metric.upper()} mean ± sd", "95% seed interval", other, "MASE", "Theil U2",
            "skill [95% CI]", "DM p (raw)", "DM p (Holm)", "vs persistence", "detectable skill",
            "StepM · MCS", "seeds with raw p < α",
            "epochs", "train s"]


CLASS_MARKS = {"better": "✓ better", "worse": "✗ worse", "equivalent": "= equivalent", "undecided": "? undecided"}


def _bootstrap_text(r: pd.Series) -> str:
    """The bootstrap family's cell: StepM's verdict against persistence, and whether the row is in the model
    confidence set."""
    if pd.isna(r.get("in_confidence_set")):
        return "–"
    stepm = "ref" if r["reference"] else ("better" if r["stepm_better"] else "–")
    return f"{stepm} · {'in' if r['in_confidence_set'] else 'out'}"


def _skill_text(r: pd.Series) -> str:
    """Skill against persistence with its block-bootstrap interval, in %."""
    if pd.isna(r.get("skill_low")):
        return f"{100 * r['skill']:+.2f}%"
    return f"{100 * r['skill']:+.2f}% [{100 * r['skill_low']:+.2f}, {100 * r['skill_high']:+.2f}]"


def settings_rows(meta: RunMeta) -> list[str]:
    """One row per group of the settings table (data, protocol, training): every setting that decides this
    configuration's numbers, by the word the command line and the experiment files use."""
    rows = []
    for group in ("data", "protocol", "training"):
        values = [f"{s.name} `{_setting_text(meta.settings[s.name])}`" for s in settings.TABLE
                  if s.group == group and s.name in meta.settings and meta.settings[s.name] is not None
                  and s.name not in ("dataset", "preset") and s.is_hashed(meta.settings)]
        if values:
            rows.append(f"| {group} settings | {', '.join(values)} |")
    return rows


def _setting_text(value) -> str:
    """A setting's value as the command line spells it (a list: comma-separated)."""
    return ",".join(f"{v:g}" if isinstance(v, float) else str(v) for v in value) if isinstance(value, tuple | list) \
        else str(value)


def _seeds_text(seeds: tuple[int, ...]) -> str:
    return f"{len(seeds)} ({', '.join(map(str, seeds))})" if seeds else "–"


def render(results: StoredResults, table: pd.DataFrame, pvalues: pd.DataFrame, figures: dict[str, str],
           level: int = 1, extra: list[str] | None = None, lead: pd.DataFrame | None = None,
           folds: FriedmanResult | None = None, pairs: pd.DataFrame | None = None,
           intervals: list[str] | None = None) -> str:
    """One dataset's leaderboard: a whole LEADERBOARD.md at level 1, a section of it at level 2. Every number
    comes computed (`table`, `pvalues`, `lead`, `folds`: the backtest's Friedman test over its folds)."""
    from tabulate import tabulate

    m = results.meta
    h1, h2 = "#" * level, "#" * (level + 1)
    dates = m.dates
    lines = [
        f"{h1} Leaderboard: {cell(m.dataset)}",
        "",
        f"**Verdict.** {verdict(table, m)}",
        "",
        noise_note(table),
        "",
        "| setting | value |", "|---|---|",
        f"| dataset | {code(m.dataset)}" + (f" from {code(m.data)}" if m.data else " (bundled)")
        + f", sha256 `{m.dataset_checksum[:16]}…` |",
        f"| protocol | {protocol_text(m)}, preset `{m.get('preset')}` |",
        *settings_rows(m),
        f"| train targets | {dates.get('train_start')} … {dates.get('train_end')} ({m.train_windows} windows) |",
        f"| validation targets | {dates.get('val_start', '–')} … {dates.get('val_end', '–')} |",
        f"| test targets | {dates.get('test_start')} … {dates.get('test_end')} "
        f"({m.test_points} points, each scored once) |",
        *input_rows(m),
        f"| seeds | {_seeds_text(m.seeds)} |",
        f"| command | {code(m.command)} |",
        f"| config hash | `{m.config_hash}` |",
        f"| software | {', '.join(f'{k} {v}' for k, v in sorted(m.software.items()))} |",
        "",
        *fold_lines(m),
        f"{h2} Models, sorted by mean test {m.metric.upper()} (original price scale)",
        "",
        tabulate(markdown_rows(table, m.metric, m.chosen), headers=headers(m.metric), tablefmt="github",
                 disable_numparse=True),
        "",
        *table_notes(m),
        "",
        *pair_lines(pairs, m, h2),
        *lead_time_lines(lead, m, h2),
        *(intervals or []),
    ]
    lines += [line.replace("## ", f"{h2} ", 1) if line.startswith("## ") else line for line in extra or []]
    unfinished = results.failed
    running = unfinished[unfinished["status"] == "RUNNING"]
    failed = unfinished[unfinished["status"] != "RUNNING"]
    if len(failed):
        lines += [f"{h2} Failed trials (not averaged in)", "",
                  tabulate([[cell(r["model"]), r["seed"], r["status"], cell(r["failure_reason"])]
                            for _, r in failed.iterrows()],
                           headers=["model", "seed", "status", "reason"], tablefmt="github"), ""]
    if len(running):
        lines += [f"{h2} Trials still running in another invocation (not in this leaderboard yet)", "",
                  "`python -m benchmark report` includes them once they finish.", "",
                  tabulate([[r["model"], r["seed"]] for _, r in running.iterrows()], headers=["model", "seed"],
                           tablefmt="github"), ""]
    if m.get("protocol") == "backtest":
        lines += friedman_lines(folds, "folds", h2)
    loss = LOSS_OF_METRIC[m.metric]
    lines += [f"{h2} Pairwise Diebold–Mariano p-values (two-sided, {loss} error; Holm-adjusted over all pairs; "
              "seed ensembles for stochastic models)", "",
              tabulate([[name, *[_fmt(v, 2) for v in row]] for name, row in pvalues.iterrows()],
                       headers=["", *pvalues.columns], tablefmt="github", disable_numparse=True), ""]
    if figures:
        lines += [f"{h2} Figures", ""] + [f"![{title}]({path})" for title, path in figures.items()] + [""]
    return "\n".join(lines)


def pair_lines(pairs: pd.DataFrame | None, meta: RunMeta, h2: str) -> list[str]:
    """Which architectures are equivalent to each other within the declared margin (their own Holm family)."""
    if pairs is None or pairs.empty:
        return []
    from tabulate import tabulate

    margin = f"±{100 * meta.equivalence_margin:g}%"
    rows = [[r["a"], r["b"], _fmt(r["p_equivalent"], 2), _fmt(r["p_equivalent_holm"], 2),
             "= equivalent" if r["equivalent"] else "not shown"] for _, r in pairs.iterrows()]
    same = [f"{r['a']} = {r['b']}" for _, r in pairs.iterrows() if r["equivalent"]]
    words = (f"Equivalent to each other within {margin}: {'; '.join(same)}." if same else
             f"No pair of architectures is shown equivalent within {margin}.")
    return [f"{h2} Architectures against each other: equivalent within {margin}?", "",
            f"Two one-sided tests per pair of stochastic models (seed-averaged daily {LOSS_OF_METRIC[meta.metric]} "
            f"losses) that their mean difference lies within {margin} of persistence's mean loss, Holm-adjusted over "
            f"the {len(pairs)} pairs at α = {meta.alpha:g}. {words} A pair not shown equivalent may still be; this "
            "family says nothing about which of the two is better.", "",
            tabulate(rows, headers=["model", "model", "TOST p (raw)", "TOST p (Holm)", "within the margin"],
                     tablefmt="github", disable_numparse=True), ""]


def lead_time_lines(lead: pd.DataFrame | None, meta: RunMeta, h2: str) -> list[str]:
    """The per-lead-time table: each row's headline error at steps 1..H, ✓ where its own test at that step passes."""
    if lead is None:
        return []
    from tabulate import tabulate

    metric = meta.metric
    steps = sorted(lead["step"].unique())
    rows = []
    for model, group in lead.groupby("model", sort=False):
        by_step = group.set_index("step")
        rows.append([model, *[f"{by_step.loc[k, metric]:.4g}" + (" ✓" if by_step.loc[k, "significant"] else "")
                              for k in steps]])
    tested = int(lead["tested"].sum())
    strategy = meta.get("strategy") or "direct"
    how = ("recursive: one-step networks and estimators fed their own forecasts" if strategy == "recursive" else
           "direct: one network output per step")
    return [f"{h2} Errors by lead time ({metric.upper()}, mean over seeds; strategy {how}; statistical models "
            "use their own recursion)", "",
            tabulate(rows, headers=["model", *[f"step {k}" for k in steps]], tablefmt="github",
                     disable_numparse=True), "",
            f"✓: better than persistence at that lead time, in a secondary family of {tested} one-sided tests "
            f"(every tested row at every step; Diebold–Mariano/HLN with h = 1 on {LOSS_OF_METRIC[metric]} "
            f"error, Holm-adjusted over the {tested} at α = {meta.alpha:g}). The verdict above is the pooled test "
            "over all steps; this table does not change it.", ""]


def _true(value) -> bool:
    """A boolean cell that may be missing (NaN where the model did not run on that dataset)."""
    return not pd.isna(value) and bool(value)


def skill_lines(tables: Mapping[str, pd.DataFrame], metric: str) -> list[str]:
    """Each model's skill against persistence on every dataset (✓ where that dataset's family found it
    significantly better)."""
    from tabulate import tabulate

    frame = skill_across(tables)
    skill, significant = frame["skill"], frame["significant"]
    order = skill.mean(axis=1).sort_values(ascending=False).index
    rows = [[model, *[("–" if pd.isna(skill.loc[model, d]) else
                       f"{100 * skill.loc[model, d]:+.1f}%" + (" ✓" if _true(significant.loc[model, d]) else ""))
                      for d in skill.columns]] for model in order]
    return [f"## Skill against persistence on each dataset (1 − {metric.upper()} / persistence's)", "",
            tabulate(rows, headers=["model", *skill.columns], tablefmt="github", disable_numparse=True), "",
            "Positive: lower error than persistence. ✓: significantly better in that dataset's declared family "
            "(Holm); without ✓ the difference is within what the test attributes to chance.", ""]


def protocol_text(meta: RunMeta) -> str:
    if meta.get("protocol") != "backtest":
        return "holdout (one test period)"
    return (f"rolling-origin backtest, {meta.get('folds')} folds, {meta.get('window_type')} training window, "
            "scaler refitted and model retrained per fold")


def input_rows(meta: RunMeta) -> list[str]:
    """What the networks saw besides the target and their own series: covariate channels, the global panel."""
    rows = []
    if meta.settings.get("covariates"):
        rows.append(f"| input channels | the target, then {code(_setting_text(meta.settings['covariates']))} (past "
                    f"values only), read by {', '.join(map(cell, meta.channel_rows)) or 'no row'}; every other row "
                    "reads the target alone |")
    if meta.panel:
        cuts = ", ".join(meta.panel_cutoffs)
        rows.append(f"| global networks | rows `… (global)`: one network per architecture and seed learned from the "
                    f"training windows of {', '.join(map(cell, meta.panel))} ({meta.panel_train_windows} windows) "
                    f"whose every target falls before {cuts} (the panel's earliest test start: one calendar cut-off "
                    "for every series, so no series' training overlaps another's test period), and forecasts this "
                    "series' own test points |")
    return rows


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


def table_notes(meta: RunMeta) -> list[str]:
    """What every column means, in the words of this configuration's settings."""
    metric, loss = meta.metric.upper(), LOSS_OF_METRIC[meta.metric]
    stretch = meta.get("test_size")
    return [
        f"{metric} mean ± sd and its 95% Student-t interval are over training seeds (training randomness only); "
        "baselines are deterministic (one run). `(ensemble)` rows score the mean of the seeds' forecasts. MASE "
        f"divides by the one-step naive MAE of the last {stretch} points before the test period (persistence's own "
        "MASE compares the test period's daily moves with that stretch's); Theil U2 is RMSE relative to "
        "persistence (< 1 beats it).",
        "",
        f"DM p (raw): one-sided Diebold–Mariano/HLN test on {loss} error that the row's expected loss is lower "
        "than persistence's; for a stochastic model on the loss averaged over its seeds (valid whatever the "
        "dependence between seeds). DM p (Holm): adjusted over the declared family (every row but persistence). "
        "'Seeds with raw p < α' counts single networks that would pass alone, uncorrected: description only, "
        "never a verdict. ≈: within training noise of the row above.",
        "",
        f"Skill: 1 − {metric} / persistence's (positive beats it), with a 95% stationary-block-bootstrap interval "
        f"over test points of the paired {loss} losses (seed-averaged for stochastic rows; mean block length by "
        "the Politis–White rule, at least n^(1/3) points). vs persistence: one class per row from three declared "
        f"families, each Holm-adjusted over the tested rows at α = {meta.alpha:g}: ✓ better (the DM test above), "
        f"✗ worse (the same test the other way), = equivalent (two one-sided tests that the skill lies within "
        f"±{100 * meta.equivalence_margin:g}% of persistence's loss), ? undecided (none of the three). Detectable "
        f"skill: the smallest skill the one-sided test at the family's first Holm level (α / tests) detects with "
        "80% power, from the spread of the row's daily loss differences.",
        "",
        "StepM · MCS: the bootstrap family, which resamples every row's daily loss together (stationary "
        "bootstrap, so it allows for heavy tails and for the dependence between rows): `better` where Romano–Wolf's "
        f"StepM rejects 'no better than persistence' at family-wise α = {meta.alpha:g}; `in` where the row belongs to "
        f"Hansen–Lunde–Nason's {100 * (1 - meta.alpha):g}% model confidence set (it cannot be told from the best "
        "row), `out` where it is told apart. Hansen's SPA p-value and where this family and the Holm family "
        "disagree are in the verdict above.",
    ]


def friedman_lines(result: FriedmanResult | None, blocks: str, h2: str) -> list[str]:
    """The Friedman test and Nemenyi critical difference over blocks (datasets or folds), as markdown."""
    if result is None:
        return []
    from tabulate import tabulate

    ranks = sorted(result.mean_ranks.items(), key=lambda kv: kv[1])
    verdict_text = ("the models' ranks differ more than chance would make them" if result.pvalue < result.alpha
                    else "no evidence that the models' ranks differ")
    return [
        f"{h2} Ranks across {blocks}: Friedman test and Nemenyi critical difference", "",
        f"Friedman over {result.n} {blocks} and {result.k} models: χ² = {result.chi2:.3g}, Iman–Davenport "
        f"F = {result.f_statistic:.3g}, p = {result.pvalue:.2g} (Iman–Davenport's, from F with {result.k - 1} and "
        f"{(result.k - 1) * (result.n - 1)} degrees of freedom): {verdict_text} (α = {result.alpha:g}). Nemenyi's "
        f"critical difference is {result.critical_difference:.3g}: two models whose mean ranks differ by less are "
        f"not significantly different (Demšar 2006). With {result.n} {blocks} this test has little power.", "",
        tabulate([[m, f"{r:.2f}"] for m, r in ranks], headers=["model", "mean rank"], tablefmt="github"), "",
    ]


def render_many(sections: list[str], tables: dict[str, pd.DataFrame], metas: dict[str, RunMeta],
                friedman: FriedmanResult | None, figure: str | None = None,
                pooled: pd.DataFrame | None = None) -> str:
    """LEADERBOARD.md for several datasets: the cross-dataset summary, then one section per dataset."""
    from tabulate import tabulate

    summary = summary_across(tables)
    metric = next(iter(metas.values())).metric
    lines = [f"# Leaderboard: {', '.join(tables)}", "",
             f"## Across datasets: rank by mean test {metric.upper()} on each dataset, and the mean rank", "",
             tabulate(summary.reset_index(names="model"), headers="keys", tablefmt="github", showindex=False,
                      floatfmt=".2f", missingval="–"), "",
             "Every row of each dataset's table is ranked here, seed ensembles and every baseline included. The "
             "Friedman test below ranks only the models the question is about: the networks (by their mean over "
             "seeds) and persistence; the other baselines are reported apart, in this table, so that a strawman "
             "last on every series cannot make the test significant on its own.", ""]
    lines += friedman_lines(friedman, "datasets", "##")
    if friedman is not None:
        lines += [independence_note(metas), ""]
    if figure:
        lines += [f"![Critical-difference diagram]({figure})", ""]
    lines += pooled_lines(pooled, metas)
    lines += skill_lines(tables, metric)
    lines += ["Verdicts per dataset (each its own declared family):", ""]
    lines += [f"- **{name}**: {verdict(table, metas[name])}" for name, table in tables.items()]
    return "\n".join([*lines, "", *sections])


def independence_note(metas: Mapping[str, RunMeta]) -> str:
    """Friedman's assumption, and how far these datasets break it: series tested on overlapping dates."""
    spans = {name: (m.dates.get("test_start"), m.dates.get("test_end")) for name, m in metas.items()}
    sharing = sorted(name for name, (start, end) in spans.items()
                     if start and end and any(o != name and s2 and e2 and s2 <= end and start <= e2
                                              for o, (s2, e2) in spans.items()))
    text = ("Friedman's test treats the datasets as independent blocks. ")
    if sharing:
        text += (f"{len(sharing)} of the {len(spans)} series ({', '.join(sharing)}) are tested on overlapping "
                 "dates, where markets move together, so they are not independent and this p-value is optimistic; "
                 "the pooled skill below allows for that dependence.")
    else:
        text += "These series' test periods do not overlap."
    return text


def pooled_lines(pooled: pd.DataFrame | None, metas: Mapping[str, RunMeta]) -> list[str]:
    """Each row's skill pooled over the datasets, with its common-dates bootstrap interval."""
    if pooled is None or pooled.empty:
        return []
    from tabulate import tabulate

    metric = next(iter(metas.values())).metric.upper()
    rows = [[r["model"], "–" if pd.isna(r["pooled_skill"]) else
             f"{100 * r['pooled_skill']:+.2f}% [{100 * r['pooled_low']:+.2f}, {100 * r['pooled_high']:+.2f}]",
             r["series"], r["dates"]] for _, r in pooled.iterrows()]
    return ["## Skill pooled across datasets, with a 95% interval over common dates", "",
            tabulate(rows, headers=["model", "pooled skill [95% CI]", "series", "test dates"], tablefmt="github",
                     disable_numparse=True), "",
            f"Pooled skill: 1 − the geometric mean over series of {metric} / persistence's {metric}. Its interval "
            "resamples blocks of calendar dates (stationary bootstrap over the union of the series' test dates, "
            "mean block by the Politis–White rule), the same dates for every series at once, so the dependence "
            "between series tested on common dates is kept; it is an interval per row, not a test family.", ""]


def csv_frame(results: StoredResults, table: pd.DataFrame) -> pd.DataFrame:
    """The leaderboard for machines: the table plus the dataset and config it belongs to."""
    out = table.copy()
    out.insert(0, "config_hash", results.meta.config_hash)
    out.insert(0, "dataset", results.meta.dataset)
    return csv_safe(out)


FORMULA = ("=", "+", "-", "@", "\t", "\r")  # a spreadsheet reads a cell starting so as a formula


def csv_safe(frame: pd.DataFrame) -> pd.DataFrame:
    """Every text cell (and column name) that a spreadsheet would run as a formula, prefixed with `'`: the one
    rule for every CSV the project writes."""
    def safe(value):
        return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA) else value

    out = frame.rename(columns=safe)
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(safe)
    return out
