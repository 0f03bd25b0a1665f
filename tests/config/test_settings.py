"""The settings table: one row is a setting everywhere (flag, file key, hash, params, `--set`), and the committed
results keep their config hashes."""

from __future__ import annotations

import argparse
import dataclasses
import math

import pytest

from benchmark import cli
from benchmark.config import experiment, settings
from benchmark.config.settings import Setting
from benchmark.data import catalog
from benchmark.errors import BenchmarkError
from benchmark.models import optimization
from benchmark.pipeline import windows

# A setting a later change might add: declared here, in the test, and nowhere else.
NEW = Setting("gradient_clip", float, "clip gradients at this norm (0: off)", "training", default=0.0, minimum=0,
              sweepable=True, hashed=lambda values: values["gradient_clip"] != 0.0)
TABLE = (*settings.TABLE, NEW)


def test_a_setting_added_to_the_table_reaches_flags_files_hash_params_and_sweeps(tmp_path):
    extended = experiment.config_class(TABLE)
    parser = argparse.ArgumentParser()
    settings.add_arguments(parser, TABLE)
    args = parser.parse_args(["--gradient-clip", "0.5", "--epochs", "3"])
    assert settings.given(args, TABLE) == {"gradient_clip": 0.5, "epochs": 3}
    assert "gradient_clip" in settings.file_keys(TABLE)
    path = tmp_path / "exp.toml"
    path.write_text("gradient_clip = 1\n")
    assert experiment.load_file(str(path), TABLE) == {"gradient_clip": 1}
    path.write_text("gradient_clip = 'x'\n")
    with pytest.raises(BenchmarkError, match="key 'gradient_clip' must be a number"):
        experiment.load_file(str(path), TABLE)
    off = experiment.resolve("default", config_type=extended)
    on = experiment.resolve("default", config_type=extended, gradient_clip=1)
    assert on.gradient_clip == 1.0 and isinstance(on.gradient_clip, float)
    assert off.config_hash == experiment.resolve("default").config_hash  # at its neutral value: earlier hashes hold
    assert on.config_hash != off.config_hash
    assert on.logged_settings()["gradient_clip"] == 1.0
    assert settings.sweepable(TABLE)["gradient_clip"] is NEW
    with pytest.raises(BenchmarkError, match="--gradient-clip must be at least 0"):
        experiment.resolve("default", config_type=extended, gradient_clip=-1)


def test_choices_come_from_the_implementations():
    rows = settings.by_name()
    assert rows["loss"].choices == tuple(optimization.LOSSES)
    assert rows["optimizer"].choices == tuple(optimization.OPTIMIZERS)
    assert rows["scaler"].choices == windows.SCALERS
    assert rows["window_type"].choices == windows.WINDOW_TYPES


def test_one_word_per_setting_with_old_words_as_aliases(tmp_path):
    assert settings.by_name()["window"].name == "lookback"
    (by_flag,) = cli.configs_from_args(cli.build_parser().parse_args(["run", "--window", "30"]))
    path = tmp_path / "old.toml"
    path.write_text("window = 30\n")
    (by_file,) = cli.configs_from_args(cli.build_parser().parse_args(["run", "--config", str(path)]))
    assert by_flag.lookback == by_file.lookback == 30


@pytest.mark.parametrize(("values", "message"), [
    ({"learning_rate": math.nan}, "--learning-rate must be a finite number"),
    ({"learning_rate": math.inf}, "--learning-rate must be a finite number"),
    ({"learning_rate": 0}, "--learning-rate must be positive"),
    ({"lookback": 0}, "--lookback must be at least 1"),
    ({"epochs": 2.5}, "setting 'epochs' must be an integer"),
    ({"early_stopping": "yes"}, "setting 'early_stopping' must be true or false"),
    ({"loss": "hinge"}, "unknown loss 'hinge' (known: mse, mae, huber)"),
    ({"colour": "red"}, "unknown setting 'colour'"),
])
def test_every_value_is_checked_against_its_row(values, message):
    with pytest.raises(BenchmarkError, match=message.replace("(", r"\(").replace(")", r"\)")):
        experiment.resolve("default", **values)


def test_presets_come_from_the_table():
    classic, default = experiment.resolve("classic"), experiment.resolve("default")
    assert (classic.scaler, classic.test_size, classic.optimizer, classic.early_stopping) == ("minmax", 60,
                                                                                            "rmsprop", False)
    assert (default.scaler, default.test_size, default.optimizer, default.early_stopping) == ("window", 250,
                                                                                            "adam", True)


def _hashes(*argv: str) -> list[str]:
    checksum = catalog.load("msft").checksum
    configs = cli.configs_from_args(cli.build_parser().parse_args(["run", *argv]))
    return [dataclasses.replace(c, data_checksum=checksum).config_hash for c in configs]


@pytest.mark.parametrize(("argv", "expected"), [
    (["--models", "all"], ["9e792e70964c"]),  # results/LEADERBOARD.md
    (["--preset", "classic", "--seeds", "3"], ["b2045a28959e"]),  # results/classic
    (["--scaler", "minmax", "--seeds", "3"], ["9efc324900d1"]),  # results/default-minmax
    (["--config", "experiments/backtest.toml"], ["47aeac33f689"]),  # results/backtest
    (["--models", "lstm,gru", "--set", "units=32,64", "--set", "optimizer=adam,rmsprop", "--seeds", "3"],
     ["8d78f92b6a10", "7f537845f7f1", "1bffc4a4ce16", "0a31b3e8bcb9"]),  # results/sweep
])
def test_committed_results_keep_their_config_hashes(argv, expected, monkeypatch):
    from benchmark import PROJECT_ROOT

    monkeypatch.chdir(PROJECT_ROOT)
    assert _hashes(*argv) == expected


def test_every_command_s_options_come_from_the_settings_rows():
    """`report`, `ui`, `calibrate` and `perf` take their flags from settings.COMMAND_OPTIONS; the rows they share
    with `run` keep the run table's words, types and checks."""
    parser = cli.build_parser()
    for command, rows in settings.COMMAND_OPTIONS.items():
        args = parser.parse_args([command])
        assert {r.name for r in rows} <= set(vars(args)), command
        for row in rows:
            assert getattr(args, row.name) == row.default, (command, row.name)
    shared = settings.by_name()
    report = {r.name: r for r in settings.COMMAND_OPTIONS["report"]}
    assert report["tracking_uri"] == shared["tracking_uri"]  # the very row of `run`
    calibrate = {r.name: r for r in settings.COMMAND_OPTIONS["calibrate"]}
    assert calibrate["metric"].choices == shared["metric"].choices
    with pytest.raises(BenchmarkError, match="--length must be at least 1, got 0"):
        settings.check_command_options(parser.parse_args(["calibrate", "--length", "0"]), "calibrate")
