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
