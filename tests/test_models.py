"""Every registered model: five lines each through the shared checker, plus the registry's contract."""

import numpy as np
import pytest

from benchmark import registry
from benchmark.errors import BenchmarkError
from tests.model_checker import check_model


@pytest.mark.parametrize("name", registry.registry())
def test_every_model_builds_trains_and_predicts(name):
    check_model(name)


@pytest.mark.parametrize("name", ["lstm", "linear", "drift"])
def test_multi_step_horizon(name):
    check_model(name, horizon=3)


def test_the_four_classic_architectures_and_three_baselines_are_registered():
    assert set(registry.neural_names()) == {"mlp", "rnn", "lstm", "gru"}
    assert set(registry.baseline_names()) == {"naive", "drift", "linear"}


def test_classic_lstm_shape():
    import keras

    model = registry.get("lstm").build((60, 1), 1, **registry.get("lstm").defaults)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["LSTM", "Dropout", "LSTM", "Dropout", "Dense"]
    assert [model.layers[1].units, model.layers[3].units] == [50, 100]
    assert model.layers[1].return_sequences and not model.layers[3].return_sequences
    assert isinstance(model, keras.Model) and model.output_shape == (None, 1)


def test_naive_predicts_the_last_value():
    scaled = check_model("naive", horizon=2)
    np.testing.assert_array_equal(scaled, np.zeros_like(scaled))  # window scaling centres on the last value


def test_selecting_models_always_adds_the_baselines():
    assert registry.select("lstm,gru") == ("lstm", "gru", "drift", "linear", "naive")
    assert set(registry.select("all")) == set(registry.registry())


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(BenchmarkError, match=r"unknown model 'transformer' \(known: .*lstm"):
        registry.select("lstm,transformer")


def test_identically_seeded_builds_match_while_other_threads_draw_from_random():
    """Dask workers and MLflow draw from Python's global `random` in other threads; builds must not care."""
    import random
    import threading

    from benchmark.training import private_python_random

    stop = threading.Event()

    def noisy():
        while not stop.is_set():
            random.random()

    spec = registry.get("lstm")
    thread = threading.Thread(target=noisy, daemon=True)
    thread.start()
    try:
        weights = []
        for _ in range(2):
            with private_python_random(7):
                model = spec.build((20, 1), 1, **spec.defaults)
            weights.append([w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in model.weights])
    finally:
        stop.set()
        thread.join()
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["lstm", "mlp"])
def test_speed_settings_do_not_change_results(name):
    """steps_per_execution only batches the calls: the same seed gives the same predictions."""
    from benchmark.config import resolve
    from benchmark.data import Series
    from benchmark.pipeline import prepare
    from benchmark.training import fit_model

    values = 50 + 5 * np.sin(np.arange(300) / 5.0) + np.random.default_rng(0).normal(0, 0.3, 300)
    prepared = prepare(Series.from_array("check", values, source="test"), 16, 1, 20, 20, "window")
    spec = registry.get(name)
    runs = []
    for steps in (1, 16):
        config = resolve("default", epochs=3, patience=3, batch_size=32, steps_per_execution=steps,
                         models=(name,), seeds=(0,))
        runs.append(fit_model(spec, dict(spec.defaults), prepared, config, seed=0))
    np.testing.assert_array_equal(runs[0].test_scaled, runs[1].test_scaled)  # bit for bit
    np.testing.assert_array_equal(runs[0].history["loss"], runs[1].history["loss"])
    assert len(runs[1].history["epoch_seconds"]) == 3


def _check_prepared():
    from benchmark.data import Series
    from benchmark.pipeline import prepare

    values = 50 + 5 * np.sin(np.arange(300) / 5.0) + np.random.default_rng(0).normal(0, 0.3, 300)
    return prepare(Series.from_array("check", values, source="test"), 16, 1, 20, 20, "window")


@pytest.mark.parametrize("name", ["gru", "mlp"])
def test_reusing_a_compiled_model_gives_a_fresh_builds_numbers(name):
    """A worker keeps its compiled model across seeds (no retracing); weights, dropout seeds and optimizer slots
    are reset, so seed 0 after seed 1 equals seed 0 alone, bit for bit."""
    from benchmark import training
    from benchmark.config import resolve

    prepared, spec = _check_prepared(), registry.get(name)
    config = resolve("default", epochs=3, patience=3, batch_size=32, models=(name,), seeds=(0,))
    training._COMPILED.clear()
    alone = training.fit_model(spec, dict(spec.defaults), prepared, config, seed=0)
    other = training.fit_model(spec, dict(spec.defaults), prepared, config, seed=1)
    assert len(training._COMPILED) == 1  # kept for the next trial
    again = training.fit_model(spec, dict(spec.defaults), prepared, config, seed=0)
    np.testing.assert_array_equal(alone.test_scaled, again.test_scaled)
    np.testing.assert_array_equal(alone.val_scaled, again.val_scaled)
    assert alone.history["loss"] == again.history["loss"]
    assert not np.array_equal(alone.test_scaled, other.test_scaled)  # the seed still matters


def test_unrolled_layers_match_the_loop_within_float_rounding():
    """--unroll traces one graph per window step: the same arithmetic, float32 rounding may differ in the last
    bits, which is why an unrolled run is its own experiment (its own config hash)."""
    from benchmark import training
    from benchmark.config import resolve

    prepared, spec = _check_prepared(), registry.get("lstm")
    fits = {}
    for unroll in (False, True):
        config = resolve("default", epochs=3, patience=3, batch_size=32, models=("lstm",), seeds=(0,),
                         unroll=unroll)
        fits[unroll] = training.fit_model(spec, dict(spec.defaults), prepared, config, seed=0)
    np.testing.assert_allclose(fits[True].test_scaled, fits[False].test_scaled, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(fits[True].history["loss"], fits[False].history["loss"], rtol=1e-5)
    assert resolve("default", unroll=True).config_hash != resolve("default").config_hash
    assert resolve("default", unroll=False).config_hash == resolve("default").config_hash
