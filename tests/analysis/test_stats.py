"""Tests for benchmark.analysis.significance: numbers are checked against hand computations, not against the module
itself."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from benchmark.analysis.significance import (
    DMResult,
    binomial_interval,
    diebold_mariano,
    dm_test,
    friedman,
    friedman_from_ranks,
    holm,
    nemenyi_cd,
    pairwise_dm,
    seed_averaged_dm,
    seed_summary,
    skill_score,
    theils_u2,
)

# --------------------------------------------------------------------------------------------- seed_summary

T_0975_DF3 = 3.182446305284  # two-sided 95% Student-t quantile, 3 degrees of freedom (tables: 3.182)


def test_seed_summary_hand_computed() -> None:
    s = seed_summary([1.0, 2.0, 3.0, 4.0])
    # mean = 10/4; sample variance = (2.25 + 0.25 + 0.25 + 2.25) / 3 = 5/3
    sd = 1.2909944487358056
    half = T_0975_DF3 * sd / 2.0  # sd / sqrt(4)
    assert s.n == 4
    assert s.mean == pytest.approx(2.5, abs=1e-15)
    assert s.sd == pytest.approx(sd, rel=1e-14)
    assert half == pytest.approx(2.0542602567605, rel=1e-11)
    assert s.ci_low == pytest.approx(0.4457397432395, rel=1e-10)
    assert s.ci_high == pytest.approx(4.5542602567605, rel=1e-10)
    assert s.ci_low == pytest.approx(2.5 - half, rel=1e-10)
    assert s.ci_high == pytest.approx(2.5 + half, rel=1e-10)


def test_seed_summary_other_level_and_accepts_arrays() -> None:
    s = seed_summary(np.array([1.0, 2.0, 3.0, 4.0]), level=0.90)
    t_095_df3 = 2.353363434802  # one-sided 95% = two-sided 90% quantile, df 3
    half = t_095_df3 * math.sqrt(5.0 / 3.0) / 2.0
    assert s.ci_low == pytest.approx(2.5 - half, rel=1e-10)
    assert s.ci_high == pytest.approx(2.5 + half, rel=1e-10)
    assert seed_summary([1.0, 2.0, 3.0, 4.0], level=0.99).ci_high > seed_summary([1, 2, 3, 4]).ci_high


def test_seed_summary_single_value() -> None:
    s = seed_summary([0.7])
    assert s.n == 1
    assert s.mean == 0.7
    assert math.isnan(s.sd) and math.isnan(s.ci_low) and math.isnan(s.ci_high)


def test_seed_summary_constant_values_zero_width() -> None:
    s = seed_summary([2.0, 2.0, 2.0])
    assert s.sd == 0.0
    assert s.ci_low == s.ci_high == 2.0


@pytest.mark.parametrize("bad", [[1.0, float("nan"), 3.0], [float("nan")], [1.0, float("inf")], []])
def test_seed_summary_rejects_nan_and_empty(bad: list[float]) -> None:
    with pytest.raises(ValueError):
        seed_summary(bad)


@pytest.mark.parametrize("level", [0.0, 1.0, 95.0, -0.5])
def test_seed_summary_rejects_bad_level(level: float) -> None:
    with pytest.raises(ValueError):
        seed_summary([1.0, 2.0], level=level)


def test_summary_is_frozen() -> None:
    s = seed_summary([1.0, 2.0])
    with pytest.raises(AttributeError):
        s.mean = 3.0  # type: ignore[misc]


# ------------------------------------------------------------------------------------------ Diebold-Mariano

# A small fixed example with integer errors, so the loss differentials are exact integers.
E_A = [1.0, -2.0, 0.0, 3.0, -1.0, 2.0, -1.0, 1.0]
E_B = [2.0, -3.0, 1.0, 2.0, -2.0, 3.0, -2.0, 1.0]


def _hand_dm(e_a: list[float], e_b: list[float], loss: str, h: int) -> tuple[float, float, float]:
    """Independent step-by-step DM/HLN computation in exact rational arithmetic: (DM*, dbar, lrv)."""
    n = len(e_a)
    d = []
    for t in range(n):
        a, b = Fraction(e_a[t]), Fraction(e_b[t])
        d.append(a * a - b * b if loss == "squared" else abs(a) - abs(b))
    dbar = sum(d, Fraction(0)) / n
    gammas = []
    for k in range(h):
        acc = Fraction(0)
        for t in range(k, n):  # t = k+1..n in 1-based indexing
            acc += (d[t] - dbar) * (d[t - k] - dbar)
        gammas.append(acc / n)
    lrv = gammas[0]
    for k in range(1, h):
        lrv += 2 * gammas[k]
    if lrv <= 0:
        lrv = gammas[0]
    dm = float(dbar) / math.sqrt(float(lrv) / n)
    hln_sq = (n + 1 - 2 * h + Fraction(h * (h - 1), n)) / n
    return dm * math.sqrt(float(hln_sq)), float(dbar), float(lrv)


def test_hand_example_literal_values_h1() -> None:
    # d = e_a^2 - e_b^2 = [-3, -5, -1, 5, -3, -5, -3, 0]; sum = -15 -> dbar = -15/8
    # sum (d - dbar)^2 = sum d^2 - n dbar^2 = 103 - 8 * (15/8)^2 = 599/8 -> gamma_0 = 599/64
    # DM = (-15/8) / sqrt(599/64 / 8); HLN factor for h=1 is sqrt((8 + 1 - 2) / 8) = sqrt(7/8); df = 7
    stat, dbar, lrv = _hand_dm(E_A, E_B, "squared", 1)
    assert dbar == -15 / 8 and lrv == 599 / 64
    expected = (-15 / 8) / math.sqrt(599 / 512) * math.sqrt(7 / 8)
    assert stat == pytest.approx(expected, rel=1e-14)
    assert stat == pytest.approx(-1.6215370, rel=1e-6)
    res = diebold_mariano(E_A, E_B, loss="squared", horizon=1, alternative="less")
    assert res.statistic == pytest.approx(expected, rel=1e-12)
    assert res.pvalue == pytest.approx(sps.t.cdf(expected, 7), rel=1e-12)
    assert res.pvalue == pytest.approx(0.07448, abs=1e-4)  # t_7 table: between 0.05 and 0.10
    assert res.mean_loss_diff == pytest.approx(-1.875, rel=1e-15)
    assert (res.n, res.loss, res.alternative) == (8, "squared", "less")


@pytest.mark.parametrize("loss", ["squared", "absolute"])
@pytest.mark.parametrize("h", [1, 2, 3])
@pytest.mark.parametrize("alternative", ["less", "greater", "two-sided"])
def test_dm_matches_hand_computation(loss: str, h: int, alternative: str) -> None:
    stat, dbar, lrv = _hand_dm(E_A, E_B, loss, h)
    n = len(E_A)
    cdf, sf = sps.t.cdf(stat, n - 1), sps.t.sf(stat, n - 1)
    p = {"less": cdf, "greater": sf, "two-sided": min(1.0, 2 * min(cdf, sf))}[alternative]
    res = diebold_mariano(np.array(E_A), np.array(E_B), loss=loss, horizon=h, alternative=alternative)
    assert isinstance(res, DMResult)
    assert res.statistic == pytest.approx(stat, rel=1e-12)
    assert res.pvalue == pytest.approx(p, rel=1e-10)
    assert res.mean_loss_diff == pytest.approx(dbar, rel=1e-14)


def test_hand_example_h2_uses_autocovariance() -> None:
    # The h=2 variance must really include 2*gamma_1 (no fallback) for this example:
    # gamma_1 = (1/8) sum_{t=2}^{8} (d_t - dbar)(d_{t-1} - dbar) = 255/512 > 0, so lrv = 599/64 + 255/256.
    _, _, lrv1 = _hand_dm(E_A, E_B, "squared", 1)
    _, _, lrv2 = _hand_dm(E_A, E_B, "squared", 2)
    assert lrv1 == 599 / 64 and lrv2 == 599 / 64 + 255 / 256
    r1 = diebold_mariano(E_A, E_B, horizon=1)
    r2 = diebold_mariano(E_A, E_B, horizon=2)
    hln1, hln2 = math.sqrt(7 / 8), math.sqrt((8 + 1 - 4 + 2 / 8) / 8)
    assert r2.statistic / hln2 == pytest.approx(r1.statistic / hln1 * math.sqrt(lrv1 / lrv2), rel=1e-12)


def test_dm_negative_long_run_variance_falls_back_to_gamma0() -> None:
    # Alternating loss differential: gamma_1 is strongly negative, so gamma_0 + 2*gamma_1 < 0.
    e_b = np.ones(10)
    e_a = np.array([0.0, 2.0] * 5)  # d = e_a^2 - 1 = [-1, 3, -1, 3, ...], dbar = 1
    d = e_a**2 - e_b**2
    gamma0 = float(np.mean((d - d.mean()) ** 2))
    gamma1 = float(np.sum((d[1:] - d.mean()) * (d[:-1] - d.mean()))) / 10
    assert gamma0 + 2 * gamma1 < 0
    n, h = 10, 2
    expected = 1.0 / math.sqrt(gamma0 / n) * math.sqrt((n + 1 - 2 * h + h * (h - 1) / n) / n)
    res = diebold_mariano(e_a, e_b, horizon=h, alternative="greater")
    assert res.statistic == pytest.approx(expected, rel=1e-12)
    assert res.pvalue == pytest.approx(sps.t.sf(expected, n - 1), rel=1e-10)


def test_dm_h1_equals_one_sample_t_test_on_loss_differential() -> None:
    # With h=1 the HLN-corrected DM statistic equals the one-sample t statistic of d (independent check).
    rng = np.random.default_rng(7)
    a, b = rng.normal(0, 0.9, 60), rng.normal(0, 1.0, 60)
    for loss, d in (("squared", a**2 - b**2), ("absolute", np.abs(a) - np.abs(b))):
        for alt in ("less", "greater", "two-sided"):
            ref = sps.ttest_1samp(d, 0.0, alternative=alt)
            res = diebold_mariano(a, b, loss=loss, alternative=alt)
            assert res.statistic == pytest.approx(ref.statistic, rel=1e-10)
            assert res.pvalue == pytest.approx(ref.pvalue, rel=1e-9)


@pytest.mark.parametrize("alternative", ["two-sided", "less"])
def test_dm_size_under_null(alternative: str) -> None:
    rng = np.random.default_rng(12345)
    reps, n = 200, 250
    pvals = np.empty(reps)
    for i in range(reps):
        a, b = rng.normal(0.0, 1.0, n), rng.normal(0.0, 1.0, n)
        pvals[i] = diebold_mariano(a, b, alternative=alternative).pvalue
    rate = float(np.mean(pvals < 0.05))
    assert 0.01 < rate < 0.10  # nominal 5%; lower bound guards against a test that never rejects
    assert 0.35 < float(np.mean(pvals)) < 0.65  # p-values roughly uniform under H0


@pytest.mark.parametrize("loss", ["squared", "absolute"])
def test_dm_detects_clearly_better_model(loss: str) -> None:
    rng = np.random.default_rng(2024)
    model, naive = rng.normal(0.0, 0.5, 250), rng.normal(0.0, 1.0, 250)
    res = diebold_mariano(model, naive, loss=loss, alternative="less")
    assert res.pvalue < 0.01
    assert res.statistic < 0 and res.mean_loss_diff < 0
    # ... also with a multi-step horizon and serially correlated errors
    shock_m, shock_n = rng.normal(0.0, 0.5, 251), rng.normal(0.0, 1.0, 251)
    ma_model, ma_naive = shock_m[1:] + 0.6 * shock_m[:-1], shock_n[1:] + 0.6 * shock_n[:-1]
    assert diebold_mariano(ma_model, ma_naive, loss=loss, horizon=2).pvalue < 0.01


def test_dm_direction_and_symmetry() -> None:
    rng = np.random.default_rng(3)
    good, bad = rng.normal(0.0, 0.6, 150), rng.normal(0.0, 1.0, 150)
    assert diebold_mariano(good, bad, alternative="less").pvalue < 0.01
    assert diebold_mariano(bad, good, alternative="less").pvalue > 0.99
    assert diebold_mariano(bad, good, alternative="greater").pvalue < 0.01
    ab = diebold_mariano(good, bad, alternative="two-sided")
    ba = diebold_mariano(bad, good, alternative="two-sided")
    assert ab.statistic == pytest.approx(-ba.statistic, rel=1e-12)
    assert ab.pvalue == pytest.approx(ba.pvalue, rel=1e-9)
    less = diebold_mariano(good, bad, alternative="less").pvalue
    greater = diebold_mariano(good, bad, alternative="greater").pvalue
    assert less + greater == pytest.approx(1.0, abs=1e-12)
    assert ab.pvalue == pytest.approx(2 * min(less, greater), rel=1e-9)


@pytest.mark.parametrize("alternative", ["less", "greater", "two-sided"])
def test_dm_identical_errors_no_evidence(alternative: str) -> None:
    e = np.array([0.3, -1.2, 0.5, 2.0, -0.1])
    res = diebold_mariano(e, e.copy(), alternative=alternative)
    assert math.isnan(res.statistic)
    assert res.pvalue == 1.0
    assert res.mean_loss_diff == 0.0
    # |e| and -e have equal losses too
    assert diebold_mariano(e, -e, loss="absolute", alternative=alternative).pvalue == 1.0


def test_dm_constant_nonzero_differential() -> None:
    b = np.array([1.0, -1.0, 1.0, 1.0, -1.0])
    a = 0.5 * b  # squared-loss differential is exactly -0.75 every step
    res = diebold_mariano(a, b, alternative="less")
    assert res.statistic == -math.inf and res.pvalue == 0.0
    assert diebold_mariano(a, b, alternative="greater").pvalue == 1.0


@pytest.mark.parametrize(
    ("a", "b", "kwargs"),
    [
        ([1.0, 2.0, 3.0], [1.0, 2.0], {}),  # lengths differ
        ([1.0, 2.0], [2.0, 1.0], {}),  # n < 3
        ([1.0, float("nan"), 3.0], [1.0, 2.0, 3.0], {}),
        ([1.0, 2.0, 3.0], [1.0, 2.0, float("nan")], {}),
        ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], {"loss": "huber"}),
        ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], {"alternative": "two_sided"}),
        ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], {"horizon": 0}),
        ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], {"horizon": 3}),
        ([1.0, 2.0, 3.0], [3.0, 2.0, 1.0], {"horizon": 1.5}),
        ([[1.0, 2.0, 3.0]], [[3.0, 2.0, 1.0]], {}),  # not 1-D
    ],
)
def test_dm_rejects_bad_input(a: list, b: list, kwargs: dict) -> None:
    with pytest.raises(ValueError):
        diebold_mariano(a, b, **kwargs)


# ---------------------------------------------------------------------------------------------- pairwise_dm


def test_pairwise_dm_symmetric_with_nan_diagonal() -> None:
    rng = np.random.default_rng(11)
    errors = {
        "naive": rng.normal(0, 1.0, 120),
        "lstm": rng.normal(0, 0.7, 120),
        "gru": rng.normal(0, 0.72, 120),
        "mlp": rng.normal(0, 0.9, 120),
    }
    m = pairwise_dm(errors)
    assert isinstance(m, pd.DataFrame)
    assert list(m.index) == list(m.columns) == ["naive", "lstm", "gru", "mlp"]
    vals = m.to_numpy()
    assert np.all(np.isnan(np.diag(vals)))
    off = ~np.eye(4, dtype=bool)
    assert np.all((vals[off] >= 0) & (vals[off] <= 1))
    np.testing.assert_array_equal(vals, vals.T)
    expected = diebold_mariano(errors["lstm"], errors["naive"], alternative="two-sided").pvalue
    assert m.loc["lstm", "naive"] == pytest.approx(expected, rel=1e-9)
    assert m.loc["lstm", "naive"] < 0.01
    absolute = pairwise_dm(errors, loss="absolute", horizon=2)
    expected_abs = diebold_mariano(
        errors["mlp"], errors["gru"], loss="absolute", horizon=2, alternative="two-sided"
    ).pvalue
    assert absolute.loc["gru", "mlp"] == pytest.approx(expected_abs, rel=1e-9)


# --------------------------------------------------------------------------------- Theil's U2 / skill score


def test_theils_u2() -> None:
    actual = np.array([1.0, 2.0, 3.0, 2.0, 4.0])
    naive = np.array([0.0, 1.0, 2.0, 3.0, 2.0])  # persistence: previous actual
    assert theils_u2(actual, naive, naive) == 1.0
    better = actual + np.array([0.1, -0.1, 0.2, 0.0, -0.3])
    # sqrt(0.01 + 0.01 + 0.04 + 0 + 0.09) / sqrt(1 + 1 + 1 + 1 + 4)
    assert theils_u2(actual, better, naive) == pytest.approx(math.sqrt(0.15) / math.sqrt(8.0), rel=1e-12)
    assert theils_u2(actual, better, naive) < 1.0
    worse = actual + 3.0
    assert theils_u2(actual, worse, naive) == pytest.approx(math.sqrt(45.0 / 8.0), rel=1e-12)
    assert theils_u2(actual, actual, naive) == 0.0


def test_theils_u2_degenerate_and_bad_input() -> None:
    actual = np.array([1.0, 1.0, 1.0])
    assert theils_u2(actual, actual + 1, actual) == math.inf
    assert math.isnan(theils_u2(actual, actual, actual))
    with pytest.raises(ValueError):
        theils_u2(actual, actual[:2], actual)
    with pytest.raises(ValueError):
        theils_u2(actual, np.array([1.0, np.nan, 1.0]), actual)


def test_skill_score() -> None:
    assert skill_score(0.5, 2.0) == pytest.approx(0.75)
    assert skill_score(2.0, 2.0) == 0.0
    assert skill_score(3.0, 2.0) == pytest.approx(-0.5)
    assert skill_score(0.0, 0.0) != skill_score(0.0, 0.0)  # nan
    assert skill_score(1.0, 0.0) == -math.inf
    with pytest.raises(ValueError):
        skill_score(float("nan"), 1.0)
    # consistent with Theil's U2: skill on RMSE = 1 - U2
    actual = np.array([1.0, 2.0, 3.0, 2.0, 4.0])
    naive, pred = np.array([0.0, 1.0, 2.0, 3.0, 2.0]), actual + 0.25
    rmse = lambda f: math.sqrt(float(np.mean((f - actual) ** 2)))  # noqa: E731
    u2 = theils_u2(actual, pred, naive)
    assert skill_score(rmse(pred), rmse(naive)) == pytest.approx(1 - u2, rel=1e-12)


# ------------------------------------------------------------------------------ the verdict engine's tests


def test_seed_averaged_dm_equals_a_one_sample_t_test_on_the_averaged_differential() -> None:
    """At h = 1 the DM/HLN statistic is the one-sample t statistic of d_t (independent computation: scipy)."""
    rng = np.random.default_rng(7)
    reference = rng.normal(0, 1, 120)
    seeds = rng.normal(0, 0.9, (3, 120))
    result = seed_averaged_dm(seeds, reference, "absolute")
    d = np.abs(seeds).mean(axis=0) - np.abs(reference)
    expected = sps.ttest_1samp(d, 0.0, alternative="less")
    assert result.statistic == pytest.approx(expected.statistic, rel=1e-12)
    assert result.pvalue == pytest.approx(expected.pvalue, rel=1e-10)
    one = seed_averaged_dm(seeds[0], reference, "squared")
    assert one.pvalue == pytest.approx(diebold_mariano(seeds[0], reference, "squared").pvalue, rel=1e-12)


def test_seed_averaged_dm_keeps_its_size_on_equal_skill_losses() -> None:
    """2,000 draws of 5 correlated seeds whose expected loss equals the reference's: rejections near 5%."""
    rng = np.random.default_rng(2026)
    draws, n, rejections = 2000, 250, 0
    for _ in range(draws):
        common = rng.normal(0, np.sqrt(0.6), n)  # what every seed shares (same data, same architecture)
        seeds = common + rng.normal(0, np.sqrt(0.4), (5, n))  # unit variance, like the reference
        reference = rng.normal(0, 1, n)
        rejections += seed_averaged_dm(seeds, reference, "absolute").pvalue < 0.05
    assert 0.03 <= rejections / draws <= 0.07, rejections / draws


def test_holm_against_hand_computed_values() -> None:
    # sorted 0.005, 0.01, 0.03, 0.04 -> 4 x 0.005 = 0.02, 3 x 0.01 = 0.03, 2 x 0.03 = 0.06, max(0.06, 0.04) = 0.06
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([0.2]) == pytest.approx([0.2])
    # the committed default leaderboard's best raw p, one of 8 rows: Holm turns 0.033 into at least 8 x 0.033
    assert holm([0.033, *[0.5] * 7])[0] == pytest.approx(0.264)


def test_friedman_and_nemenyi_match_demsar_2006() -> None:
    """Demšar (2006), JMLR 7:1-30, section 3.2.4: four C4.5 variants on 14 data sets, mean ranks 3.143, 2.000,
    2.893, 1.964 -> chi2_F = 9.28, F_F = 3.69, Nemenyi CD = 1.25 at alpha = 0.05 (q_0.05 = 2.569)."""
    result = friedman_from_ranks({"C4.5": 3.143, "C4.5+m": 2.000, "C4.5+cf": 2.893, "C4.5+m+cf": 1.964}, 14)
    assert result.chi2 == pytest.approx(9.28, abs=0.01)
    assert result.f_statistic == pytest.approx(3.69, abs=0.01)
    assert result.critical_difference == pytest.approx(1.25, abs=0.01)
    assert nemenyi_cd(4, 14) / np.sqrt(4 * 5 / (6 * 14)) == pytest.approx(2.569, abs=0.001)
    assert result.pvalue < 0.05  # F(3, 39) critical value 2.85 < 3.69


def test_friedman_from_a_score_table_ranks_each_block() -> None:
    scores = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [2.0, 1.0, 4.0], "c": [3.0, 3.0, 1.0]})
    result = friedman(scores)
    assert result.mean_ranks == pytest.approx({"a": 5 / 3, "b": 2.0, "c": 7 / 3})
    assert (result.n, result.k) == (3, 3)


def test_binomial_interval_is_exact() -> None:
    low, high = binomial_interval(0, 20)
    assert low == 0.0 and high == pytest.approx(1 - 0.025 ** (1 / 20))
    low, high = binomial_interval(10, 200)
    assert low < 0.05 < high


def test_per_step_tests_with_h_1_hold_their_size_where_h_step_does_not():
    """Origins H apart give independent step-k differences: the one-sided test with h = 1 rejects 3-7% of the
    time at n = 50, while h = 5 adds estimated autocovariances of independent data and over-rejects."""
    rng = np.random.default_rng(24)
    draws = 4000
    d = rng.normal(size=(draws, 50))
    one = np.mean([dm_test(row, 1).pvalue < 0.05 for row in d])
    five = np.mean([dm_test(row, 5).pvalue < 0.05 for row in d])
    assert 0.03 <= one <= 0.07
    assert five > one
