"""The one pipeline: alignment, leakage, per-window scaling, and every test point scored exactly once."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark.data.series import Series
from benchmark.errors import BenchmarkError
from benchmark.pipeline.windows import fit_scaler, make_windows, prepare, split_bounds, window_origins


def series(values) -> Series:
    return Series.from_array("test", np.asarray(values, dtype=float), source="test")


def test_target_is_the_value_right_after_the_window():
    values = np.arange(100, dtype=float)
    origins = window_origins(0, 100, lookback=60, horizon=1)
    x, y = make_windows(values, origins, 60, 1)
    assert origins[0] == 60
    np.testing.assert_array_equal(x[0], np.arange(60))
    np.testing.assert_array_equal(y[:, 0], x[:, -1] + 1)  # target of window i is the value after its last input
    np.testing.assert_array_equal(y[:, 0], origins)


def test_multi_step_targets_follow_the_window():
    values = np.arange(50, dtype=float)
    x, y = make_windows(values, window_origins(0, 50, lookback=10, horizon=3), 10, 3)
    np.testing.assert_array_equal(y, x[:, -1:] + np.arange(1, 4))


@pytest.mark.parametrize("scaler", ["minmax", "standard"])
def test_scaler_never_sees_validation_or_test_values(scaler):
    base = np.sin(np.arange(400) / 7.0) + 10
    spiked = base.copy()
    spiked[-30:] = 1e6  # a huge outlier in the test part
    spiked[-80:-60] = -1e6  # and one in the validation part
    a = prepare(series(base), 20, 1, 40, 40, scaler)
    b = prepare(series(spiked), 20, 1, 40, 40, scaler)
    assert (a.scaler.loc, a.scaler.scale) == (b.scaler.loc, b.scaler.scale)
    np.testing.assert_array_equal(a.train.inputs, b.train.inputs)
    np.testing.assert_array_equal(a.train.targets, b.train.targets)


def test_training_targets_never_cross_into_validation_or_test():
    p = prepare(series(np.arange(300.0)), 20, 3, 30, 30, "minmax")
    assert p.train.origins.max() + 3 <= p.bounds.val_start
    assert p.val.origins.min() >= p.bounds.val_start
    assert p.val.origins.max() + 3 <= p.bounds.test_start
    assert p.test.origins.min() == p.bounds.test_start


def test_window_scaling_inverts_exactly():
    rng = np.random.default_rng(0)
    values = 100 + np.cumsum(rng.normal(size=500))
    p = prepare(series(values), 30, 2, 40, 40, "window")
    for part in (p.train, p.val, p.test):
        np.testing.assert_allclose(part.inverse(part.targets), part.y, rtol=1e-12, atol=0)
        np.testing.assert_allclose(part.inverse(part.inputs[..., 0]), part.x, rtol=1e-12, atol=0)


def test_window_statistics_depend_only_on_the_window():
    rng = np.random.default_rng(1)
    values = 100 + np.cumsum(rng.normal(size=300))
    p = prepare(series(values), 25, 1, 50, 0, "window")
    for i in (0, 17, len(p.test) - 1):  # for several test windows:
        origin = p.test.origins[i]
        outside = np.ones(len(values), dtype=bool)
        outside[origin - 25: origin] = False
        changed = values.copy()
        changed[outside] = rng.normal(1e4, 1e3, outside.sum())  # every value outside the window, target too
        q = prepare(series(changed), 25, 1, 50, 0, "window")
        assert q.test.loc[i, 0] == p.test.loc[i, 0] and q.test.scale[i, 0] == p.test.scale[i, 0]
        np.testing.assert_array_equal(q.test.inputs[i], p.test.inputs[i])


def test_flat_windows_do_not_explode():
    values = np.r_[np.full(100, 5.0), np.linspace(5, 6, 100)]
    p = prepare(series(values), 20, 1, 20, 20, "window")
    assert np.all(np.isfinite(p.train.inputs)) and np.abs(p.train.targets).max() < 1e3


@settings(max_examples=200, deadline=None)
@given(length=st.integers(30, 400), lookback=st.integers(1, 40), horizon=st.integers(1, 7),
       test_blocks=st.integers(1, 10), val_size=st.integers(0, 30))
def test_every_test_point_is_scored_exactly_once(length, lookback, horizon, test_blocks, val_size):
    test_size = horizon * test_blocks
    values = np.arange(length, dtype=float)
    try:
        p = prepare(series(values), lookback, horizon, test_size, val_size, "minmax")
    except BenchmarkError:
        assert length < lookback + horizon + val_size + test_size + horizon or val_size and val_size < horizon
        return
    scored = p.test.y.reshape(-1)  # on arange data a value is its own index
    np.testing.assert_array_equal(np.sort(scored), np.arange(length - test_size, length))
    assert len(p.train) > 0


@pytest.mark.parametrize(("length", "test_size", "val_size"), [(100, 50, 0), (115, 40, 20)])
def test_too_short_series_is_a_clear_error(length, test_size, val_size):
    with pytest.raises(BenchmarkError, match="series too short"):
        prepare(series(np.arange(length, dtype=float)), 60, 1, test_size, val_size, "minmax")


def test_test_size_must_be_a_multiple_of_the_horizon():
    with pytest.raises(BenchmarkError, match="multiple of the horizon"):
        split_bounds(500, 60, 7, 60, 0)


def test_unknown_scaler():
    with pytest.raises(BenchmarkError, match="unknown scaler"):
        fit_scaler("robust", np.arange(10.0))


def test_minmax_is_fitted_on_train_range():
    s = fit_scaler("minmax", np.array([2.0, 4.0, 6.0]))
    assert (s.loc, s.scale) == (2.0, 4.0)


def test_mase_scale_comes_from_the_recent_training_stretch_so_persistence_scores_about_one():
    """A price that grows 100x (like msft 1986-2017): the whole-history scale would make persistence look twice
    as bad as itself; the last test-size steps before the test period have about its level."""
    from benchmark.evaluation.metrics import mase

    rng = np.random.default_rng(3)
    n = 8000  # about msft's length
    log_price = np.log(0.5) + np.linspace(0, np.log(100), n) + np.cumsum(rng.normal(0, 0.01, n))
    values = np.exp(log_price)
    prepared = prepare(Series.from_array("trend", values, source="test"), 60, 1, 250, 250, "window")
    persistence = prepared.test.x[:, -1:]
    score = mase(prepared.test.y, persistence, prepared.naive_mae_in_sample)
    assert 0.7 <= score <= 1.4, score
    whole_history = float(np.mean(np.abs(np.diff(values[: prepared.bounds.val_start]))))
    assert mase(prepared.test.y, persistence, whole_history) > 1.7  # what the textbook scale says
