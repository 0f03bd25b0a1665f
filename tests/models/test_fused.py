"""The fused LSTM kernel: the same layer as keras.layers.LSTM (weights, outputs and gradients equal to float32
rounding), used by the LSTM model file under --kernel fused, its own experiment, and Keras' own layer where the
kernel cannot serve."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.config import experiment
from benchmark.models import fused, registry
from benchmark.models.contract import BuildOptions


def keras_and_fused(units: int, shape: tuple[int, int], **options):
    """A keras.layers.LSTM and a fused layer built alike, the fused one holding the Keras one's weights."""
    import keras

    reference = keras.layers.LSTM(units, **options)
    layer = fused.fused_lstm()(units, **options)
    reference.build((None, *shape))
    layer.build((None, *shape))
    for mine, theirs in zip(layer.weights, reference.weights, strict=True):
        mine.assign(theirs)
    return reference, layer


@pytest.mark.parametrize("sequences", [True, False])
def test_outputs_and_gradients_equal_keras_lstm_on_the_same_weights(sequences):
    import keras
    import tensorflow as tf

    rng = np.random.default_rng(0)
    x = tf.constant(rng.normal(size=(8, 30, 3)).astype("float32"))
    reference = keras.layers.LSTM(16, return_sequences=sequences)
    layer = fused.fused_lstm()(16, return_sequences=sequences)
    reference.build((None, 30, 3))
    layer.build((None, 30, 3))
    assert [w.shape for w in layer.weights] == [w.shape for w in reference.weights]  # the same weights and layout
    reference.weights[2].assign(rng.normal(size=reference.weights[2].shape).astype("float32"))  # a non-trivial bias
    for mine, theirs in zip(layer.weights, reference.weights, strict=True):
        mine.assign(theirs)
    with tf.GradientTape(persistent=True) as tape:
        tape.watch(x)
        expected, got = reference(x), layer(x)
        expected_loss, got_loss = tf.reduce_sum(expected ** 2), tf.reduce_sum(got ** 2)
    np.testing.assert_allclose(got, expected, atol=1e-6)
    for theirs, mine in zip(tape.gradient(expected_loss, [x, *reference.weights]),
                            tape.gradient(got_loss, [x, *layer.weights]), strict=True):
        np.testing.assert_allclose(mine, theirs, rtol=1e-4, atol=1e-5 * float(np.max(np.abs(theirs))))


def test_the_lstm_file_builds_the_fused_layer_only_when_asked_and_a_fused_run_is_its_own_experiment():
    spec = registry.get("lstm")
    plain = spec.build((20, 1), 1, BuildOptions(), **spec.defaults)
    quick = spec.build((20, 1), 1, BuildOptions(fused=True), **spec.defaults)
    layer = fused.fused_lstm()
    assert sum(isinstance(x, layer) for x in quick.layers) == 2 and not any(isinstance(x, layer) for x in plain.layers)
    assert plain.count_params() == quick.count_params()
    assert experiment.resolve("default", kernel="fused").config_hash != experiment.resolve("default").config_hash
    assert experiment.resolve("default", kernel="keras").config_hash == experiment.resolve("default").config_hash
    assert fused.available("tensorflow") and not fused.available("jax")  # jax trials record the Keras layer


def test_the_fused_layer_falls_back_to_keras_where_the_kernel_cannot_serve():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 10, 2)).astype("float32")
    reference, layer = keras_and_fused(5, (10, 2), return_sequences=True)
    mask = np.ones((4, 10), dtype=bool)
    mask[:, -3:] = False  # a mask: Keras' own path, the same numbers
    np.testing.assert_allclose(layer(x, mask=mask), reference(x, mask=mask), atol=1e-6)


def test_final_states_equal_keras_and_a_ragged_last_batch_changes_nothing():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(37, 12, 2)).astype("float32")  # 37 windows: batches of 16, 16 and a ragged 5
    reference, layer = keras_and_fused(6, (12, 2), return_state=True)
    for got, expected in zip(layer(x), reference(x), strict=True):  # output, final h, final c
        np.testing.assert_allclose(got, expected, atol=1e-6)
    spec = registry.get("lstm")
    model = spec.build((12, 2), 1, BuildOptions(fused=True), **spec.defaults)
    whole = model.predict(x, batch_size=64, verbose=0)
    for batch in (1, 16, 36):
        np.testing.assert_allclose(model.predict(x, batch_size=batch, verbose=0), whole, atol=1e-6)


def test_weights_saved_from_one_implementation_load_into_the_other(tmp_path):
    import keras

    spec = registry.get("lstm")
    x = np.random.default_rng(3).normal(size=(9, 20, 1)).astype("float32")
    keras.utils.set_random_seed(0)
    saved = spec.build((20, 1), 1, BuildOptions(fused=True), **spec.defaults)
    saved.save_weights(tmp_path / "fused.weights.h5")
    loaded = spec.build((20, 1), 1, BuildOptions(), **spec.defaults)
    loaded.load_weights(tmp_path / "fused.weights.h5")
    np.testing.assert_allclose(loaded.predict(x, verbose=0), saved.predict(x, verbose=0), atol=1e-6)
    loaded.save_weights(tmp_path / "keras.weights.h5")  # and back
    again = spec.build((20, 1), 1, BuildOptions(fused=True), **spec.defaults)
    again.load_weights(tmp_path / "keras.weights.h5")
    np.testing.assert_allclose(again.predict(x, verbose=0), saved.predict(x, verbose=0), atol=1e-6)


def test_two_fused_trainings_under_one_seed_are_identical():
    import keras

    spec = registry.get("lstm")
    rng = np.random.default_rng(4)
    x, y = rng.normal(size=(40, 15, 1)).astype("float32"), rng.normal(size=(40, 1)).astype("float32")

    def trained():
        keras.utils.set_random_seed(7)
        model = spec.build((15, 1), 1, BuildOptions(fused=True, seed=7), **spec.defaults)
        model.compile(optimizer="adam", loss="mse")
        model.fit(x, y, epochs=2, batch_size=16, verbose=0)
        return [w.numpy() for w in model.weights]

    for first, second in zip(trained(), trained(), strict=True):
        np.testing.assert_array_equal(first, second)
