"""The resolved, frozen experiment configuration and its hash, generated from the settings table.

`ExperimentConfig` has one field per row of `benchmark.config.settings.TABLE`; `resolve(preset, **values)` applies the
preset's defaults, checks every value against its row, then the rules that tie settings together (`validate`).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
from collections.abc import Iterable
from pathlib import Path

from benchmark.config import settings as _settings
from benchmark.config.settings import TABLE, Setting
from benchmark.errors import BenchmarkError


class _ConfigMethods:
    """What every generated config class has besides its fields."""

    TABLE: tuple[Setting, ...] = TABLE

    def hashed_fields(self) -> dict:
        """The values that decide the numbers; the data file counts by its checksum, not its path."""
        values = dataclasses.asdict(self)
        return {s.name: values[s.name] for s in self.TABLE if s.is_hashed(values)}

    @property
    def config_hash(self) -> str:
        """12 hex digits identifying the experiment without its seeds: equal hashes mean comparable runs."""
        blob = json.dumps(self.hashed_fields(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    def logged_settings(self) -> dict[str, object]:
        """Every setting that can decide the numbers, plus the preset: what each run records as params."""
        return {s.name: getattr(self, s.name) for s in self.TABLE
                if s.flag and (s.may_be_hashed() or s.name == "preset") and s.name != "dataset"}

    def verdict_settings(self) -> dict[str, object]:
        """How the results are judged (declared with the run, recorded in its parent run; never hashed)."""
        return {s.name: getattr(self, s.name) for s in self.TABLE if s.group == "verdict"}

    @property
    def fold_step(self) -> int:
        return self.step or self.test_size

    @property
    def dataset_name(self) -> str:
        return self.dataset if self.data is None else Path(self.data).stem


def config_class(table: Iterable[Setting] = TABLE, name: str = "ExperimentConfig") -> type:
    """A frozen dataclass with one field per setting (the table's order), and the table it came from."""
    table = tuple(table)
    fields = [(s.name, s.type | None if s.default is None and not s.presets else s.type,
               dataclasses.field(default=s.default, compare=s.compare)) for s in table]
    return dataclasses.make_dataclass(name, fields, bases=(_ConfigMethods,), frozen=True,
                                      namespace={"TABLE": table, "__module__": __name__})


ExperimentConfig = config_class()


def resolve(preset: str = "default", *, config_type: type = ExperimentConfig, **values_given) -> ExperimentConfig:
    """The preset's settings with every non-None override applied, each checked against its row, then validated."""
    table = config_type.TABLE
    values = _settings.preset_values(preset, table)
    values["preset"] = preset
    names = _settings.by_name(table)
    for key, value in values_given.items():
        if key not in names:
            raise BenchmarkError(f"unknown setting '{key}'")
        if value is not None:
            values[names[key].name] = value
    for setting in table:
        if setting.coerce is not None and values[setting.name] is not None:
            values[setting.name] = setting.coerce(values[setting.name])
    for setting in table:
        _settings.check_type(setting, values[setting.name], "setting")
    for setting in table:  # 1 and 1.0 are one experiment, one hash; lists become tuples
        value = values[setting.name]
        if setting.type is float and value is not None:
            values[setting.name] = float(value)
        elif setting.type is tuple and isinstance(value, list):
            values[setting.name] = tuple(value)
    for setting in table:
        _settings.check_value(setting, values[setting.name])
    config = config_type(**values)
    validate(config)
    return config


def validate(config: ExperimentConfig) -> None:
    """The rules that tie settings together (each setting's own range and choices are in its row)."""
    if config.early_stopping and config.val_size == 0:
        raise BenchmarkError("early stopping needs a validation split: set --val-size or --no-early-stopping")
    if not config.seeds or any(isinstance(s, bool) or not isinstance(s, int) or s < 0 for s in config.seeds):
        raise BenchmarkError(f"seeds must be non-negative integers, got {list(config.seeds)}")
    if config.protocol == "holdout" and config.folds != 1:
        raise BenchmarkError("--folds needs --protocol backtest")
    if config.folds > 1 and config.fold_step < config.test_size:
        raise BenchmarkError(f"--step {config.step} is shorter than the test size {config.test_size}: folds would "
                             "overlap and score test points twice")
    if not config.alpha < 0.5:
        raise BenchmarkError(f"--alpha must be below 0.5, got {config.alpha}")
    if config.scheduler and config.executor != "dask":
        raise BenchmarkError("--scheduler needs --executor dask")
    recursive = config.strategy == "recursive" and config.horizon > 1
    if config.quantiles and config.intervals == "pinball":
        if 0.5 not in config.quantiles:
            raise BenchmarkError("--intervals pinball needs the level 0.5 in --quantiles: a quantile network's "
                                 "median is its point forecast, the one the verdict scores")
        if recursive:
            raise BenchmarkError("--intervals pinball needs --strategy direct: a one-step quantile network's "
                                 "quantiles cannot be fed back as inputs")
    if config.training == "global":
        if config.scaler != "window":
            raise BenchmarkError(f"--training global needs --scaler window: a scaler fitted on a series' own "
                                 f"training part (--scaler {config.scaler}) would see dates after the panel's "
                                 "cut-off, and per-window scaling makes the series comparable")
        if config.data:
            raise BenchmarkError("--training global learns across several series: give --dataset prices or a comma "
                                 "list of datasets, not one --data file")
    if config.speed == "fastest" and (config.backend != "tensorflow" or config.unroll or config.kernel != "keras"):
        raise BenchmarkError("--speed fastest chooses each network's backend, unrolling and kernel (its model "
                             "file's FASTEST): drop --backend, --unroll and --kernel")
    if recursive and config.covariates:
        raise BenchmarkError("--covariates needs --strategy direct: a recursive forecast would need the columns' "
                             "future values")


def seeds_from_list(values: list) -> tuple[int, ...]:
    """A file's `seeds = [3]` is the seed 3, never a count."""
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values) \
            or len(set(values)) != len(values):
        raise BenchmarkError(f"seeds must list distinct non-negative integers, got {values}")
    return tuple(values)


MAX_SEEDS = 1000  # a stated limit: every seed trains every network once


def parse_seeds(text: str) -> tuple[int, ...]:
    """'5' -> seeds 0..4; '0,1,2' -> those seeds."""
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise BenchmarkError(f"--seeds must be at least 1, got {count}")
            if count > MAX_SEEDS:
                raise BenchmarkError(f"--seeds must be at most {MAX_SEEDS}, got {count}")
            return tuple(range(count))
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BenchmarkError(f"--seeds takes a count or a comma list of integers, got '{text}'") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise BenchmarkError(f"--seeds must list distinct non-negative integers, got '{text}'")
    if len(seeds) > MAX_SEEDS:
        raise BenchmarkError(f"--seeds must list at most {MAX_SEEDS} seeds, got {len(seeds)}")
    return seeds


def load_file(path: str, table: Iterable[Setting] = TABLE) -> dict:
    """An experiment file's settings, with unknown keys and wrong types reported by name."""
    import tomllib

    try:
        with open(path, "rb") as f:
            values = tomllib.load(f)
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"{path}: cannot read config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchmarkError(f"{path}: invalid TOML ({exc})") from None
    return _settings.check_file(values, path, table)
