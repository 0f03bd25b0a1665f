"""How big and how sure: each row's skill against persistence with an interval, the smallest edge its test can
see, and whether it is equivalent to persistence within a declared margin.

All on the loss of the headline metric (absolute error for MAE, squared for RMSE), paired day by day with
persistence's loss on the same test points; a stochastic row uses its seed-averaged loss per day.

- `skill_interval`: skill = 1 - mean(L_row) / mean(L_ref), with a stationary-bootstrap interval over test days
  (Politis & Romano 1994; mean block length by the Politis–White rule, at least n^(1/3): `block_length`), its
  standard error times a Student t quantile on n / block - 1 degrees of freedom, and, beside it, the
  delta-method interval with a Newey–West long-run variance.
- `detectable_skill`: the smallest skill the one-sided test at level `alpha` detects with 80% power, from the
  observed spread of the daily loss differences, and the test days a 1% edge would need.
- `equivalence_test`: two one-sided tests (Schuirmann 1987) of |skill| < margin.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats as _sps

POWER = 0.8


@dataclass(frozen=True)
class SkillInterval:
    """Skill against the reference and its intervals at `level`."""

    skill: float
    low: float  # stationary block bootstrap: its standard error, Student t on n / block - 1 degrees of freedom
    high: float
    hac_low: float  # delta method, Newey–West long-run variance
    hac_high: float
    block: float  # mean block length of the bootstrap (days)
    level: float = 0.95


def _daily(row_loss: np.ndarray) -> np.ndarray:
    """[seeds, n] or [n] -> [n]: the seed-averaged loss per test day."""
    row_loss = np.asarray(row_loss, dtype=float)
    return row_loss.mean(axis=0) if row_loss.ndim == 2 else row_loss


def _has_scale(reference_loss: np.ndarray) -> bool:
    """Skill is relative to the reference's mean loss; when that is zero (a constant series that persistence
    forecasts exactly) or not finite, skill and every interval of it are undefined (NaN), never a crash."""
    level = float(np.mean(reference_loss))
    return math.isfinite(level) and level > 0.0


def block_length(values: np.ndarray) -> float:
    """The stationary bootstrap's mean block length for `values`: the Politis–White (2004) rule with Patton,
    Politis & White's (2009) correction, as `arch` computes it, and never below n^(1/3) days (the rate of the
    block that estimates a mean's variance best; shorter blocks understate dependence the rule failed to see)."""
    from arch.bootstrap import optimal_block_length

    values = np.asarray(values, dtype=float)
    floor = len(values) ** (1 / 3)
    if len(values) < 20 or np.allclose(values, values[0]):  # too short for the rule's autocorrelation estimates
        return floor
    return max(floor, float(optimal_block_length(values)["stationary"].iloc[0]))


def stationary_indices(n: int, block: float, replications: int, rng: np.random.Generator) -> np.ndarray:
    """[replications, n] resampled day indices: blocks of geometric length (mean `block`) that wrap around."""
    starts = rng.integers(0, n, size=(replications, n))
    new_block = rng.random((replications, n)) < 1.0 / block
    new_block[:, 0] = True
    # position t continues the block that began at the last start: index = start + (t - block start) mod n
    block_start = np.maximum.accumulate(np.where(new_block, np.arange(n), 0), axis=1)
    begin = np.take_along_axis(starts, block_start, axis=1)
    return (begin + np.arange(n) - block_start) % n


def newey_west_variance(values: np.ndarray, lags: int | None = None) -> float:
    """The long-run variance of `values` with Bartlett weights; lags default floor(4 (n / 100)^(2/9))."""
    x = np.asarray(values, dtype=float) - np.mean(values)
    n = len(x)
    if lags is None:
        lags = int(math.floor(4 * (n / 100) ** (2 / 9)))
    lags = min(lags, n - 1)
    variance = float(x @ x) / n
    for k in range(1, lags + 1):
        variance += 2 * (1 - k / (lags + 1)) * float(x[k:] @ x[:-k]) / n
    return max(variance, float(x @ x) / n * 1e-12)


def skill_interval(row_loss: np.ndarray, reference_loss: np.ndarray, level: float = 0.95,
                   replications: int = 2000, seed: int = 20261201) -> SkillInterval:
    """Skill 1 - mean(L_row) / mean(L_ref) with its bootstrap and HAC intervals (seeded: reproducible)."""
    row, ref = _daily(row_loss), np.asarray(reference_loss, dtype=float)
    n = len(ref)
    if not _has_scale(ref):
        return SkillInterval(math.nan, math.nan, math.nan, math.nan, math.nan, math.nan, level)
    ratio = float(np.mean(row) / np.mean(ref))
    skill = 1.0 - ratio
    tail = (1 - level) / 2
    # delta method: skill's estimation error is -(mean(row - ratio * ref)) / mean(ref)
    linear = (row - ratio * ref) / np.mean(ref)
    half = float(_sps.norm.ppf(1 - tail)) * math.sqrt(newey_west_variance(linear) / n)
    block = block_length(row - ref)
    index = stationary_indices(n, block, replications, np.random.default_rng(seed))
    draws = 1.0 - row[index].mean(axis=1) / ref[index].mean(axis=1)
    # The bootstrap's standard error with a Student t quantile on (independent blocks - 1) degrees of freedom:
    # block resampling understates the spread a little in samples this short, and percentile intervals more so
    # (measured in tests/analysis/test_magnitude.py).
    spread = float(_sps.t.ppf(1 - tail, max(1.0, n / block - 1))) * float(np.std(draws, ddof=1))
    return SkillInterval(skill, skill - spread, skill + spread, skill - half, skill + half, block, level)


@dataclass(frozen=True)
class Detectable:
    """The smallest skill the declared one-sided test finds with 80% power, and the test days 1% would need."""

    skill: float
    days_for_one_percent: float
    alpha: float  # the level it was computed at (the family's first Holm step: alpha / tests)


def detectable_skill(row_loss: np.ndarray, reference_loss: np.ndarray, alpha: float) -> Detectable:
    """From the sd of the daily loss differences d: a one-sided test at `alpha` has 80% power against a true mean
    difference of (z_{1-alpha} + z_{0.8}) sd / sqrt(n), which as skill is that over mean(L_ref)."""
    row, ref = _daily(row_loss), np.asarray(reference_loss, dtype=float)
    n, spread = len(ref), float(np.std(row - ref, ddof=1))
    z = float(_sps.norm.ppf(1 - alpha) + _sps.norm.ppf(POWER))
    level = float(np.mean(ref))
    if not _has_scale(ref):
        return Detectable(math.nan, math.nan, alpha)
    return Detectable(z * spread / math.sqrt(n) / level, (z * spread / (0.01 * level)) ** 2, alpha)


def equivalence_test(row_loss: np.ndarray, reference_loss: np.ndarray, margin: float,
                     scale_loss: np.ndarray | None = None) -> float:
    """TOST p-value of H0: |skill| >= margin (small: equivalent within the margin). Each one-sided test is a
    t-test on the daily loss differences against ±margin × mean(L_scale); the p-value is the larger of the two.
    The margin is relative to `scale_loss` (persistence's, when two architectures are compared with each other),
    by default to the reference's."""
    row, ref = _daily(row_loss), np.asarray(reference_loss, dtype=float)
    scale = ref if scale_loss is None else np.asarray(scale_loss, dtype=float)
    if not _has_scale(scale):
        return 1.0  # a margin relative to a zero loss is zero: equivalence cannot be shown
    d = row - ref
    n = len(d)
    bound = margin * float(np.mean(scale))
    se = float(np.std(d, ddof=1)) / math.sqrt(n)
    if se == 0.0:
        return 0.0 if abs(float(np.mean(d))) < bound else 1.0
    below = _sps.t.cdf((float(np.mean(d)) - bound) / se, n - 1)  # H0: mean d >= +bound (row worse by the margin)
    above = _sps.t.sf((float(np.mean(d)) + bound) / se, n - 1)  # H0: mean d <= -bound (row better by the margin)
    return float(max(below, above))


def on_metric_scale(loss_skill: float, metric: str) -> float:
    """A skill on the mean loss (absolute or squared error) as a skill on the metric: the same for MAE, and
    1 - sqrt(1 - s) for RMSE, whose loss is squared."""
    if metric == "mae" or not np.isfinite(loss_skill):
        return loss_skill
    return 1.0 - math.sqrt(max(0.0, 1.0 - loss_skill))


def row_magnitudes(row_loss: np.ndarray, reference_loss: np.ndarray, metric: str, first_alpha: float,
                   margin: float) -> dict[str, float]:
    """The table columns of one tested row: skill interval (bootstrap and HAC), the smallest detectable skill at
    the family's first Holm level, the days a 1% edge needs, and the equivalence p-value."""
    interval = skill_interval(row_loss, reference_loss)
    detectable = detectable_skill(row_loss, reference_loss, first_alpha)
    scale = {"skill_low": interval.low, "skill_high": interval.high, "skill_hac_low": interval.hac_low,
             "skill_hac_high": interval.hac_high, "detectable_skill": detectable.skill}
    out = {k: on_metric_scale(v, metric) for k, v in scale.items()}
    out["block_days"] = interval.block
    out["days_for_one_percent"] = detectable.days_for_one_percent
    out["p_equivalent"] = equivalence_test(row_loss, reference_loss, margin)
    return out


CLASSES = ("better", "worse", "equivalent", "undecided")


def verdict_class(better: bool, worse: bool, equivalent: bool) -> str:
    """One class per row, never two: a significant difference first (better or worse; both cannot hold, the
    one-sided tests point opposite ways at alpha < 0.5), else equivalence within the margin, else undecided."""
    if better:
        return "better"
    if worse:
        return "worse"
    return "equivalent" if equivalent else "undecided"
