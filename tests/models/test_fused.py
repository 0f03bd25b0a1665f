"""The fused LSTM kernel: the same layer as keras.layers.LSTM (weights, outputs and gradients equal to float32
rounding), used by the LSTM model file under --kernel fused, its own experiment, and Keras' own layer where the
kernel cannot serve."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.config import experiment
from benchmark.models import fused, registry
from benchmark.models.contract import BuildOptions


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
    kinds = {type(layer).__name__ for layer in quick.layers} - {type(layer).__name__ for layer in plain.layers}
    assert kinds == {"FusedLSTM"} and plain.count_params() == quick.count_params()
    assert experiment.resolve("default", kernel="fused").config_hash != experiment.resolve("default").config_hash
    assert experiment.resolve("default", kernel="keras").config_hash == experiment.resolve("default").config_hash
    assert fused.available("tensorflow") and not fused.available("jax")  # jax trials record the Keras layer


def test_the_fused_layer_falls_back_to_keras_where_the_kernel_cannot_serve():
    import keras

    rng = np.random.default_rng(1)
    x = rng.normal(size=(4, 10, 2)).astype("float32")
    reference = keras.layers.LSTM(5, return_sequences=True)
    layer = fused.fused_lstm()(5, return_sequences=True)
    reference.build((None, 10, 2))
    layer.build((None, 10, 2))
    for mine, theirs in zip(layer.weights, reference.weights, strict=True):
        mine.assign(theirs)
    mask = np.ones((4, 10), dtype=bool)
    mask[:, -3:] = False  # a mask: Keras' own path, the same numbers
    np.testing.assert_allclose(layer(x, mask=mask), reference(x, mask=mask), atol=1e-6)
