"""The verdict's procedures measured where the truth is known, on daily losses rather than trained models (part
of `python -m benchmark calibrate`): the skill intervals' coverage, the equivalence test's size at its margin,
and the bootstrap family's size and power beside the Holm family's.

Sources of daily losses:
- `gaussian_walk` and `fat_tailed_walk` (the GARCH walk of `benchmark.execution.calibration`): persistence's
  loss is the loss of the walk's own daily change; each row's loss is persistence's times (1 - skill) times an
  independent log-normal factor of mean 1, so the row is correlated with persistence, as real models are, and
  its true skill is exactly the one set.
- `real`: a committed `daily-losses.csv` (the msft leaderboard's, by default): all rows and persistence resampled
  together in stationary blocks (the family's mean block length), each row re-centred so that its mean loss in
  the resampling world is (1 - skill) times persistence's: real tails and real dependence, with a known truth.

Scenarios: `null` (every row exactly as good as persistence: every "better" is false, and every interval should
cover 0), `margin` (half the rows better and half worse by exactly the equivalence margin: every "equivalent" is
false) and `edge` (the first row better by `EDGE`, the others null: power).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark.analysis import bootstrap_family, magnitude, significance
from benchmark.errors import BenchmarkError
from benchmark.execution.calibration import Share, fat_tailed_walk, gaussian_walk

EDGE = 0.05  # the edge of the power scenario: the first row's skill
ROWS = 4  # rows of a simulated family
FACTOR_SD = 0.5  # sd of the log-normal factor that makes a simulated row's loss differ from persistence's
REPLICATIONS = 500  # bootstrap replications inside each draw (the leaderboards use 2000 and 1000)


@dataclass(frozen=True)
class ProcedureRate(Share):
    """How often one procedure said yes in `replications` draws (or row-draws, for per-row procedures)."""

    source: str = ""
    scenario: str = ""
    procedure: str = ""
    nominal: str = ""  # what a calibrated procedure gives here


def simulated_losses(walk: Callable[[np.random.Generator, int], np.ndarray], loss: str
                     ) -> Callable[[np.random.Generator, int, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A source: (rng, n, skills) -> (persistence's loss [n], rows' losses [rows, n]) on a simulated walk."""
    def draw(rng: np.random.Generator, n: int, skills: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        changes = np.diff(walk(rng, n + 1))
        reference = np.abs(changes) if loss == "absolute" else changes**2
        factor = np.exp(FACTOR_SD * rng.normal(size=(len(skills), n)) - FACTOR_SD**2 / 2)
        return reference, (1 - skills)[:, None] * reference * factor
    return draw


def real_losses(path: str | Path, metric: str
                ) -> Callable[[np.random.Generator, int, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """A source from a leaderboard's daily-losses.csv: its rows and persistence resampled together, re-centred."""
    frame = read_losses(path)
    if "metric" in frame and str(frame["metric"].iloc[0]) != metric:
        raise BenchmarkError(f"--losses: {path} holds {frame['metric'].iloc[0]} losses, but --metric is {metric}")
    reference_name = str(frame["reference"].iloc[0])
    rows = [c for c in frame.columns if c not in ("dataset", "config_hash", "metric", "reference", "fold", "date",
                                                  "step", reference_name)]
    reference = frame[reference_name].to_numpy(dtype=float)
    matrix = frame[rows].to_numpy(dtype=float).T  # [rows, n]
    block = bootstrap_family.family_block({reference_name: reference, **dict(zip(rows, matrix, strict=True))},
                                          reference_name)

    def draw(rng: np.random.Generator, n: int, skills: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        index = magnitude.stationary_indices(len(reference), block, 1, rng)[0]  # its own length, whatever n
        target = (1 - skills)[:, None] * reference.mean()
        return reference[index], matrix[: len(skills), index] - matrix[: len(skills)].mean(axis=1)[:, None] + target
    draw.rows = len(rows)  # type: ignore[attr-defined]
    return draw


def read_losses(path: str | Path) -> pd.DataFrame:
    """A daily-losses.csv of one holdout configuration, checked (one line naming the problem otherwise)."""
    path = Path(path)
    if not path.is_file():
        raise BenchmarkError(f"--losses: no file {path}")
    try:
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise BenchmarkError(f"--losses: {path} is not a CSV file ({error.__class__.__name__})") from None
    need = {"reference", "config_hash", "date"}
    if not need <= set(frame.columns) or frame.empty:
        raise BenchmarkError(f"--losses: {path} is not a daily-losses.csv written by `report` "
                             f"(missing {', '.join(sorted(need - set(frame.columns))) or 'rows'})")
    if "step" in frame and int(frame["step"].max()) > 1:
        raise BenchmarkError(f"--losses: {path} forecasts {int(frame['step'].max())} steps ahead; give a one-step "
                             "leaderboard's file (its days are resampled as single test points)")
    if frame["config_hash"].nunique() != 1:
        raise BenchmarkError(f"--losses: {path} holds {frame['config_hash'].nunique()} configurations; "
                             "give one holdout leaderboard's file")
    reference = str(frame["reference"].iloc[0])
    numbers = frame.drop(columns=["dataset", "config_hash", "metric", "reference", "fold", "date", "step"],
                         errors="ignore")
    if reference not in numbers or numbers.shape[1] < 2 or not np.isfinite(numbers.to_numpy(dtype=float)).all():
        raise BenchmarkError(f"--losses: {path} needs the reference's and at least one row's finite loss per point")
    return frame


def scenarios(rows: int, margin: float) -> Iterator[tuple[str, np.ndarray]]:
    yield "null", np.zeros(rows)
    yield "margin", np.where(np.arange(rows) % 2 == 0, margin, -margin)
    yield "edge", np.where(np.arange(rows) == 0, EDGE, 0.0)


def measure(name: str, source, rows: int, draws: int, n: int, alpha: float, margin: float, stream: int,
            seed: int = 20261201) -> list[ProcedureRate]:
    """Every scenario of one source, `draws` draws each: the rates of each procedure (seeded by `stream`)."""
    rng = np.random.default_rng([seed, stream])
    out = []
    for scenario, skills in scenarios(rows, margin):
        counts: dict[str, list[int]] = {}

        def count(procedure: str, hit: bool, counts=counts) -> None:
            counts.setdefault(procedure, [0, 0])
            counts[procedure][0] += int(hit)
            counts[procedure][1] += 1

        for _ in range(draws):
            reference, losses = source(rng, n, skills)
            better = [significance.dm_test(row - reference, 1).pvalue for row in losses]
            holm = significance.holm(better) < alpha
            rows_by_name = {f"r{j}": row for j, row in enumerate(losses)}
            family = bootstrap_family.bootstrap_family({"reference": reference, **rows_by_name}, "reference", alpha,
                                                       replications=REPLICATIONS, seed=int(rng.integers(2**31)))
            if scenario in ("null", "edge"):
                count("Holm family: some row called better" if scenario == "null" else
                      "Holm family: the better row found", bool(holm.any()) if scenario == "null" else bool(holm[0]))
                count("SPA: p < α", family.spa_p < alpha)
                count("StepM: some row called better" if scenario == "null" else "StepM: the better row found",
                      bool(family.better) if scenario == "null" else "r0" in family.better)
            if scenario == "null":
                count("MCS: persistence left out", "reference" not in family.confidence_set)
                for row in losses:
                    interval = magnitude.skill_interval(row, reference, replications=REPLICATIONS,
                                                        seed=int(rng.integers(2**31)))
                    count("skill interval (bootstrap) covers the true skill", interval.low <= 0 <= interval.high)
                    count("skill interval (HAC) covers the true skill", interval.hac_low <= 0 <= interval.hac_high)
            if scenario == "margin":
                for row in losses:
                    count("TOST: called equivalent (per row)",
                          magnitude.equivalence_test(row, reference, margin) < alpha)
        for procedure, (hits, total) in counts.items():
            out.append(ProcedureRate(total, hits, name, scenario, procedure, _nominal(procedure, scenario, alpha)))
    return out


def _nominal(procedure: str, scenario: str, alpha: float) -> str:
    if "covers" in procedure:
        return "95%"
    if scenario == "edge":
        return "power"
    return f"≤ {100 * alpha:g}%" if scenario == "margin" or "MCS" in procedure else f"{100 * alpha:g}%"


def calibrate_procedures(draws: int, n: int, alpha: float, margin: float, metric: str,
                         losses_path: str | Path | None = None,
                         progress: Callable[[str], None] | None = None) -> list[ProcedureRate]:
    """The procedures on the Gaussian and GARCH walks and, with `losses_path`, on resampled real losses."""
    loss = "absolute" if metric == "mae" else "squared"
    sources = [("gaussian_walk", simulated_losses(gaussian_walk, loss), ROWS),
               ("fat_tailed_walk", simulated_losses(fat_tailed_walk, loss), ROWS)]
    if losses_path is not None:
        real = real_losses(losses_path, metric)
        sources.append((f"real ({Path(losses_path).as_posix()})", real, real.rows))
    out = []
    for stream, (name, source, rows) in enumerate(sources):
        out += measure(name, source, rows, draws, n, alpha, margin, stream)
        if progress:
            progress(f"procedures: {name} done ({draws} draws per scenario)")
    return out
