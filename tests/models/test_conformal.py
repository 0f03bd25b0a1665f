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


def test_pinball_loss_and_the_sorted_quantile_head():
    import keras

    from benchmark.models import optimization

    loss = optimization.pinball((0.1, 0.9))
    y = np.array([[10.0], [13.0]], dtype="float32")
    q = np.array([[[8.0, 12.0]], [[8.0, 12.0]]], dtype="float32")  # per point: (0.2 + 0.2) / 2 and (0.5 + 0.9) / 2
    np.testing.assert_allclose(keras.ops.convert_to_numpy(loss(y, q)), [0.2, 0.7], rtol=1e-6)
    inner = keras.Sequential([keras.Input((4, 1)), keras.layers.Flatten(), keras.layers.Dense(6)])
    head = optimization.quantile_head(inner, 2, (0.1, 0.5, 0.9))
    out = head.predict(np.random.default_rng(0).normal(size=(50, 4, 1)).astype("float32"), verbose=0)
    assert out.shape == (50, 2, 3) and np.all(np.diff(out, axis=2) >= 0)  # sorted: quantiles never cross


def test_a_pinball_network_forecasts_its_median_and_sorted_quantiles(tiny_csv):
    from benchmark.data.series import load_csv
    from benchmark.models import training

    config = experiment.resolve("default", lookback=20, val_size=40, test_size=40, horizon=2, epochs=2,
                                quantiles="0.1,0.5,0.9", intervals="pinball")
    prepared = prepare(load_csv(tiny_csv), 20, 2, 40, 40, "window")
    fit = training.fit_model(registry.get("mlp"), registry.get("mlp").defaults, prepared, config, 0)
    assert fit.test_quantiles.shape == (20, 2, 3) and np.all(np.diff(fit.test_quantiles, axis=2) >= 0)
    np.testing.assert_allclose(fit.test_scaled, fit.test_quantiles[:, :, 1], rtol=1e-6)  # the median is the point
    point = experiment.resolve("default", lookback=20, val_size=40, test_size=40, horizon=2, epochs=2)
    assert training._compiled_key(registry.get("mlp"), {}, prepared, config) != \
        training._compiled_key(registry.get("mlp"), {}, prepared, point)  # never a stale compiled loss
    assert config.config_hash != experiment.resolve("default", lookback=20, val_size=40, test_size=40, horizon=2,
                                                    epochs=2, quantiles="0.1,0.5,0.9").config_hash


@pytest.mark.parametrize("settings, message", [
    ({"quantiles": "0.1,0.9", "intervals": "pinball"}, "needs the level 0.5"),
    ({"quantiles": "0.1,0.5,0.9", "intervals": "pinball", "horizon": 5, "strategy": "recursive"},
     "needs --strategy direct"),
])
def test_pinball_intervals_refuse_what_they_cannot_do(settings, message):
    from benchmark.errors import BenchmarkError

    with pytest.raises(BenchmarkError, match=message):
        experiment.resolve("default", **settings)
