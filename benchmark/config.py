"""Experiment configuration: presets, the resolved frozen config, and its hash."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass, field
from pathlib import Path

from benchmark.errors import BenchmarkError

LOSSES = ("mse", "mae", "huber")
PROTOCOLS = ("holdout", "backtest")
WINDOW_TYPES = ("expanding", "sliding")
BACKTEST_KEYS = ("protocol", "folds", "step", "window_type")
OPTIMIZERS = ("rmsprop", "adam")

# The classic tutorial protocol: 60-day window, next day, MinMax fitted on train, test = final 60 days,
# fixed 50 epochs of RMSprop on MSE with batch 64, no validation split.
CLASSIC = {
    "lookback": 60, "horizon": 1, "scaler": "minmax", "test_size": 60, "val_size": 0,
    "epochs": 50, "batch_size": 64, "loss": "mse", "optimizer": "rmsprop", "learning_rate": 1e-3,
    "early_stopping": False, "patience": 0,
}

# The suite's state of practice. Per-window scaling (README "Choosing the default preset": measured on msft),
# a year of trading days as test period so a verdict rests on 250 points rather than 60, the year before it
# for validation and early stopping with best weights restored; epochs is a cap.
DEFAULT = {
    "lookback": 60, "horizon": 1, "scaler": "window", "test_size": 250, "val_size": 250,
    "epochs": 50, "batch_size": 64, "loss": "mse", "optimizer": "adam", "learning_rate": 1e-3,
    "early_stopping": True, "patience": 5,
}

PRESETS = {"classic": CLASSIC, "default": DEFAULT}


@dataclass(frozen=True)
class ExperimentConfig:
    """Everything that decides a benchmark's numbers, plus how to run it (which never changes the numbers)."""

    # what is computed (hashed)
    dataset: str = "msft"
    data: str | None = None  # a user CSV instead of a bundled dataset
    target: str | None = None
    date_column: str | None = None
    fill: str | None = None
    preset: str = "default"
    lookback: int = 60
    horizon: int = 1
    scaler: str = "window"
    test_size: int = 250
    val_size: int = 250
    epochs: int = 50
    batch_size: int = 64
    loss: str = "mse"
    optimizer: str = "adam"
    learning_rate: float = 1e-3
    early_stopping: bool = True
    patience: int = 5
    protocol: str = "holdout"  # or "backtest": rolling origin over `folds` test windows
    folds: int = 1
    step: int = 0  # points between fold origins; 0 means the test size (folds tile the end of the series)
    window_type: str = "expanding"  # or "sliding": every fold trains on the same number of points
    overrides: tuple = ()  # model hyper-parameters set by a sweep point, e.g. (("lstm.units", 64),)
    stage: str = "final"  # "search": a hyper-parameter search trial, scored on validation only
    unroll: bool = False  # unrolled recurrent loops: faster epochs, float32 rounding differs (so it is hashed)
    # which trials and how to run them (not hashed)
    models: tuple[str, ...] = ()
    seeds: tuple[int, ...] = (0, 1, 2, 3, 4)
    jobs: int = 0  # worker processes; 0 = auto: one per core (measured fastest on 2 cores, results/PERFORMANCE.md)
    search: str = "grid"  # or "optuna": sample the --set space instead of running all of it
    trials: int = 10  # optuna trials per architecture
    steps_per_execution: int = 16  # batches per compiled call; changes speed, never the numbers (tested)
    executor: str = "local"  # or "dask"
    scheduler: str | None = None  # tcp://HOST:PORT of an existing Dask scheduler
    tracking_uri: str | None = None
    experiment: str | None = None
    force: bool = False
    results_dir: str = "results"
    sweep: tuple = ()  # this grid point's varied keys and values (a label; the numbers are decided above)
    sweep_id: str = ""  # shared by every point of one sweep
    data_checksum: str = field(default="", compare=False)

    RUN_ONLY = ("models", "seeds", "jobs", "search", "trials", "steps_per_execution", "executor", "scheduler",
                "tracking_uri", "experiment", "force", "results_dir", "data_checksum", "sweep", "sweep_id", "data",
                "preset")

    def hashed_fields(self) -> dict:
        """The fields that decide the numbers; the data file counts by its checksum, not its path."""
        values = {k: v for k, v in dataclasses.asdict(self).items() if k not in self.RUN_ONLY}
        values["data_checksum"] = self.data_checksum
        if self.protocol == "holdout":  # backtest settings mean nothing here and must not split identical runs
            for key in BACKTEST_KEYS:
                values.pop(key)
        if not self.overrides:
            values.pop("overrides")
        if self.stage == "final":
            values.pop("stage")
        if not self.unroll:
            values.pop("unroll")
        return values

    @property
    def config_hash(self) -> str:
        """12 hex digits identifying the experiment without its seeds: equal hashes mean comparable runs."""
        blob = json.dumps(self.hashed_fields(), sort_keys=True, default=str)
        return hashlib.sha256(blob.encode()).hexdigest()[:12]

    @property
    def fold_step(self) -> int:
        return self.step or self.test_size

    @property
    def dataset_name(self) -> str:
        return self.dataset if self.data is None else Path(self.data).stem


def resolve(preset: str = "default", **overrides) -> ExperimentConfig:
    """The preset's settings with every non-None override applied, validated."""
    if preset not in PRESETS:
        raise BenchmarkError(f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")
    values = dict(PRESETS[preset], preset=preset)
    values.update({k: v for k, v in overrides.items() if v is not None})
    check_types(values)
    values["learning_rate"] = float(values["learning_rate"])  # 1 and 1.0 are one experiment, one hash
    config = ExperimentConfig(**values)
    validate(config)
    return config


INT_FIELDS = ("lookback", "horizon", "test_size", "val_size", "epochs", "batch_size", "patience", "folds", "step",
              "jobs", "trials", "steps_per_execution")
STR_FIELDS = ("scaler", "loss", "optimizer", "protocol", "window_type", "executor", "search")


def check_types(values: dict) -> None:
    """Settings that came from `--set` or a file: integers must be integers, the learning rate a number."""
    for name in INT_FIELDS:
        if name in values and (isinstance(values[name], bool) or not isinstance(values[name], int)):
            raise BenchmarkError(f"setting '{name}' must be an integer, got {values[name]!r}")
    for name in STR_FIELDS:
        if name in values and not isinstance(values[name], str):
            raise BenchmarkError(f"setting '{name}' must be a name, got {values[name]!r}")
    rate = values.get("learning_rate")
    if isinstance(rate, bool) or not isinstance(rate, int | float):
        raise BenchmarkError(f"setting 'learning_rate' must be a number, got {rate!r}")
    for name in ("early_stopping", "unroll"):
        if not isinstance(values.get(name, True), bool):
            raise BenchmarkError(f"setting '{name}' must be true or false, got {values[name]!r}")


def validate(config: ExperimentConfig) -> None:
    """Reject impossible settings with a message naming the setting."""
    positive = {"lookback": config.lookback, "horizon": config.horizon, "test_size": config.test_size,
                "epochs": config.epochs, "batch_size": config.batch_size,
                "steps_per_execution": config.steps_per_execution}
    for name, value in positive.items():
        if value < 1:
            raise BenchmarkError(f"--{name.replace('_', '-')} must be at least 1, got {value}")
    if config.jobs < 0:
        raise BenchmarkError(f"--jobs must be a positive number or auto, got {config.jobs}")
    if config.val_size < 0 or config.patience < 0:
        raise BenchmarkError("--val-size and --patience must not be negative")
    if config.learning_rate <= 0:
        raise BenchmarkError(f"--learning-rate must be positive, got {config.learning_rate}")
    if config.loss not in LOSSES:
        raise BenchmarkError(f"unknown loss '{config.loss}' (known: {', '.join(LOSSES)})")
    if config.optimizer not in OPTIMIZERS:
        raise BenchmarkError(f"unknown optimizer '{config.optimizer}' (known: {', '.join(OPTIMIZERS)})")
    if config.early_stopping and config.val_size == 0:
        raise BenchmarkError("early stopping needs a validation split: set --val-size or --no-early-stopping")
    if any(s < 0 for s in config.seeds) or not config.seeds:
        raise BenchmarkError(f"seeds must be non-negative integers, got {list(config.seeds)}")
    if config.protocol not in PROTOCOLS:
        raise BenchmarkError(f"unknown protocol '{config.protocol}' (known: {', '.join(PROTOCOLS)})")
    if config.window_type not in WINDOW_TYPES:
        raise BenchmarkError(f"unknown window type '{config.window_type}' (known: {', '.join(WINDOW_TYPES)})")
    if config.folds < 1 or config.step < 0:
        raise BenchmarkError(f"--folds must be at least 1 and --step not negative, got {config.folds}, {config.step}")
    if config.protocol == "holdout" and config.folds != 1:
        raise BenchmarkError("--folds needs --protocol backtest")
    if config.folds > 1 and config.fold_step < config.test_size:
        raise BenchmarkError(f"--step {config.step} is shorter than the test size {config.test_size}: folds would "
                             "overlap and score test points twice")
    if config.executor not in ("local", "dask"):
        raise BenchmarkError(f"unknown executor '{config.executor}' (known: local, dask)")
    if config.search not in ("grid", "optuna") or config.trials < 1:
        raise BenchmarkError(f"--search takes grid or optuna and --trials at least 1, got {config.search}, "
                             f"{config.trials}")
    if config.scheduler and config.executor != "dask":
        raise BenchmarkError("--scheduler needs --executor dask")
    if config.fill not in (None, "ffill"):
        raise BenchmarkError(f"unknown --fill '{config.fill}' (known: ffill)")


def seeds_from_list(values: list) -> tuple[int, ...]:
    """A file's `seeds = [3]` is the seed 3, never a count."""
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 0 for v in values) \
            or len(set(values)) != len(values):
        raise BenchmarkError(f"seeds must list distinct non-negative integers, got {values}")
    return tuple(values)


def parse_seeds(text: str) -> tuple[int, ...]:
    """'5' -> seeds 0..4; '0,1,2' -> those seeds."""
    try:
        if "," not in text:
            count = int(text)
            if count < 1:
                raise BenchmarkError(f"--seeds must be at least 1, got {count}")
            return tuple(range(count))
        seeds = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise BenchmarkError(f"--seeds takes a count or a comma list of integers, got '{text}'") from None
    if not seeds or any(s < 0 for s in seeds) or len(set(seeds)) != len(seeds):
        raise BenchmarkError(f"--seeds must list distinct non-negative integers, got '{text}'")
    return seeds


# Every `run` option has a key of the same name in an experiment file (TOML), with the type it must have.
FILE_KEYS: dict[str, tuple[type, ...]] = {
    "dataset": (str, list), "data": (str,), "target": (str,), "date_column": (str,), "fill": (str,),
    "preset": (str,), "window": (int,), "horizon": (int,), "scaler": (str,), "test_size": (int,),
    "val_size": (int,), "epochs": (int,), "batch_size": (int,), "loss": (str,), "optimizer": (str,),
    "learning_rate": (float, int), "early_stopping": (bool,), "patience": (int,), "protocol": (str,),
    "folds": (int,), "step": (int,), "window_type": (str,), "models": (str, list), "seeds": (int, list, str),
    "jobs": (int, str), "search": (str,), "trials": (int,), "steps_per_execution": (int,), "unroll": (bool,),
    "executor": (str,), "scheduler": (str,), "tracking_uri": (str,), "experiment": (str,),
    "force": (bool,), "results_dir": (str,), "sweep": (dict,),
}


def load_file(path: str) -> dict:
    """An experiment file's settings, with unknown keys and wrong types reported by name."""
    import tomllib

    try:
        with open(path, "rb") as f:
            settings = tomllib.load(f)
    except FileNotFoundError:
        raise BenchmarkError(f"{path}: config file not found") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BenchmarkError(f"{path}: cannot read config file ({exc})") from None
    except tomllib.TOMLDecodeError as exc:
        raise BenchmarkError(f"{path}: invalid TOML ({exc})") from None
    for key, value in settings.items():
        if key not in FILE_KEYS:
            raise BenchmarkError(f"{path}: unknown key '{key}' (known: {', '.join(FILE_KEYS)})")
        allowed = FILE_KEYS[key]
        wrong_bool = isinstance(value, bool) and bool not in allowed
        if wrong_bool or not isinstance(value, allowed):
            names = " or ".join({"str": "string", "int": "integer", "float": "number", "bool": "true/false",
                                 "list": "list", "dict": "table"}[t.__name__] for t in allowed)
            raise BenchmarkError(f"{path}: key '{key}' must be a {names}, got {type(value).__name__} {value!r}")
    return settings
