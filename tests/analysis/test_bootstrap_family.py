"""The bootstrap family (benchmark.analysis.bootstrap_family): the wrapper gives `arch`'s own answers, survives
the step-down case arch's StepM fails on, and the family's size is measured on a Gaussian walk."""

from __future__ import annotations

import numpy as np
import pytest
from arch.bootstrap import MCS, SPA, StepM

from benchmark.analysis.bootstrap_family import bootstrap_family, family_block, studentized

N = 250


def example(seed: int = 3) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    reference = np.abs(rng.normal(size=N)) + 1.0
    return {"naive": reference, "better": reference - 0.25 + 0.3 * rng.normal(size=N),
            "same": reference + 0.3 * rng.normal(size=N), "worse": reference + 0.4 + 0.3 * rng.normal(size=N)}


def test_the_wrapper_gives_arch_s_own_answers_on_a_fixed_example():
    losses = example()
    family = bootstrap_family(losses, "naive", 0.05, replications=500, seed=11)
    names = ["better", "same", "worse"]
    models = np.column_stack([losses[n] for n in names])
    block = family_block(losses, "naive")
    zero, scaled = studentized(losses["naive"], models)  # what the wrapper hands arch's SPA and StepM
    spa = SPA(zero, scaled, block_size=block, reps=500, seed=11)
    spa.compute()
    stepm = StepM(zero, scaled, size=0.05, block_size=block, reps=500, seed=11)
    stepm.compute()
    mcs = MCS(np.column_stack([losses["naive"], models]), size=0.05, reps=500, block_size=block, method="R", seed=11)
    mcs.compute()
    assert family.block == block
    assert family.spa_p == pytest.approx(float(spa.pvalues["consistent"]))
    assert family.better == tuple(names[i] for i in stepm.superior_models) == ("better",)
    assert family.confidence_set == tuple((["naive", *names])[i] for i in mcs.included) == ("better",)
    assert family.mcs_p["better"] == 1.0 and family.mcs_p["worse"] < 0.05


def test_the_step_down_stops_once_every_row_is_rejected():
    """Two rows better than the reference, one by far, one only once the first is set aside: the step-down
    rejects both (arch 8's StepM.compute re-runs SPA on an empty subset here and fails)."""
    rng = np.random.default_rng(6)
    reference = np.abs(rng.normal(size=N)) + 1.0
    losses = {"naive": reference, "far": reference - 1.0 + 0.3 * rng.normal(size=N),
              "near": reference - 0.01 + 0.3 * rng.normal(size=N)}
    zero, scaled = studentized(reference, np.column_stack([losses["far"], losses["near"]]))
    first = SPA(zero, scaled, block_size=family_block(losses, "naive"), reps=300, seed=5)
    first.compute()
    assert list(first.better_models(0.05)) == [0]  # the first step rejects only the far one
    assert bootstrap_family(losses, "naive", 0.05, replications=300, seed=5).better == ("far", "near")


def test_a_noisy_row_never_hides_a_row_that_wins_every_day():
    """Studentized: a row 0.1 better on every day stands out however noisy another row's differences are (arch's
    raw statistic let a noise row with sd 20 mask it: SPA p = 0.26)."""
    rng = np.random.default_rng(0)
    reference = np.abs(rng.normal(size=N)) + 1
    losses = {"naive": reference, "always": reference - 0.1 + 0.01 * rng.normal(size=N),
              "noise": reference + 20 * rng.normal(size=N)}
    family = bootstrap_family(losses, "naive", 0.05, replications=500)
    assert family.spa_p < 0.01 and family.better == ("always",)


def test_rows_identical_to_the_reference_are_never_rejected():
    reference = np.abs(np.random.default_rng(1).normal(size=N))
    family = bootstrap_family({"naive": reference, "copy": reference.copy()}, "naive", 0.05)
    assert family.spa_p == 1.0 and family.better == () and set(family.confidence_set) == {"naive", "copy"}


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="at least one row"):
        bootstrap_family({"naive": np.ones(N)}, "naive", 0.05)
    with pytest.raises(ValueError, match="finite loss"):
        bootstrap_family({"naive": np.ones(N), "x": np.ones(N - 1)}, "naive", 0.05)


@pytest.mark.slow
def test_the_bootstrap_family_holds_its_size_on_the_gaussian_walk():
    """Persistence on a Gaussian random walk against four forecasters exactly as good (independent errors of the
    same size): every null is true, so SPA and StepM reject at about alpha, and the model confidence set keeps
    persistence at least 1 - alpha of the time."""
    rng = np.random.default_rng(7)
    draws, spa, stepm, dropped = 500, 0, 0, 0
    for _ in range(draws):
        losses = {"naive": np.abs(rng.normal(size=N))} | {f"m{j}": np.abs(rng.normal(size=N)) for j in range(4)}
        family = bootstrap_family(losses, "naive", 0.05, replications=300, seed=int(rng.integers(2**31)))
        spa += family.spa_p < 0.05
        stepm += bool(family.better)
        dropped += "naive" not in family.confidence_set
    assert 0.03 <= spa / draws <= 0.07  # measured: 6.4%
    assert 0.03 <= stepm / draws <= 0.07  # measured: 6.4%
    assert dropped / draws <= 0.07  # measured: 1.4%


def test_rows_identical_to_each_other_share_one_verdict_and_never_break_the_bootstrap():
    """A constant series: persistence and most baselines lose exactly 0 every day, one row does not; two identical
    rows are tested once and share the verdict (arch's MCS divides by their zero variance otherwise)."""
    zero, rng = np.zeros(N), np.random.default_rng(2)
    worse = np.abs(rng.normal(size=N))
    family = bootstrap_family({"naive": zero, "drift": zero.copy(), "theta": worse, "ets": worse.copy()},
                              "naive", 0.05, replications=300)
    assert family.better == ()
    assert set(family.confidence_set) == {"naive", "drift"}
    assert family.mcs_p["drift"] == family.mcs_p["naive"] and family.mcs_p["ets"] == family.mcs_p["theta"]
