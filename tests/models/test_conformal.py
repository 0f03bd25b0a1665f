"""Conformal quantiles: the finite-sample rank rule, coverage on exchangeable errors, adaptation to a shift, and no
look-ahead (a split interval never sees a test value; an adaptive one only those observed before its origin)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.config import experiment
from benchmark.evaluation.forecasts import quantile_column
from benchmark.evaluation.trial import evaluate
from benchmark.models import conformal, registry
from benchmark.pipeline.windows import prepare

LEVELS = (0.05, 0.5, 0.95)


def test_split_takes_the_finite_sample_order_statistics():
    errors = np.arange(1.0, 20.0)[:, None]  # 19 errors 1..19: (n + 1) * 0.05 = 1 -> the smallest; 0.95 -> 19th
    out = conformal.split(errors, np.zeros((2, 1)), LEVELS)
    np.testing.assert_allclose(out[0, 0], [1.0, 10.0, 19.0])
    assert conformal.smallest_level(19) == pytest.approx(0.05)
    assert conformal.reachable((0.05, 0.95), 19) and not conformal.reachable((0.04, 0.96), 19)


def test_split_intervals_cover_their_nominal_share_on_exchangeable_errors():
    rng = np.random.default_rng(1)
    covered = []
    for _ in range(400):
        errors, fresh = rng.standard_t(4, size=(60, 1)), rng.standard_t(4, size=(60, 1))
        q = conformal.split(errors, np.zeros((60, 1)), (0.1, 0.9))
        covered.append(np.mean((fresh >= q[:, :, 0]) & (fresh <= q[:, :, 1])))
    # E[coverage] = (ceil(61 * .9) - floor(61 * .1)) / 61 = 49 / 61 = 0.803; 400 x 60 draws: se ~ 0.003
    assert np.mean(covered) == pytest.approx(49 / 61, abs=0.01)


def test_adaptive_recovers_coverage_after_a_volatility_shift_where_split_does_not():
    rng = np.random.default_rng(2)
    errors = rng.normal(size=(250, 1))
    actual = 2.5 * rng.normal(size=(2000, 1))  # the test period is 2.5 times as volatile
    point = np.zeros_like(actual)
    inside = {}
    for method in conformal.METHODS:
        q = conformal.conformal(method, errors, point, actual, (0.05, 0.95))
        inside[method] = np.mean((actual >= q[:, :, 0]) & (actual <= q[:, :, 1]))
    assert inside["split"] < 0.6 and inside["adaptive"] == pytest.approx(0.9, abs=0.03)


def test_an_adaptive_interval_uses_only_values_observed_before_its_origin():
    rng = np.random.default_rng(3)
    errors, point = rng.normal(size=(50, 2)), rng.normal(size=(30, 2))
    actual = point + rng.normal(size=(30, 2))
    before = conformal.adaptive(errors, point, actual, LEVELS)
    changed = actual.copy()
    changed[10:] += 100.0
    after = conformal.adaptive(errors, point, changed, LEVELS)
    np.testing.assert_array_equal(before[:11], after[:11])  # window 10's own value is not seen by its interval
    assert not np.allclose(before[11:], after[11:])
    np.testing.assert_array_equal(conformal.split(errors, point, LEVELS), conformal.split(errors, point, LEVELS))


@pytest.mark.parametrize("method", conformal.METHODS)
def test_changing_test_actuals_changes_no_interval_made_before_them(tiny_csv, method):
    from benchmark.data.series import load_csv

    series = load_csv(tiny_csv)
    config = experiment.resolve("default", lookback=20, val_size=40, test_size=40, quantiles="0.05,0.5,0.95",
                                intervals=method)
    prepared = prepare(series, 20, 1, 40, 40, "window")
    values = series.values.copy()
    values[-10:] *= 1.5  # the last ten test targets
    moved = prepare(series.__class__(**{**series.__dict__, "values": values}), 20, 1, 40, 40, "window")
    columns = [quantile_column(q) for q in LEVELS]
    first = evaluate(registry.get("linear"), {}, [prepared], config, None).predictions[columns].to_numpy()
    second = evaluate(registry.get("linear"), {}, [moved], config, None).predictions[columns].to_numpy()
    # Origins up to the first changed target (its inputs are older) keep every interval, under both methods; later
    # origins' inputs moved too.
    np.testing.assert_allclose(first[:31], second[:31], rtol=1e-12)
    assert np.all(np.diff(first, axis=1) >= 0)
