"""The --covariates vocabulary: `ohlcv`, log volume, derived inputs, refusals by name, no look-ahead through any
channel, and a covariate the target follows is learnt by a network that sees it (and not by one that does not)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark.config import experiment
from benchmark.data import catalog
from benchmark.data.series import load_csv
from benchmark.errors import BenchmarkError
from benchmark.evaluation.trial import evaluate
from benchmark.models import registry
from benchmark.pipeline.windows import prepare


def ohlcv_csv(path, n=300, seed=0):
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    high, low = close * (1 + rng.uniform(0, 0.02, n)), close * (1 - rng.uniform(0, 0.02, n))
    frame = pd.DataFrame({"Date": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"), "Open": close,
                          "High": high, "Low": low, "Close": close, "Volume": rng.integers(1e5, 1e7, n)})
    frame.round(6).to_csv(path, index=False)
    return path


def test_ohlcv_log_volume_and_the_derived_inputs(tmp_path):
    path = ohlcv_csv(tmp_path / "p.csv")
    raw = pd.read_csv(path)
    series = load_csv(path, columns=("ohlcv", "log_return", "range"))
    assert list(series.columns) == ["Open", "High", "Low", "Volume", "log_return", "range"]
    np.testing.assert_allclose(series.columns["Volume"], np.log1p(raw["Volume"]))
    np.testing.assert_allclose(series.columns["log_return"][1:], np.diff(np.log(raw["Close"])))
    assert series.columns["log_return"][0] == 0
    np.testing.assert_allclose(series.columns["range"], (raw["High"] - raw["Low"]) / raw["Close"])
    assert list(load_csv(path, columns=("high", "ohlcv")).columns) == ["High", "Open", "Low", "Volume"]
    assert list(catalog.load("random_walk", ("log_return",)).columns) == ["log_return"]


@pytest.mark.parametrize(("dataset", "columns", "message"), [
    ("vix", ("ohlcv",), "dataset 'vix': ohlcv: the file has none of the columns open, high, low, volume"),
    ("vix", ("volume",), "dataset 'vix': column 'volume' .--covariates. not found"),
    ("random_walk", ("range",), "dataset 'random_walk' has no column 'range'"),
])
def test_a_covariate_a_dataset_cannot_give_is_refused_by_name(dataset, columns, message):
    with pytest.raises(BenchmarkError, match=message):
        catalog.load(dataset, columns)


def test_no_channel_of_a_window_reaches_past_its_origin(tmp_path):
    """Perturbing every covariate value from a test origin on leaves the inputs of that origin's window and of
    every earlier one unchanged (so no model's forecast there can change), under each scaler."""
    path = ohlcv_csv(tmp_path / "p.csv")
    words = ("ohlcv", "log_return", "range")
    series = load_csv(path, columns=words)
    for scaler in ("minmax", "window"):
        base = prepare(series, 20, 1, 40, 40, scaler)
        k = 25  # the 26th test origin
        origin = int(base.test.origins[k])
        moved = pd.read_csv(path)
        for column in ("Open", "High", "Low", "Volume"):
            moved.loc[origin:, column] = moved.loc[origin:, column] * 3
        moved.to_csv(tmp_path / "moved.csv", index=False)
        changed = prepare(load_csv(tmp_path / "moved.csv", columns=words), 20, 1, 40, 40, scaler)
        np.testing.assert_array_equal(base.test.inputs[: k + 1], changed.test.inputs[: k + 1])
        assert not np.allclose(base.test.inputs[k + 1:], changed.test.inputs[k + 1:])
        np.testing.assert_array_equal(base.train.inputs, changed.train.inputs)  # the scalers saw training rows only


@pytest.mark.slow
def test_a_network_learns_a_covariate_the_target_follows_and_cannot_without_it(tmp_path):
    """y_t = 100 + 5 x_{t-1} with x white noise: only the covariate says where y goes next."""
    rng = np.random.default_rng(1)
    n = 900
    signal = rng.normal(size=n)
    close = 100 + 5 * np.concatenate([[0.0], signal[:-1]])
    pd.DataFrame({"Date": pd.bdate_range("2020-01-01", periods=n).strftime("%Y-%m-%d"), "Close": close,
                  "signal": signal}).to_csv(tmp_path / "lag.csv", index=False)
    mae = {}
    for label, columns in (("with", ("signal",)), ("without", ())):
        series = load_csv(tmp_path / "lag.csv", columns=columns)
        config = experiment.resolve("default", lookback=10, val_size=150, test_size=150, epochs=40, patience=5,
                                    scaler="standard", covariates=",".join(columns))
        prepared = prepare(series, 10, 1, 150, 150, "standard")
        record = evaluate(registry.get("mlp"), registry.get("mlp").defaults, [prepared], config, 0)
        mae[label] = record.summary["mae"]
    naive = float(np.mean(np.abs(np.diff(close[-151:]))))  # persistence's test MAE
    assert mae["with"] < 0.3 * naive and mae["without"] > 0.6 * naive, (mae, naive)
