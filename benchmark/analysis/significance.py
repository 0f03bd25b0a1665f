"""Statistics for comparing forecasters: seed summaries, Diebold-Mariano tests, skill vs persistence.

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
    "FriedmanResult",
    "binomial_interval",
    "dm_test",
    "friedman",
    "friedman_from_ranks",
    "holm",
    "nemenyi_cd",
    "seed_averaged_dm",
    "Summary",
    "diebold_mariano",
    "pairwise_dm",
    "seed_summary",
    "skill_score",
    "theils_u2",
    "u2_from_errors",
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

    return dm_test(loss_values(ea, loss) - loss_values(eb, loss), h, alternative, loss)


def loss_values(errors: np.ndarray, loss: str) -> np.ndarray:
    """Pointwise loss of forecast errors: e**2 ("squared", the loss of RMSE) or |e| ("absolute", of MAE)."""
    if loss not in _LOSSES:
        raise ValueError(f"loss must be one of {_LOSSES}, got {loss!r}")
    return errors**2 if loss == "squared" else np.abs(errors)


def dm_test(d: ArrayLike, horizon: int = 1, alternative: str = "less", loss: str = "") -> DMResult:
    """The Diebold-Mariano/HLN test on a loss differential d_t (see `diebold_mariano` for the formulas)."""
    d = _finite_1d(d, "loss differential")
    n, h = int(d.size), int(horizon)
    if n < 3:
        raise ValueError(f"need at least 3 paired errors, got {n}")
    if not 1 <= h < n:
        raise ValueError(f"horizon must satisfy 1 <= horizon < n ({n}), got {h}")
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


def seed_averaged_dm(errors: ArrayLike, reference: ArrayLike, loss: str, horizon: int = 1,
                     alternative: str = "less") -> DMResult:
    """DM/HLN on the seed-averaged loss differential d_t = mean_s L(e_s,t) - L(e_ref,t).

    `errors` is [seeds, n] (or [n] for one run). Averaging the losses over seeds first gives one differential
    series whatever the dependence between seeds, so the test keeps its size; it tests "averaged over training
    seeds, the expected loss is lower than the reference's" (not a single network's, not the seed ensemble's).
    """
    e = np.atleast_2d(np.asarray(errors, dtype=float))
    ref = _finite_1d(reference, "reference errors")
    if e.shape[1] != ref.size or not np.all(np.isfinite(e)):
        raise ValueError(f"errors must be [seeds, {ref.size}] and finite, got shape {e.shape}")
    d = loss_values(e, loss).mean(axis=0) - loss_values(ref, loss)
    return dm_test(d, horizon, alternative, loss)


def holm(pvalues: ArrayLike) -> np.ndarray:
    """Holm's step-down adjusted p-values (family-wise error control for any dependence between the tests).

    Sorted ascending, p_(i) becomes max_{j <= i} min(1, (m - j + 1) p_(j)); the output keeps the input's order.
    """
    p = _finite_1d(pvalues, "pvalues")
    m = p.size
    order = np.argsort(p, kind="stable")
    stepped = np.minimum(1.0, (m - np.arange(m)) * p[order])
    adjusted = np.empty(m)
    adjusted[order] = np.maximum.accumulate(stepped)
    return adjusted


@dataclass(frozen=True)
class FriedmanResult:
    """Friedman's test on ranks over blocks (datasets or folds), with the Nemenyi critical difference."""

    mean_ranks: Mapping[str, float]  # 1 = best
    n: int  # blocks
    k: int  # compared models
    chi2: float
    f_statistic: float  # Iman-Davenport's F, less conservative than chi2
    pvalue: float  # from F(k - 1, (k - 1)(n - 1))
    critical_difference: float  # Nemenyi, at `alpha`: mean ranks further apart differ
    alpha: float


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi's critical difference q_alpha sqrt(k(k+1) / 6n), q from the studentized range over sqrt(2)."""
    q = float(_sps.studentized_range.ppf(1 - alpha, k, np.inf)) / math.sqrt(2)
    return q * math.sqrt(k * (k + 1) / (6 * n))


def friedman_from_ranks(mean_ranks: Mapping[str, float], n: int, alpha: float = 0.05) -> FriedmanResult:
    """Friedman's chi2 and Iman-Davenport's F from the mean ranks of k models over n blocks (Demšar 2006, eqs.
    in section 3.2.2)."""
    k = len(mean_ranks)
    if k < 2 or n < 2:
        raise ValueError(f"need at least 2 models and 2 blocks, got {k} and {n}")
    r = np.array(list(mean_ranks.values()), dtype=float)
    chi2 = 12 * n / (k * (k + 1)) * (float(np.sum(r**2)) - k * (k + 1) ** 2 / 4)
    denom = n * (k - 1) - chi2
    f = math.inf if denom <= 0 else (n - 1) * chi2 / denom
    p = 0.0 if math.isinf(f) else float(_sps.f.sf(f, k - 1, (k - 1) * (n - 1)))
    return FriedmanResult(dict(mean_ranks), n, k, chi2, f, p, nemenyi_cd(k, n, alpha), alpha)


def friedman(scores: pd.DataFrame, alpha: float = 0.05) -> FriedmanResult:
    """Friedman's test on a [blocks, models] table of errors (lower is better; ties share their mean rank)."""
    values = scores.to_numpy(dtype=float)
    if not np.all(np.isfinite(values)):
        raise ValueError("scores contain NaN or infinite values")
    ranks = np.apply_along_axis(_sps.rankdata, 1, values)
    return friedman_from_ranks(dict(zip(scores.columns, ranks.mean(axis=0), strict=True)), len(values), alpha)


def binomial_interval(successes: int, trials: int, level: float = 0.95) -> tuple[float, float]:
    """Clopper-Pearson (exact) interval for a rate, e.g. a measured false-positive rate."""
    ci = _sps.binomtest(int(successes), int(trials)).proportion_ci(confidence_level=level, method="exact")
    return float(ci.low), float(ci.high)


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
    return u2_from_errors(p - y, z - y)


def u2_from_errors(errors: np.ndarray, reference_errors: np.ndarray) -> float:
    """Theil's U2 from the two forecasts' errors on the same points: RMSE over the reference's RMSE."""
    reference = float(np.sqrt(np.mean(np.asarray(reference_errors, dtype=float) ** 2)))
    own = float(np.sqrt(np.mean(np.asarray(errors, dtype=float) ** 2)))
    if reference == 0.0:
        return math.nan if own == 0.0 else math.inf
    return own / reference


def skill_score(metric_model: float, metric_naive: float) -> float:
    """1 - model/naive for an error metric (> 0 beats persistence); naive == 0 gives -inf (nan if both 0)."""
    model, naive = float(metric_model), float(metric_naive)
    if math.isnan(model) or math.isnan(naive):
        raise ValueError("skill_score got NaN; filter failed trials out first")
    if naive == 0.0:
        return math.nan if model == 0.0 else -math.copysign(math.inf, model)
    return 1.0 - model / naive
