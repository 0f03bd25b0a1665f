"""`python -m benchmark calibrate`: the verdict engine's error rates, measured where the right answer is known.

Many independent realizations of simulated price processes go through the same pipeline, the same trials and
the same verdict code (`comparison.build_table`: seed-averaged Diebold–Mariano, Holm over the declared family)
as a real run. Where persistence is the optimal forecast (random walks), every "significantly better" verdict is
a false positive: their rate, with an exact 95% interval, is the engine's measured size. Where a learnable
signal exists, the rate of significant verdicts is its power. Numbers only; `benchmark.render.calibration`
writes them as markdown.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmark.analysis import significance
from benchmark.analysis.comparison import RunMeta, StoredResults, build_table
from benchmark.config.experiment import ExperimentConfig, resolve
from benchmark.data.series import Series
from benchmark.evaluation.trial import TrialRecord, evaluate, trial_hyperparameters
from benchmark.models import registry
from benchmark.models.contract import ModelSpec
from benchmark.pipeline.windows import prepare
from benchmark.tracking import seed_text


def gaussian_walk(rng: np.random.Generator, length: int) -> np.ndarray:
    """P_t = P_{t-1} + N(0, 1): a martingale, so persistence is the optimal forecast under any symmetric loss."""
    return 100.0 + np.cumsum(rng.normal(0.0, 1.0, length))


def fat_tailed_walk(rng: np.random.Generator, length: int) -> np.ndarray:
    """Crypto-like daily changes: GARCH(1,1) volatility clustering (alpha 0.1, beta 0.85) and Student-t(3)
    shocks (unit variance), added to the price. Still a martingale: persistence is optimal."""
    shocks = rng.standard_t(3, length) / np.sqrt(3.0)
    variance, steps = 1.0, np.empty(length)
    for t in range(length):
        steps[t] = np.sqrt(variance) * shocks[t]
        variance = 0.05 + 0.10 * steps[t] ** 2 + 0.85 * variance
    return 1000.0 + np.cumsum(steps)


def weak_momentum(rng: np.random.Generator, length: int) -> np.ndarray:
    """Daily changes with AR(1) coefficient 0.3: a weak but real signal (9% of the changes' variance is
    predictable), so persistence is beatable by a model that learns it."""
    shocks = rng.normal(0.0, 1.0, length)
    steps = np.empty(length)
    steps[0] = shocks[0]
    for t in range(1, length):
        steps[t] = 0.3 * steps[t - 1] + shocks[t]
    return 100.0 + np.cumsum(steps)


def weekly_cycle(rng: np.random.Generator, length: int) -> np.ndarray:
    """A 7-step cycle (amplitude 5) plus AR(1) noise around 100: strongly learnable."""
    noise, shocks = np.zeros(length), rng.normal(0.0, 1.0, length)
    for t in range(1, length):
        noise[t] = 0.6 * noise[t - 1] + shocks[t]
    return 100.0 + 5.0 * np.sin(2 * np.pi * np.arange(length) / 7) + noise


@dataclass(frozen=True)
class Process:
    name: str
    generate: Callable[[np.random.Generator, int], np.ndarray]
    persistence_optimal: bool  # True: every significant verdict is a false positive

    @property
    def description(self) -> str:
        return (self.generate.__doc__ or "").split("\n\n")[0].replace("\n    ", " ").strip()


PROCESSES = (
    Process("gaussian_walk", gaussian_walk, True),
    Process("fat_tailed_walk", fat_tailed_walk, True),
    Process("weak_momentum", weak_momentum, False),
    Process("weekly_cycle", weekly_cycle, False),
)


@dataclass(frozen=True)
class Design:
    """One calibration pass: which models, how many realizations, how each series is cut and trained."""

    models: tuple[str, ...]  # every registered model to run (the reference included)
    replications: int
    config: ExperimentConfig  # protocol and training settings (test size, lookback, epochs, verdict settings)
    length: int  # points per simulated series
    base_seed: int = 20261125  # realization r of process p uses seed (base_seed, p, r): reproducible


def one_realization(process: Process, index: int, design: Design) -> pd.DataFrame:
    """The verdict table of one simulated series (same pipeline, trials and verdict code as a real run)."""
    rng = np.random.default_rng([design.base_seed, PROCESSES.index(process), index])
    series = Series.from_array(process.name, process.generate(rng, design.length), source="simulated")
    c = design.config
    folds = [prepare(series, c.lookback, c.horizon, c.test_size, c.val_size, c.scaler)]
    records = []
    for name in design.models:
        spec = registry.get(name)
        for seed in (c.seeds if spec.stochastic else (None,)):
            hyperparams = trial_hyperparameters(name, c)
            records.append((spec, seed, evaluate(spec, hyperparams, folds, c, seed)))
    return build_table(results_from_records(process.name, c, records), magnitudes=False)


def results_from_records(dataset: str, config: ExperimentConfig,
                         records: list[tuple[ModelSpec, int | None, TrialRecord]]) -> StoredResults:
    """`StoredResults` straight from evaluated trials, as the report would read them back from a store."""
    trials, predictions = [], []
    for spec, seed, record in records:
        seed = seed_text(seed)
        trials.append({"model": spec.name, "seed": seed, "kind": spec.kind, "stochastic": spec.stochastic,
                       "reference": spec.reference, "status": "FINISHED", "failure_reason": "", **record.summary})
        predictions.append(record.predictions.assign(model=spec.name, seed=seed))
    reference = next(spec.name for spec, _, _ in records if spec.reference)
    meta = RunMeta(dataset, reference=reference, settings=config.logged_settings() | config.verdict_settings())
    return StoredResults(meta, pd.DataFrame(trials), pd.concat(predictions, ignore_index=True))


@dataclass(frozen=True)
class Share:
    """How many of `replications` independent realizations came out significant, with the exact interval."""

    replications: int
    significant: int

    @property
    def rate(self) -> float:
        return self.significant / self.replications

    @property
    def interval(self) -> tuple[float, float]:
        return significance.binomial_interval(self.significant, self.replications)


@dataclass(frozen=True)
class Rate(Share):
    """How often a row was "significantly better than persistence" on one process."""

    process: str = ""
    persistence_optimal: bool = False
    row: str = ""  # a table row ("linear", "mlp (ensemble)") or "any row" (the family-wise rate)


def rates(process: Process, tables: list[pd.DataFrame]) -> list[Rate]:
    """Per tested row and for the whole family ("any row"), the share of realizations called significant."""
    tested = [t[t["tested"]] for t in tables]
    rows = list(dict.fromkeys(name for t in tested for name in t["model"]))
    out = [Rate(len(tables), sum(bool(t["significant"].any()) for t in tested), process.name,
                process.persistence_optimal, "any row")]
    for row in rows:
        hits = sum(bool(t.loc[t["model"] == row, "significant"].any()) for t in tested)
        out.append(Rate(len(tables), hits, process.name, process.persistence_optimal, row))
    return out


def calibrate(design: Design, processes=PROCESSES, progress: Callable[[str], None] | None = None) -> list[Rate]:
    """Every process, `design.replications` realizations each; the rates of significant verdicts."""
    out = []
    for process in processes:
        tables = []
        for index in range(design.replications):
            tables.append(one_realization(process, index, design))
            if progress and ((index + 1) % max(1, design.replications // 10) == 0
                             or index + 1 == design.replications):
                progress(f"{process.name}: {index + 1}/{design.replications} realizations")
        out += rates(process, tables)
    return out


@dataclass(frozen=True)
class BoundarySize(Share):
    """The test alone at the boundary of its null: seeds whose expected loss equals the reference's exactly."""

    points: int = 0
    seeds: int = 0
    alpha: float = 0.05


def boundary_size(draws: int, points: int, seeds: int, loss: str, alpha: float, base_seed: int = 20261125,
                  shared: float = 0.6) -> BoundarySize:
    """How often the one-sided seed-averaged DM test rejects when every seed's errors have exactly the
    reference's distribution (Gaussian, unit variance; seeds share `shared` of their variance, as networks
    trained on the same data do). Learners on a random walk are worse than persistence, so the rates above sit
    below alpha; this is the rate where the null holds with equality."""
    rng = np.random.default_rng(base_seed)
    rejections = 0
    for _ in range(draws):
        common = rng.normal(0.0, np.sqrt(shared), points)
        errors = common + rng.normal(0.0, np.sqrt(1 - shared), (seeds, points))
        reference = rng.normal(0.0, 1.0, points)
        rejections += significance.seed_averaged_dm(errors, reference, loss).pvalue < alpha
    return BoundarySize(draws, int(rejections), points, seeds, alpha)


def designs(models: tuple[str, ...], replications: int, network_replications: int, seeds: int, epochs: int,
            length: int, test_size: int, metric: str, statistical: bool = False, **settings) -> Iterator[Design]:
    """The cheap pass (deterministic models, many realizations) and, when networks are asked for, the network
    pass (networks and the baselines, fewer realizations, few epochs): each its own declared family.

    The statistical models (ARIMA, ETS, Theta: their adapter is `statistical`) join both families only with
    `statistical`: their maximum-likelihood fits cost about a second per realization, against milliseconds for the
    others."""
    deterministic = tuple(m for m, spec in registry.registry().items()
                          if not spec.stochastic and (statistical or not spec.adapter.statistical))
    networks = tuple(m for m in models if registry.get(m).stochastic)
    # The simulated processes are additive walks that may cross zero: the statistical models run on their own scale.
    on_own_scale = tuple((f"{m}.log", False) for m, spec in registry.registry().items()
                         if spec.adapter.statistical and "log" in spec.hyperparameters) if statistical else ()
    base = resolve("default", test_size=test_size, val_size=test_size, epochs=epochs, patience=2,
                   seeds=tuple(range(seeds)), metric=metric, overrides=on_own_scale, **settings)
    yield Design(deterministic, replications, dataclasses.replace(base, models=deterministic), length)
    if networks and network_replications:
        models = (*networks, *deterministic)
        yield Design(models, network_replications, dataclasses.replace(base, models=models), length)
