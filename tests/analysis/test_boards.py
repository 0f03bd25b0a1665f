"""Two boards of the same models under two implementations: the t tests' error rates measured on simulated seeds
(the truth known), paired against Welch, and which rows the family holds."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from benchmark.analysis.boards import compare_boards, paired, welch
from benchmark.analysis.significance import holm

ALPHA, MARGIN, SEEDS, ROWS, DRAWS = 0.05, 0.01, 5, 4, 2000


def _family(rng: np.random.Generator, shift: float, paired_design: bool, share: float = 0.9):
    """One simulated pair of boards: ROWS networks, SEEDS seeds each, mean metric 0.45 with a seed sd of 0.007
    (the default board's LSTM); the other board's seeds share `share` of their variance with the base's (the same
    seed: the same initial weights) and are shifted by `shift` × the base mean. Holm p-values (differs,
    equivalent)."""
    base = 0.45 + 0.007 * rng.standard_normal((ROWS, SEEDS))
    own = 0.007 * rng.standard_normal((ROWS, SEEDS))
    other = 0.45 * (1 + shift) + math.sqrt(share) * (base - 0.45) + math.sqrt(1 - share) * own
    tests = [paired(a, b) if paired_design else
             welch(a.mean(), a.std(ddof=1), SEEDS, b.mean(), b.std(ddof=1), SEEDS) for a, b in zip(base, other,
                                                                                                  strict=True)]
    bound = [MARGIN * abs(a.mean()) for a in base]
    return (holm([t.p_differs() for t in tests]),
            holm([t.p_equivalent(b) for t, b in zip(tests, bound, strict=True)]))


@pytest.mark.parametrize(("paired_design", "share"), [(True, 0.9), (True, 0.0), (False, 0.0)])
def test_the_family_wise_error_rates_hold_on_simulated_seeds(paired_design, share):
    """No true difference: 'differs' on any row of the family at most α of the time. A true difference at the
    margin's edge: 'equivalent' at most α of the time. Paired with correlated and with independent seeds, Welch
    with independent ones (its assumption); with correlated seeds Welch only grows more cautious. (Monte Carlo:
    2,000 families, 3 standard errors; measured, seed 7: paired at share 0.9 0.0405 and 0.042, at share 0 0.045
    and 0.0055, Welch 0.038 and 0.0005.)"""
    rng = np.random.default_rng(7)
    slack = 3 * math.sqrt(ALPHA * (1 - ALPHA) / DRAWS)
    null = [_family(rng, 0.0, paired_design, share) for _ in range(DRAWS)]
    false_differs = np.mean([np.any(d < ALPHA) for d, _ in null])
    assert false_differs <= ALPHA + slack, false_differs
    # just outside the margin (the bound uses the base's sample mean, so the edge itself is fuzzy by a hair)
    edge = [_family(rng, 1.02 * MARGIN, paired_design, share) for _ in range(DRAWS)]
    false_equivalent = np.mean([np.any(e < ALPHA) for _, e in edge])
    assert false_equivalent <= ALPHA + slack, false_equivalent


def test_pairing_by_seed_is_what_shows_two_near_identical_implementations_equivalent():
    """The measured power: implementations that move each seed's result by a hair (share 0.9999) are shown
    equivalent within 1% nearly always when paired, and rarely by Welch (whose samples keep the seeds' spread)."""
    rng = np.random.default_rng(11)
    shown = {design: np.mean([np.all(_family(rng, 0.0, design, share=0.9999)[1] < ALPHA) for _ in range(500)])
             for design in (True, False)}
    assert shown[True] > 0.99 and shown[False] < 0.2, shown


def _board(hash_: str, rows: list[tuple[str, int, float, float]]) -> pd.DataFrame:
    return pd.DataFrame([{"dataset": "msft", "config_hash": hash_, "model": m, "seeds": n, "mae_mean": mean,
                          "mae_sd": sd} for m, n, mean, sd in rows])


def _trials(hash_: str, values: dict[str, list[float]]) -> pd.DataFrame:
    return pd.DataFrame([{"dataset": "msft", "config_hash": hash_, "model": m, "seed": str(i), "mae": v}
                         for m, vs in values.items() for i, v in enumerate(vs)])


def test_compare_boards_tests_the_seeded_rows_and_shows_the_rest():
    base_seeds = {"lstm": [0.44, 0.45, 0.46], "mlp": [0.45, 0.46, 0.47]}
    other_seeds = {"lstm": [0.44 + 1e-7, 0.45 - 1e-7, 0.46 + 2e-7], "mlp": [0.50, 0.52, 0.51]}
    rows = lambda seeds: [(m, 3, float(np.mean(v)), float(np.std(v, ddof=1))) for m, v in seeds.items()]  # noqa: E731
    base = pd.concat([_board("aaa", rows(base_seeds) + [("lstm (ensemble)", 3, 0.449, math.nan)]),
                      _board("bbb", [("naive", 1, 0.44, math.nan)]), _board("aaa", [("gru", 3, 0.45, 0.01)])])
    other = pd.concat([_board("ccc", rows(other_seeds) + [("lstm (ensemble)", 3, 0.4491, math.nan)]),
                       _board("bbb", [("naive", 1, 0.44, math.nan)])])
    change = compare_boards(base, other, base_trials=_trials("aaa", base_seeds),
                            other_trials=_trials("ccc", other_seeds))
    by = {r.model: r for r in change.rows}
    assert set(by) == {"lstm", "mlp", "lstm (ensemble)"}  # naive: one config hash, the same runs
    assert change.same == ("msft/naive",) and change.only_base == ("msft/gru",) and not change.only_other
    assert by["lstm"].design == "paired" and by["lstm"].verdict == "equivalent"
    assert by["mlp"].verdict == "differs" and by["mlp"].difference == pytest.approx(0.05)
    assert by["mlp"].ci_low < 0.05 < by["mlp"].ci_high
    assert not by["lstm (ensemble)"].tested and by["lstm (ensemble)"].verdict == "not tested"
    # the Holm family is the two seeded rows
    tested = [r for r in change.rows if r.tested]
    assert [r.p_differs_holm for r in tested] == pytest.approx(list(holm([r.p_differs for r in tested])))
    assert [r.p_equivalent_holm for r in tested] == pytest.approx(list(holm([r.p_equivalent for r in tested])))
    # without trial tables (boards from before trials.csv), or with other seeds: Welch on the summaries
    unpaired = compare_boards(base, other)
    assert {r.model: r.design for r in unpaired.rows if r.tested} == {"lstm": "Welch", "mlp": "Welch"}
    reseeded = _trials("ccc", other_seeds).assign(seed=lambda t: t["seed"] + "0")
    assert {r.design for r in compare_boards(base, other, base_trials=_trials("aaa", base_seeds),
                                             other_trials=reseeded).rows if r.tested} == {"Welch"}
    with pytest.raises(ValueError, match="the other board has no column mae_sd"):
        compare_boards(base, other.drop(columns="mae_sd"))
