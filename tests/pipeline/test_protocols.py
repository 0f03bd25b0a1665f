"""Evaluation protocols: backtest folds without leakage, experiment files, several datasets, calibration."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from benchmark import PROJECT_ROOT, cli
from benchmark.data.series import Series
from benchmark.errors import BenchmarkError
from benchmark.pipeline.windows import prepare_folds
from tests.conftest import TINY_ARGS


def series(values) -> Series:
    return Series.from_array("test", np.asarray(values, dtype=float), source="test")


@pytest.mark.parametrize("window_type", ["expanding", "sliding"])
@pytest.mark.parametrize(("horizon", "step"), [(1, None), (2, 10), (1, 30)])
def test_backtest_folds_never_train_on_their_test_targets(window_type, horizon, step):
    values = np.arange(400, dtype=float)  # a value is its own index
    folds = prepare_folds(series(values), 20, horizon, 30, 20, "minmax", folds=4, step=step,
                          window_type=window_type)
    assert len(folds) == 4
    ends = []
    for fold in folds:
        test_targets = fold.test.y.reshape(-1)
        assert len(np.unique(test_targets)) == test_targets.size == 30  # every test point scored once
        assert fold.train.y.max() < test_targets.min() and fold.val.y.max() < test_targets.min()
        assert fold.scaler.loc == fold.series.values[: fold.bounds.val_start].min()  # fitted on its own train
        assert fold.scaler.loc + fold.scaler.scale < test_targets.min()  # the scaler never saw the test part
        ends.append(test_targets.max())
    assert np.all(np.diff(ends) == (step or 30))
    assert ends[-1] == 399
    if window_type == "sliding":
        assert len({len(f.series) for f in folds}) == 1


def test_folds_tile_the_end_of_the_series_when_step_is_the_test_size():
    folds = prepare_folds(series(np.arange(300.0)), 20, 1, 25, 0, "window", folds=4)
    scored = np.concatenate([f.test.y.reshape(-1) for f in folds])
    np.testing.assert_array_equal(scored, np.arange(200, 300))


def test_each_fold_refits_its_scaler():
    values = np.r_[np.linspace(1, 2, 200), np.full(50, 1000.0), np.linspace(2, 3, 50)]
    first, second = prepare_folds(series(values), 10, 1, 50, 0, "minmax", folds=2)
    assert first.scaler.loc + first.scaler.scale == pytest.approx(2.0)  # outlier block is fold 1's test part
    assert second.scaler.loc + second.scaler.scale == 1000.0  # and fold 2's training part


def test_too_many_folds_is_a_clear_error():
    with pytest.raises(BenchmarkError, match="series too short"):
        prepare_folds(series(np.arange(100.0)), 10, 1, 30, 0, "minmax", folds=5)


def parse(*argv: str):
    return cli.configs_from_args(cli.build_parser().parse_args(["run", *argv]))


def test_config_file_then_flags_override_it(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text('preset = "classic"\nepochs = 3\nseeds = [1, 2]\nmodels = ["lstm"]\ndataset = "random_walk"\n')
    (config,) = parse("--config", str(path))
    assert (config.preset, config.scaler, config.epochs, config.seeds) == ("classic", "minmax", 3, (1, 2))
    assert config.models[0] == "lstm" and "naive" in config.models and config.dataset == "random_walk"
    (config,) = parse("--config", str(path), "--epochs", "2", "--seeds", "4", "--scaler", "window")
    assert (config.epochs, config.seeds, config.scaler, config.preset) == (2, (0, 1, 2, 3), "window", "classic")


def test_every_run_flag_has_a_config_key():
    from benchmark.config.settings import file_keys

    FILE_KEYS = file_keys()
    parser = cli.build_parser()
    run = parser._subparsers._group_actions[0].choices["run"]
    flags = {a.dest for a in run._actions} - {"help", "config", "set_values"}  # --set is the [sweep] table
    assert flags <= set(FILE_KEYS), flags - set(FILE_KEYS)


@pytest.mark.parametrize(("text", "message"), [
    ("epoch = 3\n", "unknown key 'epoch'"),
    ("epochs = '3'\n", "key 'epochs' must be a integer"),
    ("early_stopping = 1\n", "key 'early_stopping' must be a true/false"),
    ("window = true\n", "key 'window' must be a integer"),
    ("epochs = [\n", "invalid TOML"),
])
def test_config_file_errors_name_the_key(tmp_path, text, message):
    path = tmp_path / "bad.toml"
    path.write_text(text)
    with pytest.raises(BenchmarkError, match=message.replace("(", r"\(")):
        parse("--config", str(path))


def test_shipped_experiment_files_resolve():
    for name in ("classic", "default", "backtest", "calibration"):
        configs = parse("--config", str(PROJECT_ROOT / "experiments" / f"{name}.toml"))
        assert configs and all(c.models for c in configs)
    (classic,) = parse("--config", str(PROJECT_ROOT / "experiments" / "classic.toml"))
    assert (classic.scaler, classic.test_size, classic.epochs, classic.optimizer) == ("minmax", 60, 50, "rmsprop")
    (backtest,) = parse("--config", str(PROJECT_ROOT / "experiments" / "backtest.toml"))
    assert (backtest.protocol, backtest.folds) == ("backtest", 4)


def test_backtest_settings_do_not_change_a_holdout_hash():
    (a,) = parse("--dataset", "random_walk")
    (b,) = parse("--dataset", "random_walk", "--window-type", "sliding")
    (c,) = parse("--dataset", "random_walk", "--protocol", "backtest", "--folds", "2")
    assert a.config_hash == b.config_hash != c.config_hash


@pytest.mark.slow
def test_backtest_run_writes_a_leaderboard_that_states_its_folds(tiny_csv, tmp_path, store):
    code = cli.main(["run", "--data", str(tiny_csv), "--models", "mlp", "--seeds", "2", "--protocol", "backtest",
                     "--folds", "3", "--tracking-uri", store, "--results-dir", str(tmp_path / "out"), *TINY_ARGS])
    assert code == 0
    text = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert "rolling-origin backtest, 3 folds" in text and "| test from" in text
    assert "(120 points, each scored once)" in text
    csv = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    assert set(csv["model"]) >= {"mlp", "naive", "mlp (ensemble)"}


@pytest.mark.slow
def test_calibration_verdicts(tmp_path, store):
    """Random walk: nothing beats persistence. Seasonal AR: every network beats it significantly (the feed-forward
    and a recurrent one here; the file itself runs all four)."""
    code = cli.main(["run", "--config", str(PROJECT_ROOT / "experiments" / "calibration.toml"), "--seeds", "2",
                     "--epochs", "4", "--models", "mlp,rnn", "--tracking-uri", store,
                     "--results-dir", str(tmp_path / "out")])
    assert code == 0
    csv = pd.read_csv(tmp_path / "out" / "leaderboard.csv")
    seeds = csv[csv["row"] == "seeds"]
    walk, seasonal = seeds[seeds["dataset"] == "random_walk"], seeds[seeds["dataset"] == "seasonal_ar"]
    assert len(walk) == len(seasonal) == 2
    assert not walk["significant"].any(), walk[["model", "mae_mean", "p_holm"]]
    assert seasonal["significant"].all(), seasonal[["model", "mae_mean", "p_holm"]]
    text = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert "No row is significantly better than persistence" in text.split("- **random_walk**:")[1].splitlines()[0]
    assert "Significantly better than persistence: " in text.split("- **seasonal_ar**:")[1].splitlines()[0]
    assert "## Across datasets" in text and "Friedman over 2 datasets" in text
    assert (tmp_path / "out" / "figures" / "critical_difference.png").stat().st_size > 10_000


@pytest.mark.parametrize(("argv", "message"), [
    (["--protocol", "backtest", "--folds", "3", "--step", "100"], "folds would overlap"),
    (["--set", "batch_size=abc"], "setting 'batch_size' must be an integer"),
    (["--set", "learning_rate=x"], "setting 'learning_rate' must be a number"),
    (["--set", "epochs=1.5"], "setting 'epochs' must be an integer"),
])
def test_impossible_settings_are_clear_errors(argv, message):
    with pytest.raises(BenchmarkError, match=message):
        parse("--dataset", "random_walk", "--models", "mlp", *argv)


def test_one_seed_listed_in_a_file_is_that_seed_and_rates_hash_alike(tmp_path):
    path = tmp_path / "exp.toml"
    path.write_text("seeds = [3]\nlearning_rate = 1\n")
    (config,) = parse("--config", str(path), "--dataset", "random_walk")
    assert config.seeds == (3,)
    (same,) = parse("--dataset", "random_walk", "--seeds", "3,", "--learning-rate", "1.0")
    assert config.config_hash == same.config_hash
