"""The bootstrap version of the family, beside the Diebold–Mariano/Holm one: it resamples all rows' daily losses
together (so it allows for the dependence between rows and for heavy tails, which the t approximation does not),
through `arch`'s implementations rather than ours:

- Hansen's (2005) test for superior predictive ability (`arch.bootstrap.SPA`): H0 "no row beats the reference";
  its consistent p-value is the one quoted.
- Romano & Wolf's (2005) stepwise test (`arch.bootstrap.StepM`): which rows beat the reference, family-wise
  error rate `alpha`; the bootstrap counterpart of the Holm family's "significantly better".
- Hansen, Lunde & Nason's (2011) model confidence set (`arch.bootstrap.MCS`, range statistic): the rows,
  the reference among them, that cannot be told from the best at level 1 - alpha.

All on the headline metric's loss per test day (seed-averaged for stochastic rows), with the stationary
bootstrap, one seeded generator and one mean block length for the whole family: the longest the rule of
`benchmark.analysis.magnitude.block_length` gives for any row's difference from the reference. SPA and StepM see
each row's difference studentized by its Newey–West standard deviation (`studentized`: arch 8.0 does not apply its
own `studentize` flag to the statistic); the model confidence set studentizes inside arch.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from benchmark.analysis.magnitude import block_length, newey_west_variance

REPLICATIONS = 1000
SEED = 20261201


@dataclass(frozen=True)
class BootstrapFamily:
    """What the three bootstrap procedures say about one comparison."""

    spa_p: float  # Hansen's consistent p-value of "no row beats the reference"
    better: tuple[str, ...]  # StepM: rows that beat the reference at family-wise level alpha
    confidence_set: tuple[str, ...]  # MCS: rows that cannot be told from the best at level 1 - alpha
    mcs_p: Mapping[str, float]  # each row's MCS p-value (in the set when >= alpha)
    block: int  # mean block length of the stationary bootstrap (days)
    replications: int
    alpha: float


def _stepm(benchmark: np.ndarray, models: np.ndarray, alpha: float, block: int, replications: int,
           seed: int) -> list[int]:
    """`arch.bootstrap.StepM`'s superior models. Its `compute` (arch 8.0) loops while the *last* step found fewer
    than all models, so when two steps together reject every model it re-runs SPA on an empty subset and fails on
    an empty maximum; the step-down is the same here, stopping once every model is rejected."""
    from arch.bootstrap import StepM

    stepm = StepM(benchmark, models, size=alpha, block_size=block, reps=replications, bootstrap="stationary",
                  seed=seed)
    spa, k = stepm.spa, models.shape[1]
    spa.compute()
    found = [int(i) for i in spa.better_models(alpha)]
    superior = found[:]
    while found and len(superior) < k:
        selector = np.ones(k, dtype=bool)
        selector[np.array(superior)] = False
        spa.subset(selector)
        spa.compute()
        found = [int(i) for i in spa.better_models(alpha)]
        superior.extend(found)
    return sorted(superior)


def studentized(reference: np.ndarray, models: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """What the wrapper hands arch's SPA and StepM: a zero benchmark and each row's loss difference from the
    reference divided by its Newey–West long-run standard deviation. arch 8.0 accepts `studentize=True` but its
    statistic and bootstrap use the raw mean differences (the flag only sets the threshold of the consistent
    p-value), so one row with noisy differences could hide a row that wins every day; Hansen's and Romano–Wolf's
    tests divide each row by its own standard error, which this does once, for the sample and every resample."""
    differences = models - reference[:, None]
    scales = np.array([math.sqrt(newey_west_variance(differences[:, j])) for j in range(differences.shape[1])])
    floor = 1e-12 * max(1.0, float(np.max(np.abs(differences))))
    return np.zeros_like(reference), differences / np.maximum(scales, floor)[None, :]


def family_block(losses: Mapping[str, np.ndarray], reference: str) -> int:
    """The one mean block length for the joint resampling: the longest any row's difference needs."""
    ref = np.asarray(losses[reference], dtype=float)
    rows = [name for name in losses if name != reference]
    lengths = [block_length(np.asarray(losses[name], dtype=float) - ref) for name in rows] or [len(ref) ** (1 / 3)]
    return max(1, math.ceil(max(lengths)))


def bootstrap_family(losses: Mapping[str, np.ndarray], reference: str, alpha: float,
                     replications: int = REPLICATIONS, seed: int = SEED,
                     block: int | None = None) -> BootstrapFamily:
    """SPA, StepM and MCS on `losses` (row -> loss per test day, all on the same days; `reference` among them)."""
    from arch.bootstrap import MCS, SPA

    names = [name for name in losses if name != reference]
    if not names:
        raise ValueError("the bootstrap family needs at least one row besides the reference")
    ref = np.asarray(losses[reference], dtype=float)
    models = np.column_stack([np.asarray(losses[name], dtype=float) for name in names])
    if models.shape[0] != ref.shape[0] or not (np.all(np.isfinite(models)) and np.all(np.isfinite(ref))):
        raise ValueError(f"every row needs a finite loss on each of the reference's {ref.shape[0]} days")
    block = family_block(losses, reference) if block is None else int(block)
    # Rows whose daily losses are identical (to persistence or to each other: constant series, or two baselines that
    # forecast alike) cannot be told apart, and their differences have no variance to studentize by, on which arch's
    # procedures divide by zero. Each group of identical rows is tested once, as its first member, and every member
    # shares the verdict.
    groups = _identical_groups({reference: ref, **{n: models[:, j] for j, n in enumerate(names)}})
    everything = [reference, *names]
    if len(groups) == 1:  # nothing to resample: no row differs from the reference on any day
        return BootstrapFamily(1.0, (), tuple(everything), dict.fromkeys(everything, 1.0), block, replications, alpha)
    distinct = list(groups)  # first members, the reference first
    candidates = distinct[1:]
    distinct_models = np.column_stack([np.asarray(losses[n], dtype=float) for n in candidates])
    zero, scaled = studentized(ref, distinct_models)
    spa = SPA(zero, scaled, block_size=block, reps=replications, bootstrap="stationary", seed=seed)
    spa.compute()
    mcs = MCS(np.column_stack([ref, distinct_models]), size=alpha, reps=replications, block_size=block, method="R",
              bootstrap="stationary", seed=seed)
    mcs.compute()
    found = {candidates[i] for i in _stepm(zero, scaled, alpha, block, replications, seed)}
    kept = {distinct[int(i)] for i in mcs.included}
    pvalues = {distinct[int(i)]: float(p) for i, p in mcs.pvalues["Pvalue"].items()}
    member_of = {member: first for first, members in groups.items() for member in members}
    return BootstrapFamily(float(spa.pvalues["consistent"]), tuple(n for n in names if member_of[n] in found),
                           tuple(n for n in everything if member_of[n] in kept),
                           {n: pvalues[member_of[n]] for n in everything}, block, replications, alpha)


def _identical_groups(losses: Mapping[str, np.ndarray]) -> dict[str, list[str]]:
    """Rows grouped by identical daily losses (to within float rounding), keyed by each group's first row."""
    groups: dict[str, list[str]] = {}
    for name, values in losses.items():
        scale = 1e-12 * max(1.0, float(np.max(np.abs(values))))
        first = next((f for f in groups if np.allclose(values, losses[f], rtol=0, atol=scale)), None)
        groups.setdefault(first or name, []).append(name)
    return groups
