"""The leaderboard's probabilistic section: the spread table (proper scores, skill on CRPS against persistence),
the coverage table (each interval's tests) and their words. Every number comes from
`benchmark.analysis.coverage`."""

from __future__ import annotations

import math

import pandas as pd

from benchmark.analysis.comparison import RunMeta
from benchmark.analysis.verdict import interval_verdict
from benchmark.evaluation.scores import label
from benchmark.render.leaderboard import cell


def _num(value, digits: int = 4) -> str:
    return "–" if value is None or (isinstance(value, float) and not math.isfinite(value)) else f"{value:.{digits}g}"


def _pct(value) -> str:
    return "–" if not math.isfinite(value) else f"{100 * value:+.2f}%"


def _mark(row: pd.Series) -> str:
    if row["reference"]:
        return "ref"
    return "✓ better" if row["better"] else "✗ worse" if row["worse"] else "? undecided"


def interval_lines(spread: pd.DataFrame, coverage: pd.DataFrame, meta: RunMeta, sources: dict[str, str],
                   h2: str) -> list[str]:
    """Markdown lines of the section (empty when the run declared no quantiles)."""
    if spread.empty:
        return []
    from tabulate import tabulate

    levels = meta.get("quantiles") or ()
    scores = [c for c in spread.columns if c.startswith("interval_score_")]
    spread_rows = []
    for rank, (_, r) in enumerate(spread.iterrows(), start=1):
        skill = "ref" if r["reference"] else f"{_pct(r['skill'])} [{_pct(r['skill_low'])}, {_pct(r['skill_high'])}]"
        spread_rows.append([rank, cell(r["model"]), cell(sources.get(r["model"], "")), _num(r["crps"]),
                            _num(r["quantile_loss"]), _num(r["wql"]), *[_num(r[c]) for c in scores], skill,
                            "ref" if r["reference"] else _num(r["p_value_holm"], 2), _mark(r)])
    spread_headers = ["rank", "model", "quantiles from", "CRPS", "quantile loss", "wQL",
                      *[f"interval score {c.removeprefix('interval_score_')}%" for c in scores],
                      "CRPS skill [95% CI]", "DM p (Holm)", "vs persistence"]
    steps = coverage["step"].nunique() > 1
    coverage_rows = [[cell(r["model"]), f"{label(r['interval'])}%", *([r["step"]] if steps else []),
                      f"{100 * r['coverage']:.1f}% [{100 * r['coverage_low']:.1f}, {100 * r['coverage_high']:.1f}]",
                      f"{r['misses']}/{r['n']}", _num(r["p_uc"], 2), _num(r["p_ind"], 2), _num(r["p_cc"], 2),
                      _num(r["p_cc_holm"], 2), r["verdict"]] for _, r in coverage.iterrows()]
    coverage_headers = ["model", "interval", *(["step"] if steps else []), "coverage [95% CI]", "misses",
                        "Kupiec p", "independence p", "CC p (raw)", "CC p (Holm)", "verdict"]
    method = meta.get("intervals") or "split"
    conformal = (f"{method} conformal intervals from its own validation errors per lead time" if method != "pinball"
                 else "for the networks their own quantile outputs (trained on the pinball loss, sorted), for the "
                 "other models split conformal intervals from their own validation errors per lead time")
    return [
        f"{h2} Intervals: quantiles {', '.join(f'{q:g}' for q in levels)} (declared with the run)", "",
        f"**Verdict.** {interval_verdict(spread, coverage, meta)}", "",
        "A stochastic model's row is its seeds' quantiles averaged level by level. Quantiles come from the model's "
        f"own predictive distribution where it has one (persistence: a random walk with the training period's "
        f"volatility; ARIMA, ETS, Theta: statsmodels' Gaussian intervals), else {conformal} (docs/intervals.md). "
        "All scores are on the original price scale; lower is better.", "",
        tabulate(spread_rows, headers=spread_headers, tablefmt="github", disable_numparse=True), "",
        "CRPS: approximated from the declared quantiles (twice the mean pinball loss). CRPS skill: 1 − CRPS / "
        "persistence's, with a stationary-bootstrap 95% interval. ✓ / ✗: lower / higher CRPS than persistence in "
        "the spread family (one-sided Diebold–Mariano/HLN per direction, Holm over the tested rows).", "",
        tabulate(coverage_rows, headers=coverage_headers, tablefmt="github", disable_numparse=True), "",
        "Coverage: share of test actuals inside the central interval, exact 95% interval. Kupiec: the miss rate "
        "equals the nominal one; independence: a miss does not make the next one likelier (Christoffersen's "
        "first-order test); CC: both at once (χ², 2 df), the declared test, Holm-adjusted over the whole table. "
        "Verdict: not rejected (no evidence against the promise, not proof of it), too narrow / too wide "
        "(rejected, coverage below / above nominal), misses cluster (rejected with coverage consistent).", ""]
