"""The interval procedures measured where the truth is known (part of `python -m benchmark calibrate`).

Each draw is one random walk: a validation period and a test period of `n` days each, one-step forecasts by
persistence (the walk is a martingale, so the last value is the true median). Measured, each as a rate over draws
with its exact interval, for every central interval of the declared levels:

- **size**: the Gaussian walk with its *true* quantiles (last value ± z σ): how often Kupiec's, the independence
  and the conditional-coverage test reject an interval that keeps its promise (nominal α);
- **conformal coverage**: split and adaptive conformal intervals from the validation period's errors, on the
  Gaussian walk: their mean empirical coverage against nominal, and how often the declared test rejects them;
- **power against too-narrow intervals**: the true quantiles shrunk by 20% towards the median;
- **power against constant width under clustered volatility**: the GARCH walk (`fat_tailed_walk`) with split
  conformal intervals, whose width is constant while the walk's volatility clusters, so misses bunch together:
  how often the independence and the conditional-coverage test notice.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from scipy.stats import norm

from benchmark.analysis import coverage
from benchmark.evaluation.scores import central_intervals, label
from benchmark.execution.calibration import Share, fat_tailed_walk, gaussian_walk
from benchmark.models import conformal

NARROW = 0.8  # the too-narrow intervals' width relative to the true one
LEVELS = (0.05, 0.1, 0.5, 0.9, 0.95)  # the committed boards' levels: the 90% and 80% central intervals


@dataclass(frozen=True)
class IntervalRate(Share):
    """How often a test rejected (or, for coverage rows, the pooled share of test points inside)."""

    case: str = ""
    interval_level: float = 0.0  # the central interval's nominal coverage
    measure: str = ""
    nominal: str = ""


def _true_quantiles(last: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    return last[:, None] + norm.ppf(np.asarray(levels))[None, :]  # the Gaussian walk's steps are N(0, 1)


def _draw(walk: Callable, rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Validation errors of persistence [n, 1], test persistence forecasts [n, 1] and test actuals [n, 1]."""
    path = walk(rng, 2 * n + 1)
    changes = np.diff(path)
    return changes[:n, None], path[n:2 * n, None], path[n + 1:, None]


def measure_intervals(draws: int, n: int, alpha: float, levels: tuple[float, ...] = LEVELS, seed: int = 20261201,
                      progress: Callable[[str], None] | None = None) -> list[IntervalRate]:
    """Every case, `draws` walks each (seeded: reproducible)."""
    rng = np.random.default_rng([seed, 7])
    pairs = central_intervals(levels)
    index = {q: k for k, q in enumerate(levels)}
    counts: dict[tuple[str, float, str], list[int]] = {}

    def count(case: str, nominal: float, what: str, yes: int, total: int = 1) -> None:
        entry = counts.setdefault((case, nominal, what), [0, 0])
        entry[0] += yes
        entry[1] += total

    def tests(case: str, quantiles: np.ndarray, actual: np.ndarray, which=("Kupiec", "independence", "CC")):
        for low, high, nominal in pairs:
            misses = (actual < quantiles[:, index[low]]) | (actual > quantiles[:, index[high]])
            p = {"Kupiec": coverage.kupiec(misses, 1 - nominal)[1], "independence": coverage.independence(misses)[1],
                 "CC": coverage.conditional_coverage(misses, 1 - nominal)[1]}
            for name in which:
                count(case, nominal, f"{name} test rejects", int(p[name] < alpha))
            count(case, nominal, "share of test points inside", int((~misses).sum()), len(misses))

    for _ in range(draws):
        errors, point, actual = _draw(gaussian_walk, rng, n)
        truth = _true_quantiles(point[:, 0], levels)
        tests("true quantiles (Gaussian walk)", truth, actual[:, 0])
        median = point[:, 0][:, None]
        tests("true quantiles 20% too narrow", median + NARROW * (truth - median), actual[:, 0])
        for method in conformal.METHODS:
            q = conformal.conformal(method, errors, point, actual, levels)[:, 0, :]
            tests(f"{method} conformal (Gaussian walk)", q, actual[:, 0], ("CC",))
        errors, point, actual = _draw(fat_tailed_walk, rng, n)
        q = conformal.split(errors, point, levels)[:, 0, :]
        tests("split conformal, constant width (GARCH walk)", q, actual[:, 0], ("independence", "CC"))
    if progress:
        progress(f"intervals: {draws} draws per case done")
    out = []
    for (case, nominal, what), (yes, total) in counts.items():
        out.append(IntervalRate(total, yes, case, nominal, what, _nominal(case, what, nominal, alpha)))
    return out


def _nominal(case: str, what: str, nominal: float, alpha: float) -> str:
    if what.startswith("share"):
        return f"{label(nominal)}%"
    if case.startswith("true quantiles ("):
        return f"{100 * alpha:g}%"
    if "Gaussian" in case:  # a conformal interval's coverage given one validation period is not exactly nominal
        return f"{100 * alpha:g}% if exact"
    return "power"
