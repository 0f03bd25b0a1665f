"""Every registered model: five lines each through the shared checker, plus the registry's contract."""

import textwrap

import numpy as np
import pytest

from benchmark.errors import BenchmarkError
from benchmark.models import registry
from benchmark.models.contract import BuildOptions
from tests.model_checker import check_model


@pytest.mark.parametrize("name", registry.registry())
def test_every_model_builds_trains_and_predicts(name):
    check_model(name)


@pytest.mark.parametrize("name", ["lstm", "linear", "drift"])
def test_multi_step_horizon(name):
    check_model(name, horizon=3)


def test_the_classic_four_two_modern_references_and_seven_baselines_are_registered():
    assert set(registry.neural_names()) == {"mlp", "rnn", "lstm", "gru", "tcn", "transformer"}
    assert set(registry.baseline_names()) == {"naive", "seasonal_naive", "drift", "linear", "arima", "ets", "theta"}


def test_classic_lstm_shape():
    import keras

    model = registry.get("lstm").build((60, 1), 1, BuildOptions(), **registry.get("lstm").defaults)
    kinds = [type(layer).__name__ for layer in model.layers[1:]]
    assert kinds == ["LSTM", "Dropout", "LSTM", "Dropout", "Dense"]
    assert [model.layers[1].units, model.layers[3].units] == [50, 100]
    assert model.layers[1].return_sequences and not model.layers[3].return_sequences
    assert isinstance(model, keras.Model) and model.output_shape == (None, 1)


def test_naive_predicts_the_last_value():
    scaled = check_model("naive", horizon=2)
    np.testing.assert_array_equal(scaled, np.zeros_like(scaled))  # window scaling centres on the last value


def test_selecting_models_always_adds_the_baselines():
    assert registry.select("lstm,gru") == ("lstm", "gru", "arima", "drift", "ets", "linear", "naive",
                                           "seasonal_naive", "theta")
    assert set(registry.select("all")) == set(registry.registry())


def test_unknown_model_lists_the_known_ones():
    with pytest.raises(BenchmarkError, match=r"unknown model 'prophet' \(known: .*lstm"):
        registry.select("lstm,prophet")


def test_identically_seeded_builds_match_while_other_threads_draw_from_random():
    """Dask workers and MLflow draw from Python's global `random` in other threads; builds must not care."""
    import random
    import threading

    from benchmark.models.training import private_python_random

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
                model = spec.build((20, 1), 1, BuildOptions(seed=7), **spec.defaults)
            weights.append([w.numpy() if hasattr(w, "numpy") else np.asarray(w) for w in model.weights])
    finally:
        stop.set()
        thread.join()
    for a, b in zip(*weights, strict=True):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", ["lstm", "mlp"])
def test_speed_settings_do_not_change_results(name):
    """steps_per_execution only batches the calls: the same seed gives the same predictions."""
    from benchmark.config.experiment import resolve
    from benchmark.data.series import Series
    from benchmark.models.training import fit_model
    from benchmark.pipeline.windows import prepare

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
    from benchmark.data.series import Series
    from benchmark.pipeline.windows import prepare

    values = 50 + 5 * np.sin(np.arange(300) / 5.0) + np.random.default_rng(0).normal(0, 0.3, 300)
    return prepare(Series.from_array("check", values, source="test"), 16, 1, 20, 20, "window")


@pytest.mark.parametrize("name", ["gru", "mlp"])
def test_reusing_a_compiled_model_gives_a_fresh_builds_numbers(name):
    """A worker keeps its compiled model across seeds (no retracing); weights, dropout seeds and optimizer slots
    are reset, so seed 0 after seed 1 equals seed 0 alone, bit for bit."""
    from benchmark.config.experiment import resolve
    from benchmark.models import training

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
    from benchmark.config.experiment import resolve
    from benchmark.models import training

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


# --- the model contract: registry fields, load-time checks, BuildOptions ---------------------------------------


def test_the_contract_fields_of_the_registered_models():
    for name in registry.neural_names():
        spec = registry.get(name)
        assert (spec.adapter.needs_keras, spec.stochastic, spec.reference, spec.kind) == (True, True, False, "neural")
        assert spec.channels and not spec.quantiles  # every network reads the --covariates channels
    for name in registry.baseline_names():
        spec = registry.get(name)
        assert (spec.adapter.statistical, spec.stochastic, spec.cost, spec.kind) == (
            name in ("arima", "ets", "theta"), False, 0.0, "baseline")
        assert spec.channels == (name == "linear")
        assert spec.quantiles == (name in ("naive", "arima", "ets", "theta"))  # their own distributions
    assert registry.get("mlp").hyperparameters == ("units", "dropout", "activation", "layers")
    assert registry.get("lstm").hyperparameters == ("units", "dropout", "layers")
    assert registry.get("naive").hyperparameters == ()


def test_the_reference_model_is_naive():
    assert registry.reference() == "naive"
    assert [name for name, spec in registry.registry().items() if spec.reference] == ["naive"]


def test_sweep_reads_hyperparameters_by_name():
    from benchmark.config.sweep import hyperparameters

    assert hyperparameters("mlp") == {"units", "dropout", "activation", "layers"}
    assert hyperparameters("drift") == set()


@pytest.mark.parametrize("unroll", [False, True])
def test_unroll_reaches_the_recurrent_layers(unroll):
    for name in ("lstm", "gru", "rnn"):
        spec = registry.get(name)
        model = spec.build((8, 1), 1, BuildOptions(unroll=unroll), **spec.defaults)
        recurrent = [layer for layer in model.layers if hasattr(layer, "unroll")]
        assert len(recurrent) == 2 and all(layer.unroll is unroll for layer in recurrent)
    spec = registry.get("mlp")  # no time loop: the option is accepted and ignored
    assert spec.build((8, 1), 1, BuildOptions(unroll=unroll), **spec.defaults).output_shape == (None, 1)


@pytest.mark.parametrize("name", ["tcn", "transformer"])
def test_the_modern_references_are_causal_see_the_whole_window_and_match_the_lstm_in_size(name):
    """The last step's forecast reads every step of a 60-step, 3-channel window (TCN: dilations 1..16 with kernel 3
    reach 125 steps back; Transformer: attention over every step), and only the window: the model has no state
    across windows. Defaults within 20% of the classic LSTM's weights, so size does not decide the comparison."""
    import keras

    spec = registry.get(name)
    model = spec.build((60, 3), 2, BuildOptions(), **spec.defaults)
    window = np.random.default_rng(0).normal(size=(1, 60, 3)).astype("float32")
    base = model(window, training=False).numpy()
    for step in (0, 30, 59):
        for channel in (0, 2):
            moved = window.copy()
            moved[0, step, channel] += 1.0
            assert not np.allclose(model(moved, training=False).numpy(), base), (step, channel)
    np.testing.assert_array_equal(model(window, training=False).numpy(), base)  # no state carried over
    assert model.output_shape == (None, 2) and isinstance(model, keras.Model)
    lstm = registry.get("lstm")
    size = lstm.build((60, 1), 1, BuildOptions(), **lstm.defaults).count_params()
    assert 0.8 * size <= spec.build((60, 1), 1, BuildOptions(), **spec.defaults).count_params() <= 1.2 * size


@pytest.fixture
def extra_models(tmp_path, monkeypatch):
    """Write model files into a folder on $FORECAST_BENCHMARK_MODELS; the registry is reloaded around the test."""
    monkeypatch.setenv(registry.EXTRA_MODELS_ENV, str(tmp_path))
    registry.registry.cache_clear()

    def write(name: str, source: str):
        path = tmp_path / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        return path

    yield write
    registry.registry.cache_clear()


ESTIMATOR_HEAD = '''\
    """A test estimator."""
    import numpy as np

    FAMILY = "estimator"

    class Last:
        def __init__(self, horizon):
            self.horizon = horizon

        def fit(self, x, y):
            return self

        def predict(self, x):
            return np.repeat(x[:, -1, :1], self.horizon, axis=1)
'''


@pytest.mark.parametrize("source, message", [
    (ESTIMATOR_HEAD + '''
    DEFAULTS = {"window": 3}

    def build(input_shape, horizon, options, scale=1.0):
        return Last(horizon)
    ''', r"DEFAULTS names 'window', which build does not take"),
    (ESTIMATOR_HEAD + '''
    DEFAULTS = {"scale": 1.0}

    def build(input_shape, horizon, options, scale, order):
        return Last(horizon)
    ''', r"parameter\(s\) 'order' have no default value and are missing from DEFAULTS"),
    (ESTIMATOR_HEAD + '''
    DEFAULTS = {}

    def build(input_shape, horizon):
        return Last(horizon)
    ''', r"build's first parameters must be \(input_shape, horizon, options\)"),
    (ESTIMATOR_HEAD + '''
    DEFAULTS = {}

    def build(input_shape, horizon, options, **kwargs):
        return Last(horizon)
    ''', r"must be named parameters, not kwargs"),
    ('''
    FAMILY = "sklearn"
    DEFAULTS = {}

    def build(input_shape, horizon, options):
        return None
    ''', r"unknown FAMILY 'sklearn'"),
    ('''
    def build(input_shape, horizon, options):
        return None
    ''', r"must define DEFAULTS"),
])
def test_a_model_file_breaking_the_contract_is_refused_naming_the_file(extra_models, source, message):
    """Refused by name when asked for; the other models still load (a plug-in never breaks every command)."""
    path = extra_models("broken", source)
    with pytest.raises(BenchmarkError, match=message) as error:
        registry.get("broken")
    assert str(path) in str(error.value) and "model 'broken' is broken" in str(error.value)
    assert "broken" not in registry.registry() and "naive" in registry.registry()
    assert str(path) in registry.broken()["broken"]


def test_a_plug_in_that_fails_to_import_is_listed_as_broken_and_every_command_still_works(extra_models, capsys):
    from benchmark import cli

    extra_models("needs_missing", "import a_module_nobody_has\n")
    extra_models("bad name!", "DEFAULTS = {}\n")
    assert cli.main(["list"]) == 0
    out = capsys.readouterr()
    assert "| naive" in out.out or "naive" in out.out
    assert "broken: needs_missing:" in out.err and "No module named 'a_module_nobody_has'" in out.err
    assert "broken: bad name!:" in out.err and "letters, digits" in out.err
    with pytest.raises(BenchmarkError, match="model 'needs_missing' is broken"):
        registry.select("mlp,needs_missing")


def test_a_second_reference_model_is_refused(extra_models):
    extra_models("last", ESTIMATOR_HEAD + '''
    REFERENCE = True
    DEFAULTS = {}

    def build(input_shape, horizon, options):
        return Last(horizon)
    ''')
    with pytest.raises(BenchmarkError, match="only one model may set REFERENCE = True, got naive, last"):
        registry.registry()


def test_capabilities_are_checked_at_load_against_the_way_of_training(extra_models):
    """A flag the adapter cannot honour is refused with the file's name; a flag must be True or False."""
    extra_models("statistical_channels", '''
    """A statistical model claiming extra channels."""
    FAMILY = "series"
    CHANNELS = True
    DEFAULTS = {}

    def build(input_shape, horizon, options):
        raise AssertionError("never built")
    ''')
    with pytest.raises(BenchmarkError, match=r"statistical_channels.py: CHANNELS cannot be honoured by FAMILY "
                                             r"'series' \(it supports QUANTILES\)"):
        registry.get("statistical_channels")


def test_a_capability_flag_must_be_a_boolean(extra_models):
    extra_models("vague", '''
    """Vague."""
    FAMILY = "estimator"
    QUANTILES = "yes"
    DEFAULTS = {}

    def build(input_shape, horizon, options):
        raise AssertionError("never built")
    ''')
    with pytest.raises(BenchmarkError, match=r"vague.py: QUANTILES must be True or False, got 'yes'"):
        registry.get("vague")


def test_a_stochastic_estimator_is_seeded_through_build_options(extra_models):
    """A seeded model outside Keras: it runs once per seed and sees the seed as options.seed."""
    from benchmark.config.experiment import resolve
    from benchmark.models import training

    extra_models("noisy", '''
    """Noisy persistence: the last value plus seeded noise."""
    import numpy as np

    FAMILY = "estimator"
    STOCHASTIC = True
    DEFAULTS = {"scale": 0.1}

    class Noisy:
        def __init__(self, horizon, scale, seed):
            self.horizon, self.scale, self.rng = horizon, scale, np.random.default_rng(seed)

        def fit(self, x, y):
            return self

        def predict(self, x):
            noise = self.rng.normal(0, self.scale, (len(x), self.horizon))
            return np.repeat(x[:, -1, :1], self.horizon, axis=1) + noise

    def build(input_shape, horizon, options, scale):
        assert options.seed is not None
        return Noisy(horizon, scale, options.seed)
    ''')
    spec = registry.get("noisy")
    assert (spec.adapter.needs_keras, spec.stochastic, spec.hyperparameters) == (False, True, ("scale",))
    assert "noisy" in registry.baseline_names()
    prepared = _check_prepared()
    config = resolve("default", epochs=1, patience=1, batch_size=32, models=("noisy",), seeds=(0, 1))
    fits = [training.fit_model(spec, dict(spec.defaults), prepared, config, seed=s) for s in (0, 1, 0)]
    assert fits[0].test_scaled.shape == (len(prepared.test), 1) and fits[0].epochs_run == 0
    assert not np.array_equal(fits[0].test_scaled, fits[1].test_scaled)
    np.testing.assert_array_equal(fits[0].test_scaled, fits[2].test_scaled)
    np.testing.assert_array_equal(fits[0].val_scaled, fits[2].val_scaled)


def test_reference_needs_exactly_one_model(monkeypatch):
    naive, drift = registry.get("naive"), registry.get("drift")
    monkeypatch.setattr(registry, "registry", lambda: {"drift": drift})
    with pytest.raises(BenchmarkError, match="exactly one model must set REFERENCE = True, got none"):
        registry.reference()
    monkeypatch.setattr(registry, "registry", lambda: {"naive": naive, "other": naive})
    with pytest.raises(BenchmarkError, match="got naive, other"):
        registry.reference()


def test_the_tcn_s_causal_convolution_is_conv1d_arithmetic():
    """Each TCN convolution is a Dense layer over the window's shifted copies: with Conv1D's kernel reshaped into
    it, the outputs equal Keras' causal, dilated Conv1D's (to float32 rounding)."""
    import keras

    spec = registry.get("tcn")
    model = spec.build((20, 2), 1, BuildOptions(), **{**spec.defaults, "dilations": (4,), "dropout": 0.0})
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    first = next(d for d in dense if d.kernel.shape == (3 * 2, 48))  # the first causal convolution (2 -> 48)
    skip = next(d for d in dense if d.kernel.shape == (2, 48))  # the 1x1 skip projection
    inputs = keras.Input((20, 2))
    conv = keras.layers.Conv1D(48, 3, padding="causal", dilation_rate=4, activation="relu")
    reference = keras.Model(inputs, conv(inputs))
    kernel, bias = first.get_weights()
    conv.set_weights([kernel.reshape(3, 2, 48), bias])
    window = np.random.default_rng(1).normal(size=(4, 20, 2)).astype("float32")
    taps = keras.Model(model.input, first.output)
    np.testing.assert_allclose(taps(window).numpy(), reference(window).numpy(), rtol=1e-5, atol=1e-6)
    assert skip.kernel.shape == (2, 48)
