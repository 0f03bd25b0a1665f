"""The comparison in words: what the declared test family concluded, and which neighbouring ranks are only
training noise. Text from the typed table of `benchmark.analysis.comparison`; no numbers are computed here, and no
sentence claims more than the adjusted p-values and the markers on the same page say.
"""

from __future__ import annotations

import pandas as pd

from benchmark.analysis.comparison import LOSS_OF_METRIC, RunMeta


def _count(number: int, noun: str) -> str:
    return f"{number} {noun}{'' if number == 1 else 's'}"


def family_text(table: pd.DataFrame, meta: RunMeta) -> str:
    """The declared family of tests, its size, the correction and the loss."""
    tested = table[table["tested"]]
    parts = []
    seeds = tested[tested["row"] == "seeds"]
    if len(seeds):
        parts.append(f"{_count(len(seeds), 'stochastic model')} averaged over their training seeds")
    if (tested["row"] == "ensemble").any():
        parts.append(_count(int((tested["row"] == "ensemble").sum()), "seed ensemble"))
    if (tested["row"] == "baseline").any():
        parts.append(_count(int((tested["row"] == "baseline").sum()), "other baseline"))
    return (f"{len(tested)} one-sided tests against {meta.reference} persistence, declared before the run "
            f"({', '.join(parts)}): Diebold–Mariano with the Harvey–Leybourne–Newbold correction on "
            f"{LOSS_OF_METRIC[meta.metric]} error, the loss of {meta.metric.upper()} (the ranking metric), "
            f"p-values Holm-adjusted over the {len(tested)} at α = {meta.alpha:g}")


def verdict(table: pd.DataFrame, meta: RunMeta) -> str:
    """The conclusion in plain words: which rows the family calls significantly better than persistence."""
    metric = meta.metric
    tested = table[table["tested"]]
    reference = table[table["reference"]].iloc[0]
    ref_score = f"{reference[f'{metric}_mean']:.4g}"
    head = f"Family: {family_text(table, meta)}."
    if tested.empty:
        return head
    winners = tested[tested["significant"]]
    if len(winners):
        named = "; ".join(f"{r['model']} ({metric.upper()} {r[f'{metric}_mean']:.4g} vs {ref_score}, adjusted "
                          f"p = {r['p_holm']:.2g})" for _, r in winners.iterrows())
        text = f"{head} Significantly better than persistence: {named}."
        others = tested[~tested["significant"]]
        if len(others):
            text += f" Not significantly better: {', '.join(others['model'])}."
        return text + magnitude_text(table, meta)
    best = tested.sort_values(["p_holm", "p_value"], kind="stable").iloc[0]
    text = (f"{head} No row is significantly better than persistence: the smallest adjusted p is "
            f"{best['p_holm']:.2g} ({best['model']}, {metric.upper()} {best[f'{metric}_mean']:.4g} against "
            f"persistence's {ref_score}; raw p = {best['p_value']:.2g}).")
    return text + magnitude_text(table, meta)


def _share(value: float) -> str:
    return f"{100 * value:.2g}%" if abs(value) < 0.1 else f"{100 * value:.0f}%"


def magnitude_text(table: pd.DataFrame, meta: RunMeta) -> str:
    """How big and how sure, in words: which rows are worse, which equivalent within the margin, which cannot be
    told apart from persistence either way, and the smallest edge the test could have seen."""
    if "verdict_class" not in table:
        return ""
    tested = table[table["tested"]]
    margin = _share(meta.equivalence_margin)
    parts = []
    for name, words in (("worse", "Significantly worse than persistence"),
                        ("equivalent", f"Equivalent to persistence within ±{margin} (two one-sided tests, Holm)"),
                        ("undecided", "Neither better, worse nor shown equivalent")):
        rows = tested[tested["verdict_class"] == name]
        if len(rows):
            parts.append(f"{words}: {', '.join(rows['model'])}.")
    detectable = tested["detectable_skill"].dropna()
    if len(detectable):
        parts.append(f"With {meta.test_points or 'these'} test points, the smallest skill the family detects with "
                     f"80% power is {_share(detectable.min())} to {_share(detectable.max())} depending on the row "
                     "(the column 'detectable skill'): a smaller edge cannot be seen here.")
    ruled_out = tested["skill_high"].dropna() if "skill_high" in tested else tested["skill"].iloc[:0]
    if len(ruled_out):
        top = tested.loc[ruled_out.idxmax()]
        parts.append(f"What the data rule out: every row's 95% skill interval (one per row, not simultaneous) ends "
                     f"at or below {100 * ruled_out.max():+.2f}% ({top['model']}'s is the highest), so an edge over "
                     "persistence larger than that is ruled out for each row.")
    parts.append(bootstrap_text(table, meta))
    return (" " + " ".join(p for p in parts if p)) if parts else ""


def bootstrap_text(table: pd.DataFrame, meta: RunMeta) -> str:
    """The bootstrap family in words, and where it and the Holm family disagree."""
    if "stepm_better" not in table:
        return ""
    tested = table[table["tested"]]
    reference = table[table["reference"]].iloc[0]
    stepm = list(tested.loc[tested["stepm_better"], "model"])
    text = (f"Bootstrap family (stationary bootstrap, mean block {reference['bootstrap_block']:.0f} test points, all "
            f"rows resampled together, each row studentized): Hansen's SPA p = {reference['spa_p']:.2g} for 'no row "
            "beats persistence'; "
            f"StepM (family-wise α = {meta.alpha:g}) finds {', '.join(stepm) if stepm else 'no row'} better.")
    disagree = tested[tested["stepm_better"] != tested["significant"]]
    if len(disagree):
        text += (" It disagrees with the Holm family on: "
                 + ", ".join(f"{r['model']} ({'StepM only' if r['stepm_better'] else 'Holm only'})"
                             for _, r in disagree.iterrows()) + ".")
    else:
        text += " It agrees with the Holm family on every row."
    kept = list(table.loc[table["in_confidence_set"], "model"])
    rest = ("; the other rows are told apart from the best" if len(kept) < len(table)
            else ": no row can be told apart from the best")
    return text + (f" Model confidence set at {100 * (1 - meta.alpha):g}% (Hansen–Lunde–Nason, range statistic): "
                   f"{', '.join(kept)}{rest}.")


def noise_note(table: pd.DataFrame) -> str:
    """Which neighbouring ranks are within training noise, so nobody reads a ranking into it."""
    pairs = [f"{table.iloc[i - 1]['model']} ≈ {table.iloc[i]['model']}"
             for i in range(1, len(table)) if table.iloc[i]["within_noise_of_previous"]]
    scope = ("(≈: the 95% intervals over training seeds overlap, so another set of seeds could swap the two; this "
             "measures training randomness only, not test-sample uncertainty, and is never applied against "
             "persistence, whose comparison is the test above)")
    if not pairs:
        return f"No neighbouring pair of rows is within training noise {scope}."
    return f"Within training noise of the row above {scope}: " + "; ".join(pairs) + "."


def _percent(value: float) -> str:
    return f"{100 * value:.1f}%"


def interval_verdict(spread: pd.DataFrame, coverage: pd.DataFrame, meta: RunMeta) -> str:
    """The probabilistic verdict in words: the spread family (CRPS against persistence) and the coverage family."""
    tested = spread[~spread["reference"]]
    better, worse = tested[tested["better"]], tested[tested["worse"]]
    spread_text = (f"Spread: {_count(len(tested), 'one-sided test')} of mean CRPS against {meta.reference} "
                   f"persistence's random walk (Diebold–Mariano/HLN, Holm-adjusted at α = {meta.alpha:g}). ")
    if len(better):
        spread_text += "Lower CRPS than persistence: " + "; ".join(
            f"{r['model']} (skill {_percent(r['skill'])} [{_percent(r['skill_low'])}, {_percent(r['skill_high'])}], "
            f"adjusted p = {r['p_value_holm']:.2g})" for _, r in better.iterrows()) + "."
    else:
        spread_text += "No row has a significantly lower CRPS than persistence."
    if len(worse):
        spread_text += f" Significantly higher CRPS: {', '.join(worse['model'])}."
    failed = coverage[~coverage["verdict"].isin(["not rejected", "untested"])]
    steps = coverage["step"].nunique() if len(coverage) else 0
    where = " and lead time" if steps > 1 else ""
    cover_text = (f"Coverage: {_count(len(coverage), 'test')}, one per row, central interval{where} "
                  "(Christoffersen's conditional coverage, Holm-adjusted over all of them at "
                  f"α = {meta.alpha:g}). ")
    if len(failed):
        cover_text += "Rejected: " + "; ".join(
            f"{r['model']} {100 * r['interval']:.10g}%" + (f" at step {r['step']}" if steps > 1 else "")
            + f" ({r['verdict']}: covers {_percent(r['coverage'])} [{_percent(r['coverage_low'])}, "
            f"{_percent(r['coverage_high'])}])" for _, r in failed.iterrows()) + "."
        holding = sorted(set(coverage["model"]) - set(failed["model"]))
        if holding:
            cover_text += f" Not rejected for any interval: {', '.join(holding)}."
    else:
        cover_text += "No interval is rejected: every row's intervals are consistent with their nominal coverage."
    return f"{spread_text} {cover_text} Not rejected is not proven: the table gives each coverage's 95% interval."
