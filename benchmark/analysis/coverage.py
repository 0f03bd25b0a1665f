"""Whether each row's intervals hold their promise, and whether its spread beats persistence's: the probabilistic
verdict. Pure functions of stored quantile forecasts.

Each row is one forecast: a deterministic model's, or a stochastic model's seeds' quantiles averaged level by level
(Vincentization; Genest 1992), the same for its point. Two declared families, each Holm-adjusted at the run's α:

- **Coverage** (H0: the interval holds its promise): for every row, every declared central interval (τ, 1 − τ) and
  every lead time, Christoffersen's (1998) conditional-coverage test on the misses (actual outside the interval):
  the likelihood ratio of Kupiec's (1995) unconditional coverage (the miss rate equals 2τ) plus that of first-order
  independence (a miss today does not change tomorrow's chance of one), χ² on 2 degrees of freedom. Test windows
  step by the horizon, so the misses at one lead time come from forecasts that share no target. Kupiec's and the
  independence test's own p-values are shown beside it, unadjusted, to say which part failed. The coverage itself
  comes with its exact (Clopper–Pearson) 95% interval.
- **Spread better than persistence's** (H0: the row's mean CRPS is not lower): one-sided Diebold–Mariano/HLN on the
  per-point difference of CRPS (approximated from the quantiles: `benchmark.evaluation.scores`), the proper score
  that rewards sharpness subject to calibration; and "worse" the other way. The skill 1 − CRPS_row / CRPS_ref
  comes with the stationary-bootstrap interval of `benchmark.analysis.magnitude`.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import stats

from benchmark.analysis import magnitude, significance
from benchmark.evaluation import scores
from benchmark.evaluation.forecasts import quantile_column, quantile_levels

ORDER = ["fold", "date", "step"]


def _xlogy(x: float, y: float) -> float:
    return 0.0 if x == 0 else x * math.log(y)


def kupiec(misses: np.ndarray, rate: float) -> tuple[float, float]:
    """Kupiec's proportion-of-failures test: (LR statistic, p on χ²(1)) for H0 "the miss rate is `rate`"."""
    misses = np.asarray(misses, dtype=bool)
    n, x = len(misses), int(misses.sum())
    if n == 0:
        return math.nan, math.nan
    observed = x / n
    stat = -2 * (_xlogy(n - x, 1 - rate) + _xlogy(x, rate) - _xlogy(n - x, 1 - observed) - _xlogy(x, observed))
    stat = max(stat, 0.0)
    return stat, float(stats.chi2.sf(stat, 1))


def independence(misses: np.ndarray) -> tuple[float, float]:
    """Christoffersen's first-order independence test: (LR statistic, p on χ²(1)) from the transition counts."""
    misses = np.asarray(misses, dtype=int)
    if len(misses) < 2:
        return math.nan, math.nan
    before, after = misses[:-1], misses[1:]
    n00, n01 = int(np.sum((before == 0) & (after == 0))), int(np.sum((before == 0) & (after == 1)))
    n10, n11 = int(np.sum((before == 1) & (after == 0))), int(np.sum((before == 1) & (after == 1)))
    pi01 = n01 / (n00 + n01) if n00 + n01 else 0.0
    pi11 = n11 / (n10 + n11) if n10 + n11 else 0.0
    pi = (n01 + n11) / (n00 + n01 + n10 + n11)
    restricted = _xlogy(n00 + n10, 1 - pi) + _xlogy(n01 + n11, pi)
    free = _xlogy(n00, 1 - pi01) + _xlogy(n01, pi01) + _xlogy(n10, 1 - pi11) + _xlogy(n11, pi11)
    stat = max(-2 * (restricted - free), 0.0)
    return stat, float(stats.chi2.sf(stat, 1))


def conditional_coverage(misses: np.ndarray, rate: float) -> tuple[float, float]:
    """Christoffersen's conditional-coverage test: LR_uc + LR_ind on χ²(2)."""
    uc, _ = kupiec(misses, rate)
    ind, _ = independence(misses)
    stat = uc + ind
    return stat, float(stats.chi2.sf(stat, 2)) if math.isfinite(stat) else math.nan


def row_forecasts(predictions: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """One quantile forecast per model, in (fold, date, step) order: a stochastic model's seeds averaged level by
    level (deterministic models have one seed). Only models whose quantiles are all present."""
    levels = quantile_levels(predictions)
    columns = ["predicted", *[quantile_column(q) for q in levels]]
    out = {}
    for model, frame in predictions.groupby("model", sort=False):
        if frame[columns].isna().any().any():
            continue
        first = {c: "first" for c in ("actual", "last_observed", "mase_scale") if c in frame.columns}
        out[model] = frame.groupby(ORDER, as_index=False).agg({**first, **{c: "mean" for c in columns}})
    return out


def _verdict(p_holm: float, p_uc: float, coverage: float, nominal: float, alpha: float) -> str:
    if not math.isfinite(p_holm):
        return "untested"
    if p_holm >= alpha:
        return "not rejected"
    if p_uc < alpha:
        return "too narrow" if coverage < nominal else "too wide"
    return "misses cluster"


def coverage_table(predictions: pd.DataFrame, alpha: float) -> pd.DataFrame:
    """One row per (model, central interval, lead time): n, misses, coverage and its exact 95% interval, the three
    tests' p-values, the conditional-coverage p Holm-adjusted over the whole table, and the verdict word."""
    rows = []
    for model, frame in row_forecasts(predictions).items():
        levels = quantile_levels(frame)
        for low, high, nominal in scores.central_intervals(levels):
            for step, at in frame.groupby("step", sort=True):
                actual = at["actual"].to_numpy(dtype=float)
                lower, upper = at[quantile_column(low)].to_numpy(), at[quantile_column(high)].to_numpy()
                inside = (actual >= lower) & (actual <= upper)
                misses = ~inside
                n, hits = len(actual), int(inside.sum())
                ci_low, ci_high = significance.binomial_interval(hits, n) if n else (math.nan, math.nan)
                rows.append({"model": model, "interval": nominal, "step": int(step), "n": n,
                             "misses": int(misses.sum()), "coverage": hits / n if n else math.nan,
                             "coverage_low": ci_low, "coverage_high": ci_high,
                             "p_uc": kupiec(misses, 1 - nominal)[1], "p_ind": independence(misses)[1],
                             "p_cc": conditional_coverage(misses, 1 - nominal)[1]})
    table = pd.DataFrame(rows, columns=["model", "interval", "step", "n", "misses", "coverage", "coverage_low",
                                        "coverage_high", "p_uc", "p_ind", "p_cc"])
    table["p_cc_holm"] = np.nan
    finite = np.isfinite(table["p_cc"].to_numpy(dtype=float))
    if finite.any():
        table.loc[finite, "p_cc_holm"] = significance.holm(table.loc[finite, "p_cc"].to_numpy(dtype=float))
    table["verdict"] = [_verdict(r.p_cc_holm, r.p_uc, r.coverage, r.interval, alpha) for r in table.itertuples()]
    return table


def spread_table(predictions: pd.DataFrame, reference: str, alpha: float, horizon: int = 1) -> pd.DataFrame:
    """One row per model: its quantile scores (quantile loss, CRPS, wQL, interval scores), skill on CRPS against
    the reference with a 95% interval, and the one-sided DM tests better / worse (Holm over the tested rows)."""
    forecasts = row_forecasts(predictions)
    if reference not in forecasts:
        return pd.DataFrame()
    crps = {}
    rows = []
    for model, frame in forecasts.items():
        actual, quantiles, levels = scores.arrays(frame)
        crps[model] = scores.crps(actual, quantiles, levels)
        row = {"model": model, "reference": model == reference,
               "quantile_loss": scores.quantile_loss(actual, quantiles, levels),
               "crps": float(np.mean(crps[model])),
               "wql": scores.weighted_quantile_loss(actual, quantiles, levels)}
        row.update({k: v for k, v in scores.interval_metrics(actual, quantiles, levels).items()
                    if k.startswith("interval_score_")})
        rows.append(row)
    table = pd.DataFrame(rows)
    ref = crps[reference]
    for column in ("skill", "skill_low", "skill_high", "p_value", "p_worse"):
        table[column] = np.nan
    for i, model in enumerate(table["model"]):
        if model == reference:
            continue
        interval = magnitude.skill_interval(crps[model], ref)
        table.loc[i, ["skill", "skill_low", "skill_high"]] = [interval.skill, interval.low, interval.high]
        table.loc[i, "p_value"] = significance.dm_test(crps[model] - ref, horizon, "less").pvalue
        table.loc[i, "p_worse"] = significance.dm_test(crps[model] - ref, horizon, "greater").pvalue
    tested = ~table["reference"].to_numpy(dtype=bool)
    for family in ("p_value", "p_worse"):
        table[f"{family}_holm"] = np.nan
        if tested.any():
            table.loc[tested, f"{family}_holm"] = significance.holm(table.loc[tested, family].to_numpy(dtype=float))
    table["better"] = tested & (table["p_value_holm"] < alpha).to_numpy()
    table["worse"] = tested & (table["p_worse_holm"] < alpha).to_numpy()
    return table.sort_values("crps", kind="stable").reset_index(drop=True)


def pit_table(predictions: pd.DataFrame) -> pd.DataFrame:
    """Reliability: for each model and declared level τ, the share of actuals below its τ-quantile (a calibrated
    forecast's share is τ)."""
    rows = []
    for model, frame in row_forecasts(predictions).items():
        actual = frame["actual"].to_numpy(dtype=float)
        for q in quantile_levels(frame):
            rows.append({"model": model, "level": q,
                         "observed": float(np.mean(actual < frame[quantile_column(q)].to_numpy(dtype=float)))})
    return pd.DataFrame(rows, columns=["model", "level", "observed"])
