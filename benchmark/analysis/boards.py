"""Two boards of the same models under two implementations (a backend, a kernel, `--speed fastest`): does a
network's mean test metric over its training seeds move by more than the seeds' own spread?

The question is about training randomness, not the test sample: both boards score the same test points, so a
row's seeds are its sample. For each network trained under several seeds on both boards (its own config hash on
each), a t statistic gives the difference of means with its interval: paired by seed when both boards list each
trial (`trials.csv`) under the same seeds (a seed fixes the initial weights and the batch order, so the pairs
share most of their randomness), else Welch's on the two seed samples. The family of those rows is declared by the
boards before any number is read, and two Holm-adjusted tests run over it:

- *differs*: two-sided Welch test of equal means;
- *equivalent*: two one-sided Welch tests (TOST) that the difference lies within ± `margin` of the base board's
  mean (the same share as the verdicts' equivalence margin against persistence).

A row with one forecast per board (a seed ensemble, a single seed) has no sample and is shown, never tested; a
row with the same config hash on both boards is the same experiment and is not compared.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
import scipy.stats as _sps

from benchmark.analysis.significance import holm

DIFFERS, EQUIVALENT, BOTH, UNDECIDED, UNTESTED = ("differs", "equivalent", "differs, within the margin",
                                                  "undecided", "not tested")


@dataclass(frozen=True)
class TTest:
    """The other's mean minus the base's, its standard error and degrees of freedom (paired: n - 1; Welch:
    Welch–Satterthwaite)."""

    difference: float
    se: float
    df: float

    def p_differs(self) -> float:
        if self.se == 0.0:
            return 1.0 if self.difference == 0.0 else 0.0
        return float(2.0 * _sps.t.sf(abs(self.difference) / self.se, self.df))

    def p_equivalent(self, bound: float) -> float:
        """TOST: the larger of the two one-sided p-values against |difference| >= bound."""
        if self.se == 0.0:
            return 0.0 if abs(self.difference) < bound else 1.0
        lower = _sps.t.sf((self.difference + bound) / self.se, self.df)
        upper = _sps.t.sf((bound - self.difference) / self.se, self.df)
        return float(max(lower, upper))

    def interval(self, level: float) -> tuple[float, float]:
        half = float(_sps.t.ppf((1.0 + level) / 2.0, self.df)) * self.se if self.se else 0.0
        return self.difference - half, self.difference + half


def welch(mean_a: float, sd_a: float, n_a: int, mean_b: float, sd_b: float, n_b: int) -> TTest:
    """b minus a from two independent samples' summaries (n >= 2 each)."""
    va, vb = sd_a**2 / n_a, sd_b**2 / n_b
    se = math.sqrt(va + vb)
    denominator = va**2 / (n_a - 1) + vb**2 / (n_b - 1)
    return TTest(mean_b - mean_a, se, (va + vb) ** 2 / denominator if denominator else float(n_a + n_b - 2))


def paired(a: np.ndarray, b: np.ndarray) -> TTest:
    """b minus a, pair by pair (n >= 2 pairs)."""
    d = np.asarray(b, dtype=float) - np.asarray(a, dtype=float)
    return TTest(float(d.mean()), float(d.std(ddof=1)) / math.sqrt(d.size), float(d.size - 1))


@dataclass(frozen=True)
class RowChange:
    """One network's row on both boards."""

    dataset: str
    model: str
    base_hash: str
    other_hash: str
    base_seeds: int
    other_seeds: int
    base_mean: float
    other_mean: float
    base_sd: float  # nan for a row without seeds (an ensemble)
    other_sd: float
    difference: float  # other minus base
    design: str = ""  # "paired" (by seed), "Welch" (two samples); empty for an untested row
    ci_low: float = math.nan  # the difference's 1 - alpha interval (one per row, not simultaneous)
    ci_high: float = math.nan
    p_differs: float = math.nan
    p_equivalent: float = math.nan
    p_differs_holm: float = math.nan
    p_equivalent_holm: float = math.nan
    verdict: str = UNTESTED

    @property
    def tested(self) -> bool:
        return not math.isnan(self.p_differs)

    @property
    def spread_ratio(self) -> float:
        """|difference| in units of the base board's seed sd (nan without one)."""
        return abs(self.difference) / self.base_sd if self.base_sd and not math.isnan(self.base_sd) else math.nan


@dataclass(frozen=True)
class BoardChange:
    metric: str
    margin: float
    alpha: float
    rows: tuple[RowChange, ...]
    same: tuple[str, ...]  # "dataset/model" rows with one config hash on both boards (the same experiment)
    only_base: tuple[str, ...]
    only_other: tuple[str, ...]


KEY = ["dataset", "model"]


def missing_columns(table: pd.DataFrame, metric: str) -> list[str]:
    """The columns a board's table needs for `compare_boards` and lacks."""
    return sorted({*KEY, "config_hash", "seeds", f"{metric}_mean", f"{metric}_sd"} - set(table.columns))


TRIAL_COLUMNS = ("dataset", "config_hash", "model", "seed")


def _seed_values(trials: pd.DataFrame | None, dataset: str, config_hash: str, model: str,
                 metric: str) -> pd.Series | None:
    """A row's metric per seed from a board's trial table (None without one, or without that row)."""
    if trials is None or metric not in trials.columns:
        return None
    rows = trials[(trials["dataset"] == dataset) & (trials["config_hash"] == config_hash) & (trials["model"] == model)]
    return None if rows.empty else rows.set_index("seed")[metric].astype(float).sort_index()


def compare_boards(base: pd.DataFrame, other: pd.DataFrame, metric: str = "mae", margin: float = 0.01,
                   alpha: float = 0.05, base_trials: pd.DataFrame | None = None,
                   other_trials: pd.DataFrame | None = None) -> BoardChange:
    """Every row the two boards' leaderboard tables share (by dataset and model), compared as above; with both
    boards' trial tables (one row per trial: dataset, config_hash, model, seed and the metric), paired by seed
    where the seeds match."""
    for name, table in (("base", base), ("other", other)):
        if missing := missing_columns(table, metric):
            raise ValueError(f"the {name} board has no column {', '.join(missing)}")
    merged = base.merge(other, on=KEY, suffixes=("_base", "_other"))
    names = {f"{d}/{m}" for d, m in zip(merged["dataset"], merged["model"], strict=True)}

    def alone(table: pd.DataFrame) -> tuple[str, ...]:
        return tuple(f"{d}/{m}" for d, m in zip(table["dataset"], table["model"], strict=True)
                     if f"{d}/{m}" not in names)

    same = merged["config_hash_base"] == merged["config_hash_other"]
    changed = merged[~same]
    rows, tested = [], []
    for _, r in changed.iterrows():
        base_mean, other_mean = float(r[f"{metric}_mean_base"]), float(r[f"{metric}_mean_other"])
        row = RowChange(str(r["dataset"]), str(r["model"]), str(r["config_hash_base"]), str(r["config_hash_other"]),
                        int(r["seeds_base"]), int(r["seeds_other"]), base_mean, other_mean,
                        float(r[f"{metric}_sd_base"]), float(r[f"{metric}_sd_other"]), other_mean - base_mean)
        if min(row.base_seeds, row.other_seeds) >= 2 and np.isfinite(row.base_sd) and np.isfinite(row.other_sd):
            a = _seed_values(base_trials, row.dataset, row.base_hash, row.model, metric)
            z = _seed_values(other_trials, row.dataset, row.other_hash, row.model, metric)
            matched = a is not None and z is not None and list(a.index) == list(z.index) and len(a) == row.base_seeds
            t = paired(a.to_numpy(), z.to_numpy()) if matched else \
                welch(base_mean, row.base_sd, row.base_seeds, other_mean, row.other_sd, row.other_seeds)
            low, high = t.interval(1.0 - alpha)
            row = replace(row, design="paired" if matched else "Welch", ci_low=low, ci_high=high,
                          p_differs=t.p_differs(), p_equivalent=t.p_equivalent(margin * abs(base_mean)))
            tested.append(len(rows))
        rows.append(row)
    if tested:
        differs = holm([rows[i].p_differs for i in tested])
        equivalent = holm([rows[i].p_equivalent for i in tested])
        for i, pd_, pe in zip(tested, differs, equivalent, strict=True):
            word = {(True, True): BOTH, (True, False): DIFFERS, (False, True): EQUIVALENT,
                    (False, False): UNDECIDED}[(bool(pd_ < alpha), bool(pe < alpha))]
            rows[i] = replace(rows[i], p_differs_holm=float(pd_), p_equivalent_holm=float(pe), verdict=word)
    same_rows = tuple(f"{d}/{m}" for d, m in zip(merged[same]["dataset"], merged[same]["model"], strict=True))
    return BoardChange(metric, margin, alpha, tuple(rows), same_rows, alone(base), alone(other))
