"""Statistics for comparing forecasters: seed summaries, ranks, Diebold-Mariano tests, skill vs persistence.

Pure functions on numpy arrays (scipy for distributions, pandas only for the pairwise p-value table).
Bad input (NaN values, mismatched lengths, unknown options) raises ``ValueError``: failed trials must be
filtered out by the caller, never silently averaged in.
"""

from __future__ import annotations

import math
import operator
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike
from scipy import stats as _sps

__all__ = [
    "DMResult",
    "Summary",
    "diebold_mariano",
    "intervals_overlap",
    "pairwise_dm",
    "rank",
    "seed_summary",
    "skill_score",
    "theils_u2",
]

_LOSSES = ("squared", "absolute")
_ALTERNATIVES = ("less", "greater", "two-sided")


@dataclass(frozen=True)
class Summary:
    """Mean, sample standard deviation and Student-t confidence interval of one metric over seeds."""

    n: int
    mean: float
    sd: float
    ci_low: float
    ci_high: float


@dataclass(frozen=True)
class DMResult:
    """Outcome of a Diebold-Mariano test (HLN-corrected statistic and its Student-t p-value)."""

    statistic: float
    pvalue: float
    mean_loss_diff: float
    n: int
    loss: str
    alternative: str


def _finite_1d(values: ArrayLike, name: str) -> np.ndarray:
    """Return ``values`` as a 1-D float array, raising ValueError on NaN/inf or a wrong shape."""
    arr = np.asarray(values, dtype=float)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values; filter failed trials out first")
    return arr


def seed_summary(values: Sequence[float], level: float = 0.95) -> Summary:
    """Summarise a metric over seeds: mean, sample sd and two-sided Student-t CI (sd and CI nan if n < 2)."""
    if not 0.0 < level < 1.0:
        raise ValueError(f"level must lie strictly between 0 and 1, got {level!r}")
    arr = _finite_1d(values, "values")
    n = int(arr.size)
    if n == 0:
        raise ValueError("values is empty")
    mean = float(np.mean(arr))
    if n < 2:
        return Summary(n=n, mean=mean, sd=math.nan, ci_low=math.nan, ci_high=math.nan)
    sd = float(np.std(arr, ddof=1))
    half = float(_sps.t.ppf((1.0 + level) / 2.0, n - 1)) * sd / math.sqrt(n)
    return Summary(n=n, mean=mean, sd=sd, ci_low=mean - half, ci_high=mean + half)


def intervals_overlap(a: Summary, b: Summary) -> bool:
    """True when the CIs overlap or either is nan: the difference is within seed noise or cannot be judged."""
    bounds = (a.ci_low, a.ci_high, b.ci_low, b.ci_high)
    if any(math.isnan(x) for x in bounds):
        return True
    return a.ci_low <= b.ci_high and b.ci_low <= a.ci_high


def rank(values: Mapping[str, float]) -> dict[str, int]:
    """Rank names by value, 1 = smallest; ties share the lowest rank ("min"/competition: 1, 1, 3)."""
    names = list(values)
    arr = _finite_1d([values[k] for k in names], "values")
    if arr.size == 0:
        return {}
    ranks = _sps.rankdata(arr, method="min")
    return {name: int(r) for name, r in zip(names, ranks, strict=True)}


def diebold_mariano(
    errors_a: ArrayLike,
    errors_b: ArrayLike,
    loss: str = "squared",
    horizon: int = 1,
    alternative: str = "less",
) -> DMResult:
    """Diebold-Mariano test with the Harvey-Leybourne-Newbold correction; "less" means H1: a has lower loss.

    d_t = L(e_a,t) - L(e_b,t) with L(e) = e**2 ("squared") or |e| ("absolute"). The long-run variance of d
    uses the truncated (rectangular) kernel of Diebold & Mariano (1995), gamma_0 + 2 * sum_{k=1}^{h-1}
    gamma_k with gamma_k = (1/n) sum_t (d_t - dbar)(d_{t-k} - dbar); when that estimate is <= 0 (possible
    for h > 1) it falls back to gamma_0. DM = dbar / sqrt(lrv / n) is scaled by
    sqrt((n + 1 - 2h + h(h-1)/n) / n) and compared with Student t on n-1 degrees of freedom.

    p-values: "less" = t.cdf(DM*), "greater" = t.sf(DM*), "two-sided" = 2 * min of both (capped at 1).
    If the loss differential has zero variance: all d_t == 0 (e.g. identical losses) gives statistic nan
    and pvalue 1.0 (no evidence either way); a constant nonzero d gives statistic +-inf and the limiting
    p-value (0 or 1). Raises ValueError for NaN/inf, unequal lengths, n < 3, horizon outside [1, n-1],
    an unknown loss or an unknown alternative.
    """
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
    if alternative not in _ALTERNATIVES:
        raise ValueError(f"alternative must be one of {_ALTERNATIVES}, got {alternative!r}")
    if isinstance(horizon, bool):
        raise ValueError(f"horizon must be an integer, got {horizon!r}")
    try:
        h = operator.index(horizon)
    except TypeError:
        raise ValueError(f"horizon must be an integer, got {horizon!r}") from None
    ea = _finite_1d(errors_a, "errors_a")
    eb = _finite_1d(errors_b, "errors_b")
    if ea.shape != eb.shape:
        raise ValueError(f"error series differ in length: {ea.size} vs {eb.size}")
    n = int(ea.size)
    if n < 3:
        raise ValueError(f"need at least 3 paired errors, got {n}")
    if not 1 <= h < n:
        raise ValueError(f"horizon must satisfy 1 <= horizon < n ({n}), got {h}")

    d = ea**2 - eb**2 if loss == "squared" else np.abs(ea) - np.abs(eb)
    dbar = float(np.mean(d))
    dc = d - dbar
    gamma0 = float(np.dot(dc, dc)) / n
    lrv = gamma0 + 2.0 * sum(float(np.dot(dc[k:], dc[:-k])) / n for k in range(1, h))
    if lrv <= 0.0:
        lrv = gamma0

    if lrv > 0.0:
        dm = dbar / math.sqrt(lrv / n)
    elif dbar == 0.0:
        return DMResult(
            statistic=math.nan, pvalue=1.0, mean_loss_diff=dbar, n=n, loss=loss, alternative=alternative
        )
    else:
        dm = math.copysign(math.inf, dbar)

    hln = math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    stat = dm * hln
    df = n - 1
    if alternative == "less":
        p = float(_sps.t.cdf(stat, df))
    elif alternative == "greater":
        p = float(_sps.t.sf(stat, df))
    else:
        p = min(1.0, 2.0 * float(min(_sps.t.cdf(stat, df), _sps.t.sf(stat, df))))
    return DMResult(statistic=stat, pvalue=p, mean_loss_diff=dbar, n=n, loss=loss, alternative=alternative)


def pairwise_dm(errors: Mapping[str, ArrayLike], loss: str = "squared", horizon: int = 1) -> pd.DataFrame:
    """Symmetric matrix of two-sided Diebold-Mariano p-values (row vs column), nan on the diagonal."""
    names = list(errors)
    k = len(names)
    out = np.full((k, k), np.nan)
    for i in range(k):
        for j in range(i + 1, k):
            res = diebold_mariano(
                errors[names[i]], errors[names[j]], loss=loss, horizon=horizon, alternative="two-sided"
            )
            out[i, j] = out[j, i] = res.pvalue
    return pd.DataFrame(out, index=pd.Index(names), columns=pd.Index(names))


def theils_u2(actual: ArrayLike, predicted: ArrayLike, naive: ArrayLike) -> float:
    """RMSE of ``predicted`` over RMSE of the ``naive`` (persistence) forecast; < 1 beats persistence.

    A perfect naive forecast gives inf (nan if ``predicted`` is perfect too).
    """
    y = _finite_1d(actual, "actual")
    p = _finite_1d(predicted, "predicted")
    z = _finite_1d(naive, "naive")
    if not y.shape == p.shape == z.shape:
        raise ValueError(f"lengths differ: actual {y.size}, predicted {p.size}, naive {z.size}")
    if y.size == 0:
        raise ValueError("empty series")
    num = math.sqrt(float(np.sum((p - y) ** 2)))
    den = math.sqrt(float(np.sum((z - y) ** 2)))
    if den == 0.0:
        return math.nan if num == 0.0 else math.inf
    return num / den


def skill_score(metric_model: float, metric_naive: float) -> float:
    """1 - model/naive for an error metric (> 0 beats persistence); naive == 0 gives -inf (nan if both 0)."""
    model, naive = float(metric_model), float(metric_naive)
    if math.isnan(model) or math.isnan(naive):
        raise ValueError("skill_score got NaN; filter failed trials out first")
    if naive == 0.0:
        return math.nan if model == 0.0 else -math.copysign(math.inf, model)
    return 1.0 - model / naive
