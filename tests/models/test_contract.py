"""The model contract seen from outside: a model file that declares a capability gets it through the whole suite
with no change anywhere else (quantile columns in the forecast table and the stored artifact; extra input channels
as [n, lookback, c] windows), and the compiled-model cache key follows the settings table's `compiles` marks."""

from __future__ import annotations

import textwrap

import numpy as np
import pandas as pd
import pytest

import benchmark
from benchmark import cli
from benchmark.config import experiment
from benchmark.config.settings import TABLE, Setting
from benchmark.data.series import load_csv
from benchmark.errors import BenchmarkError
from benchmark.evaluation.forecasts import COLUMNS, quantile_column, quantile_levels
from benchmark.evaluation.trial import evaluate
from benchmark.models import registry, training
from benchmark.pipeline.windows import prepare

QUANTILE_MODEL = '''
"""Persistence with a normal band: the last value plus z * the window's daily-change spread."""
import numpy as np
from scipy.stats import norm

from benchmark.models.baselines import Persistence

FAMILY = "estimator"
QUANTILES = True
DEFAULTS = {}


class Band(Persistence):
    def predict_quantiles(self, x, levels):
        spread = np.diff(x[:, :, 0], axis=1).std(axis=1)[:, None, None]  # [n, 1, 1]
        steps = np.sqrt(np.arange(1, self.horizon + 1))[None, :, None]
        z = norm.ppf(np.asarray(levels))[None, None, :]
        return self.predict(x)[:, :, None] + z * spread * steps  # [n, horizon, levels]


def build(input_shape, horizon, options):
    return Band(horizon)
'''

CHANNEL_PROBE = '''
"""Records the input shape it was fitted on and forecasts the last target value."""
import numpy as np

FAMILY = "estimator"
CHANNELS = True
DEFAULTS = {}
SEEN = []


class Probe:
    def __init__(self, input_shape, horizon):
        self.input_shape, self.horizon = input_shape, horizon

    def fit(self, x, y):
        SEEN.append((self.input_shape, x.shape, x.copy()))
        return self

    def predict(self, x):
        return np.repeat(x[:, -1, :1], self.horizon, axis=1)


def build(input_shape, horizon, options):
    return Probe(input_shape, horizon)
'''


@pytest.fixture
def model_folder(tmp_path, monkeypatch):
    """A folder of model files on $FORECAST_BENCHMARK_MODELS, the registry reloaded around the test."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv(registry.EXTRA_MODELS_ENV, str(folder))
    registry.registry.cache_clear()
    yield folder
    registry.registry.cache_clear()


@pytest.fixture
def two_column_csv(tmp_path):
    """A daily close and a volume column that moves against it."""
    rng = np.random.default_rng(3)
    close = 100 + np.cumsum(rng.normal(0, 1, 200))
    volume = 1e6 + 1e4 * np.arange(200) + rng.normal(0, 1e3, 200)
    dates = pd.date_range("2021-01-04", periods=200, freq="B")
    path = tmp_path / "two.csv"
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Close": close.round(4), "Volume": volume.round(1)}).to_csv(
        path, index=False)
    return path


@pytest.mark.slow
def test_a_quantile_model_s_columns_reach_the_forecast_table_and_the_stored_artifact(model_folder, tmp_path,
                                                                                        tiny_csv, monkeypatch, store):
    (model_folder / "band.py").write_text(textwrap.dedent(QUANTILE_MODEL))
    monkeypatch.chdir(tmp_path)
    code = cli.main(["run", "--data", str(tiny_csv), "--models", "mlp", "--seeds", "1", "--window", "20",
                     "--val-size", "40", "--test-size", "40", "--epochs", "1", "--jobs", "1",
                     "--quantiles", "0.1,0.5,0.9", "--tracking-uri", store, "--experiment", "q",
                     "--results-dir", str(tmp_path / "out")])
    assert code == 0
    loaded = benchmark.load(tracking_uri=store, experiment="q")  # read back from the store
    predictions = loaded.predictions
    assert list(predictions.columns[:len(COLUMNS)]) == COLUMNS
    assert quantile_levels(predictions) == (0.1, 0.5, 0.9)
    band = predictions[predictions["model"] == "band"]
    low, mid, high = (band[quantile_column(q)].to_numpy() for q in (0.1, 0.5, 0.9))
    assert len(band) == 40 and np.all(np.isfinite(low)) and np.all(low < mid) and np.all(mid < high)
    np.testing.assert_allclose(mid, band["predicted"], rtol=1e-9)  # the median of the band is its point
    # Every other model has quantiles too: its own distribution, or conformal from its validation errors.
    quantiles = predictions[[quantile_column(q) for q in (0.1, 0.5, 0.9)]].to_numpy()
    assert np.all(np.isfinite(quantiles)) and np.all(np.diff(quantiles, axis=1) >= 0)
    trials = loaded.report.sections[0].results.trials
    sources = dict(zip(trials["model"], trials["interval_source"], strict=True))
    assert sources["band"] == sources["naive"] == sources["arima"] == "model"
    assert sources["mlp"] == sources["linear"] == "conformal (split)"


def test_conformal_quantiles_need_a_validation_period_checked_before_any_work(tiny_csv, tmp_path, capsys):
    code = cli.main(["run", "--data", str(tiny_csv), "--preset", "classic", "--models", "mlp", "--quantiles",
                     "0.1,0.9", "--tracking-uri", f"sqlite:///{tmp_path / 'x.db'}", "--results-dir",
                     str(tmp_path / "out")])
    assert code == 2
    err = capsys.readouterr().err
    assert "--quantiles: " in err and "no validation period (--val-size 0" in err and len(err.splitlines()) == 1
    assert not (tmp_path / "x.db").exists() and not (tmp_path / "out").exists()
    code = cli.main(["run", "--data", str(tiny_csv), "--val-size", "40", "--test-size", "40", "--window", "20",
                     "--models", "mlp", "--quantiles", "0.01,0.99", "--tracking-uri", f"sqlite:///{tmp_path / 'x.db'}",
                     "--results-dir", str(tmp_path / "out")])
    assert code == 2
    assert "needs at least 99 validation errors per lead time" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()


@pytest.mark.parametrize("text, message", [("0,0.5", "strictly between 0 and 1"), ("0.5,0.5", "distinct"),
                                           ("low", "comma list of levels"), ("0.9,0.1", "ascending order"),
                                           ("", "names no level"), (",", "names no level"),
                                           ("1.5", "strictly between 0 and 1")])
def test_bad_quantile_levels_are_refused_by_name(text, message):
    with pytest.raises(BenchmarkError, match=message):
        experiment.resolve("default", quantiles=text)


def test_a_channel_model_receives_every_column_as_a_channel(model_folder, two_column_csv):
    (model_folder / "probe.py").write_text(textwrap.dedent(CHANNEL_PROBE))
    spec = registry.get("probe")
    series = load_csv(two_column_csv, columns=("volume",))
    assert list(series.columns) == ["Volume"]
    prepared = prepare(series, 20, 1, 40, 40, "minmax")
    config = experiment.resolve("default", models=("probe",), covariates="Volume")
    record = evaluate(spec, {}, [prepared], config, None)
    module = spec.build.__globals__
    (input_shape, shape, x), = module["SEEN"]
    assert input_shape == (20, 2) and shape == (len(prepared.train), 20, 2)  # [n, lookback, channels]
    volume = series.columns["Volume"][: prepared.bounds.val_start]  # log(1 + volume): volumes span magnitudes
    raw = pd.read_csv(two_column_csv)["Volume"].to_numpy()
    np.testing.assert_allclose(series.columns["Volume"], np.log1p(raw))
    first = (series.columns["Volume"][0:20] - volume.min()) / (volume.max() - volume.min())  # fitted on train
    np.testing.assert_allclose(x[0, :, 1], first)
    np.testing.assert_allclose(x[0, :, 0], prepared.train.inputs[0, :, 0])  # the target stays channel 0
    assert len(record.predictions) == 40


def test_a_model_without_channels_sees_the_target_alone(two_column_csv):
    series = load_csv(two_column_csv, columns=("Volume",))
    prepared = prepare(series, 20, 1, 40, 40, "window")
    assert prepared.train.inputs.shape[2] == 2
    assert training.model_inputs(registry.get("naive"), prepared.train).shape[2] == 1
    assert training.model_inputs(registry.get("linear"), prepared.train).shape[2] == 2


def test_a_missing_covariate_is_refused_naming_the_dataset_and_the_column():
    with pytest.raises(BenchmarkError, match="dataset 'vix': column 'volume' .--covariates. not found"):
        benchmark.data.catalog.load("vix", ("volume",))
    with pytest.raises(BenchmarkError, match="dataset 'random_walk' has no column 'volume'"):
        benchmark.data.catalog.load("random_walk", ("volume",))


def test_covariates_refuse_the_recursive_strategy():
    with pytest.raises(BenchmarkError, match="--covariates needs --strategy direct"):
        experiment.resolve("default", covariates="volume", horizon=5, strategy="recursive")


def test_covariates_and_quantiles_keep_every_earlier_hash():
    plain = experiment.resolve("default")
    assert experiment.resolve("default", covariates="", quantiles=[]).config_hash == plain.config_hash
    assert experiment.resolve("default", covariates="Volume").config_hash != plain.config_hash


def _key(config, prepared):
    spec = registry.get("lstm")
    return training._compiled_key(spec, dict(spec.defaults), prepared, config)


def test_a_setting_marked_compiles_changes_the_compiled_model_cache_key(two_column_csv):
    prepared = prepare(load_csv(two_column_csv), 20, 1, 40, 40, "window")
    marked = Setting("gradient_clip", float, "clip", "training", default=1.0, compiles=True)
    unmarked = Setting("note", str, "a label", "outputs", default="a", hashed=False)
    extended = experiment.config_class((*TABLE, marked, unmarked))
    base = experiment.resolve("default", config_type=extended)
    assert _key(base, prepared) != _key(experiment.resolve("default", config_type=extended, gradient_clip=2.0),
                                        prepared)
    assert _key(base, prepared) == _key(experiment.resolve("default", config_type=extended, note="b"), prepared)
    assert _key(base, prepared) != _key(experiment.resolve("default", config_type=extended, learning_rate=0.01),
                                        prepared)
