"""How big and how sure (benchmark.analysis.magnitude): each procedure's error rate measured on simulated data
where the truth is known, and the formulas against hand computations."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest
from scipy import stats as sps

from benchmark.analysis import magnitude, significance
from benchmark.analysis.comparison import RunMeta, StoredResults, build_table

N = 250
REFERENCE_MEAN = math.sqrt(2 / math.pi) + 0.5  # E|Z| + 0.5: persistence's expected loss in the simulations


def ar1(rng: np.random.Generator, n: int, phi: float) -> np.ndarray:
    """A stationary AR(1) series with unit innovations."""
    out = np.empty(n)
    out[0] = rng.normal() / math.sqrt(1 - phi**2)
    for t in range(1, n):
        out[t] = phi * out[t - 1] + rng.normal()
    return out


@pytest.mark.slow
def test_the_skill_interval_covers_the_true_skill_95_percent_of_the_time():
    """Loss differentials with AR(1) dependence (φ = 0.2, about what daily absolute-error differences show) and a
    known mean: over 1,000 draws the 95% bootstrap interval holds the true skill 93–97% of the time."""
    rng = np.random.default_rng(11)
    edge = -0.02  # the row's expected loss is 0.02 below persistence's
    truth = 1 - (REFERENCE_MEAN + edge) / REFERENCE_MEAN
    draws, covered, covered_hac = 1000, 0, 0
    for i in range(draws):
        reference = np.abs(rng.normal(0, 1, N)) + 0.5
        row = reference + edge + 0.1 * ar1(rng, N, 0.2)
        interval = magnitude.skill_interval(row, reference, seed=i)
        covered += interval.low <= truth <= interval.high
        covered_hac += interval.hac_low <= truth <= interval.hac_high
    assert 0.93 <= covered / draws <= 0.97
    assert 0.93 <= covered_hac / draws <= 0.97


def test_the_newey_west_variance_against_a_hand_computation():
    # deviations from the mean 3: -2, -1, 1, 0, 2; gamma0 = 10 / 5 = 2, gamma1 = (2 - 1 + 0 + 0) / 5 = 0.2;
    # one lag with Bartlett weight 1 - 1/2: 2 + 2 * 0.5 * 0.2 = 2.2
    assert magnitude.newey_west_variance(np.array([1.0, 2, 4, 3, 5]), lags=1) == pytest.approx(2.2)
    assert magnitude.newey_west_variance(np.array([1.0, 2, 4, 3, 5]), lags=0) == pytest.approx(2.0)


def test_the_hac_interval_is_the_delta_method_by_hand():
    rng = np.random.default_rng(3)
    reference = np.abs(rng.normal(0, 1, N)) + 0.5
    row = reference - 0.01 + 0.1 * rng.normal(size=N)
    interval = magnitude.skill_interval(row, reference, replications=200)
    ratio = row.mean() / reference.mean()
    linear = (row - ratio * reference) / reference.mean()
    half = sps.norm.ppf(0.975) * math.sqrt(magnitude.newey_west_variance(linear) / N)
    assert interval.skill == pytest.approx(1 - ratio)
    assert (interval.hac_low, interval.hac_high) == pytest.approx((1 - ratio - half, 1 - ratio + half))
    assert interval.low < interval.skill < interval.high


def test_stationary_indices_make_blocks_of_the_asked_mean_length():
    index = magnitude.stationary_indices(1000, 8.0, 50, np.random.default_rng(0))
    assert index.shape == (50, 1000) and index.min() >= 0 and index.max() < 1000
    continues = np.diff(index, axis=1) % 1000 == 1
    assert 1 / (1 - continues.mean()) == pytest.approx(8.0, rel=0.1)  # mean run length


def test_tost_holds_its_size_at_the_margin():
    """Rows whose true skill is exactly at -margin: two one-sided tests call them equivalent 3–7% of the time."""
    rng = np.random.default_rng(5)
    margin, draws = 0.01, 2000
    rejected = 0
    for _ in range(draws):
        reference = np.full(N, REFERENCE_MEAN)
        row = reference + margin * REFERENCE_MEAN + 0.05 * rng.normal(size=N)
        rejected += magnitude.equivalence_test(row, reference, margin) < 0.05
    assert 0.03 <= rejected / draws <= 0.07


def test_tost_calls_a_row_that_is_persistence_equivalent():
    rng = np.random.default_rng(6)
    reference = np.abs(rng.normal(0, 1, N)) + 0.5
    assert magnitude.equivalence_test(reference + 0.001 * rng.normal(size=N), reference, 0.01) < 1e-6
    assert magnitude.equivalence_test(reference + 0.05, reference, 0.01) > 0.99


def test_the_detectable_skill_has_80_percent_power():
    """At the stated edge the one-sided test at alpha / 14 (the family's first Holm level) rejects 77–83% of the
    time."""
    rng = np.random.default_rng(8)
    alpha, spread, draws = 0.05 / 14, 0.1, 2000
    reference = np.full(N, REFERENCE_MEAN)
    sample = reference + spread * rng.normal(size=N)
    edge = magnitude.detectable_skill(sample, reference, alpha).skill
    z = sps.norm.ppf(1 - alpha) + sps.norm.ppf(0.8)
    assert edge == pytest.approx(z * spread / math.sqrt(N) / REFERENCE_MEAN, rel=0.1)  # from the sample's spread
    exact = z * spread / math.sqrt(N) / REFERENCE_MEAN
    hits = 0
    for _ in range(draws):
        row = reference * (1 - exact) + spread * rng.normal(size=N)
        hits += significance.dm_test(row - reference).pvalue < alpha
    assert 0.77 <= hits / draws <= 0.83
    days = magnitude.detectable_skill(sample, reference, alpha).days_for_one_percent
    assert days == pytest.approx((z * np.std(sample - reference, ddof=1) / (0.01 * REFERENCE_MEAN)) ** 2)


def test_one_class_per_row_for_every_outcome():
    for better, worse, equivalent in itertools.product((False, True), repeat=3):
        assert magnitude.verdict_class(better, worse, equivalent) in magnitude.CLASSES


def test_the_table_puts_every_tested_row_in_exactly_one_family_s_class():
    """A row that is persistence plus a tiny noise is equivalent; one that is much worse is worse; the Holm
    columns of the worse and equivalent families exist beside the better family's."""
    import pandas as pd

    rng = np.random.default_rng(9)
    dates = pd.date_range("2022-01-03", periods=N, freq="B").strftime("%Y-%m-%d")
    actual = 100 + np.cumsum(rng.normal(0, 1, N))
    last = np.concatenate([[100.0], actual[:-1]])
    frames, trials = [], []
    for model, predicted in (("naive", last), ("close", last + 0.002 * rng.normal(size=N)),
                             ("bad", last + 2 * rng.normal(size=N))):
        frames.append(pd.DataFrame({"fold": 0, "date": dates, "step": 1, "actual": actual, "predicted": predicted,
                                    "last_observed": last, "mase_scale": 1.0, "model": model, "seed": "none"}))
        errors = predicted - actual
        trials.append({"model": model, "seed": "none", "kind": "baseline", "stochastic": False,
                       "reference": model == "naive", "status": "FINISHED", "failure_reason": "",
                       "mae": np.abs(errors).mean(), "rmse": np.sqrt((errors**2).mean()), "mase": 1.0,
                       "epochs_run": 0.0, "train_seconds": 0.0})
    results = StoredResults(RunMeta("sim", settings={"horizon": 1}), pd.DataFrame(trials),
                            pd.concat(frames, ignore_index=True))
    table = build_table(results).set_index("model")
    assert table.loc["close", "verdict_class"] == "equivalent"
    assert table.loc["bad", "verdict_class"] == "worse"
    assert table.loc["naive", "verdict_class"] == "reference"
    assert {"p_worse_holm", "p_equivalent_holm", "skill_low", "detectable_skill"} <= set(table.columns)
    assert table.loc["bad", "skill_high"] < 0 < table.loc["close", "skill_high"]


def test_a_reference_with_zero_loss_leaves_every_magnitude_undefined_never_a_crash():
    """A constant series that persistence forecasts exactly: skill relative to a zero loss has no value, so the
    intervals and the detectable skill are NaN, and equivalence within a relative margin of zero is not shown."""
    zero, row = np.zeros(40), np.abs(np.random.default_rng(0).normal(size=40))
    for candidate in (zero, row):
        columns = magnitude.row_magnitudes(candidate, zero, "mae", 0.01, 0.01)
        assert columns["p_equivalent"] == 1.0
        assert all(math.isnan(columns[k]) for k in ("skill_low", "skill_high", "skill_hac_low", "skill_hac_high",
                                                    "detectable_skill", "days_for_one_percent", "block_days"))


def simulated_results(models: dict[str, list[np.ndarray]], rng: np.random.Generator):
    """StoredResults of a holdout with persistence and `models` (name -> one prediction array per seed)."""
    import pandas as pd

    dates = pd.date_range("2022-01-03", periods=N, freq="B").strftime("%Y-%m-%d")
    actual = 100 + np.cumsum(rng.normal(0, 1, N))
    last = np.concatenate([[100.0], actual[:-1]])
    frames, trials = [], []
    for model, runs in {"naive": [last], **{m: [last + p for p in ps] for m, ps in models.items()}}.items():
        for seed, predicted in enumerate(runs):
            seed_text = "none" if model == "naive" else str(seed)
            frames.append(pd.DataFrame({"fold": 0, "date": dates, "step": 1, "actual": actual,
                                        "predicted": predicted, "last_observed": last, "mase_scale": 1.0,
                                        "model": model, "seed": seed_text}))
            errors = predicted - actual
            trials.append({"model": model, "seed": seed_text, "kind": "baseline" if model == "naive" else "network",
                           "stochastic": model != "naive", "reference": model == "naive", "status": "FINISHED",
                           "failure_reason": "", "mae": np.abs(errors).mean(), "rmse": np.sqrt((errors**2).mean()),
                           "mase": 1.0, "epochs_run": 1.0, "train_seconds": 0.0})
    return StoredResults(RunMeta("sim", settings={"horizon": 1}), pd.DataFrame(trials),
                         pd.concat(frames, ignore_index=True))


def test_architectures_within_the_margin_of_each_other_are_called_equivalent_and_far_ones_are_not():
    from benchmark.analysis.comparison import architecture_equivalence

    rng = np.random.default_rng(12)
    common = 0.3 * rng.normal(size=N)
    results = simulated_results({"a": [common + 0.001 * rng.normal(size=N) for _ in range(2)],
                                 "b": [common + 0.001 * rng.normal(size=N) for _ in range(2)],
                                 "c": [common + 1.5 * rng.normal(size=N) for _ in range(2)]}, rng)
    pairs = architecture_equivalence(results).set_index(["a", "b"])
    assert len(pairs) == 3
    assert bool(pairs.loc[("a", "b"), "equivalent"])
    assert not pairs.loc[("a", "c"), "equivalent"] and not pairs.loc[("b", "c"), "equivalent"]
    assert (pairs["p_equivalent_holm"] >= pairs["p_equivalent"]).all()
