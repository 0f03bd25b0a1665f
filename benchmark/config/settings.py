"""The one table of settings. Each row is one setting, named by one word used everywhere: the config field, the
`--flag`, the experiment-file key, the MLflow param, the `--set` key and the leaderboard's settings rows.

Everything else is generated from this table: the frozen config class and its hash (`benchmark.config.experiment`), the
command line (`add_arguments`), the experiment-file checks (`check_file`), value checks (`check_value`), the
presets and the params every run logs. Adding a setting is adding a row here, then using it.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from benchmark.data.catalog import DEFAULT_DATASET
from benchmark.data.series import FILL_METHODS
from benchmark.errors import BenchmarkError
from benchmark.models.backends import BACKENDS
from benchmark.models.conformal import INTERVAL_METHODS
from benchmark.models.optimization import LOSSES, OPTIMIZERS
from benchmark.pipeline.windows import SCALERS, STRATEGIES, WINDOW_TYPES

PRESETS = ("default", "classic")
GROUPS = {  # group -> heading of its block in `run --help`
    "data": "data",
    "protocol": "protocol (defaults come from --preset)",
    "training": "training (identical for every model)",
    "verdict": "verdict (declared before the run: the report cannot change them)",
    "execution": "grid and execution",
    "outputs": "tracking and outputs",
}
_TYPE_NAMES = {str: "string", int: "integer", float: "number", bool: "true/false", list: "list", dict: "table",
               tuple: "list"}


def _backtest(values: Mapping) -> bool:
    return values["protocol"] == "backtest"


@dataclass(frozen=True)
class Setting:
    """One setting. `hashed` decides whether it changes the numbers (and so the config hash): always, never, or
    only when a predicate on the other values holds (so that adding a setting at its neutral value keeps every
    earlier hash)."""

    name: str
    type: type  # the value's type in the config: int, float, bool, str or tuple
    help: str
    group: str  # a key of GROUPS; "internal" for fields the user never sets directly
    default: object = None  # where no preset gives a value
    presets: Mapping[str, object] = field(default_factory=dict)  # preset name -> its value
    choices: tuple | None = None
    minimum: float | None = None  # inclusive
    maximum: float | None = None  # inclusive: a stated limit on sizes
    positive: bool = False  # strictly above zero (and finite)
    hashed: bool | Callable[[Mapping], bool] = True
    sweepable: bool = False  # a `--set` / `[sweep]` key
    aliases: tuple[str, ...] = ()  # older words still accepted on the command line and in files
    metavar: str | None = None
    file_types: tuple[type, ...] | None = None  # what a TOML file may give (default: the value's type)
    parse: Callable[[str], object] | None = None  # command-line text -> value (default: the type)
    flag: bool = True  # a `--flag` of `run` (internal fields have none)
    compare: bool = True  # takes part in config equality (the data checksum completes a config, never splits it)
    # A value as given (command-line text, a file's list, an API argument) -> the config's value, raising
    # BenchmarkError with a one-line message; applied by `config.experiment.resolve` before the type checks.
    coerce: Callable[[object], object] | None = None
    compiles: bool = False  # decides Keras' compile(): part of the compiled-model cache key (models.training)

    @property
    def flag_name(self) -> str:
        return "--" + self.name.replace("_", "-")

    def default_for(self, preset: str):
        return self.presets.get(preset, self.default)

    def is_hashed(self, values: Mapping) -> bool:
        return self.hashed(values) if callable(self.hashed) else bool(self.hashed)

    def may_be_hashed(self) -> bool:
        """Whether this setting can ever decide the numbers (what the runs log as params)."""
        return bool(self.hashed)


def parse_jobs(text: str) -> int:
    """`auto` -> 0 (one worker per core), else a positive count."""
    if text == "auto":
        return 0
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number or auto, got '{text}'") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1 (or auto), got {value}")
    return value


def column_names(value) -> tuple[str, ...]:
    """'high,low,volume' or ['high', 'low', 'volume'] -> ('high', 'low', 'volume'); names unique, none empty."""
    parts = value.split(",") if isinstance(value, str) else list(value) if isinstance(value, list | tuple) else None
    if parts is None or not all(isinstance(p, str) for p in parts):
        raise BenchmarkError(f"--covariates takes a comma list of column names, got {value!r}")
    names = tuple(p.strip() for p in parts)
    if isinstance(value, str) and not value.strip():
        return ()
    if any(not n for n in names) or len(set(names)) != len(names):
        raise BenchmarkError(f"--covariates needs distinct, non-empty column names, got {value!r}")
    return names


def quantile_levels(value) -> tuple[float, ...]:
    """'0.05,0.5,0.95' or [0.05, 0.5, 0.95] -> (0.05, 0.5, 0.95): distinct levels strictly between 0 and 1, in
    ascending order (a list out of order is refused rather than reordered: it is likely a typo); text naming no
    level is refused, an empty list means none."""
    try:
        if isinstance(value, str):
            levels = tuple(float(p) for p in value.split(",") if p.strip())
        elif isinstance(value, list | tuple) and not any(isinstance(v, bool) for v in value):
            levels = tuple(float(v) for v in value)
        else:
            raise ValueError
    except (TypeError, ValueError):
        raise BenchmarkError(f"--quantiles takes a comma list of levels between 0 and 1, got {value!r}") from None
    if not levels and isinstance(value, str):
        raise BenchmarkError(f"--quantiles names no level, got {value!r} (leave it out for point forecasts only)")
    if any(not 0 < q < 1 for q in levels) or len(set(levels)) != len(levels):
        raise BenchmarkError(f"--quantiles needs distinct levels strictly between 0 and 1, got {value!r}")
    if list(levels) != sorted(levels):
        raise BenchmarkError(f"--quantiles needs its levels in ascending order, got {value!r}")
    return levels


def _both(classic, default) -> dict:
    return {"classic": classic, "default": default}


TABLE: tuple[Setting, ...] = (
    # ---- data
    Setting("dataset", str, "dataset name, a group (prices: the five bundled price series), a comma list, or 'all' "
            "(default: msft; see `datasets`)", "data",
            default=DEFAULT_DATASET, file_types=(str, list)),
    Setting("data", str, "your own CSV with a date and a price column", "data", metavar="PATH.csv",
            hashed=False),  # the data counts by its checksum, not its path
    Setting("target", str, "value column of --data (default: 'close', else the one 'clos…')", "data"),
    Setting("date_column", str, "date column of --data (default: 'date'/'time'/'timestamp')", "data"),
    Setting("date_format", str, "strptime format of --data's dates, e.g. %d/%m/%Y (default: ISO and other "
            "unambiguous forms; day/month orders are never guessed)", "data", metavar="FORMAT",
            hashed=lambda values: values["date_format"] is not None),
    Setting("fill", str, "forward-fill missing values instead of failing", "data", choices=FILL_METHODS),
    Setting("covariates", tuple, "extra input columns of the data (past values only, each scaled like the target) "
            "for the models that accept extra channels, e.g. high,low,volume; ohlcv: all of them the file has; "
            "log_return and range: derived (volume is taken on a log scale); baselines and statistical models read "
            "the target alone", "data", default=(), metavar="COLUMNS", parse=str, file_types=(str, list),
            coerce=column_names, hashed=lambda values: bool(values["covariates"])),
    # ---- protocol
    Setting("preset", str, "default: the suite's practice (the default); classic: the tutorial's protocol",
            "protocol", default="default", choices=PRESETS, hashed=False),
    Setting("protocol", str, "holdout: one test period (default); backtest: rolling origin over --folds test "
            "periods", "protocol", default="holdout", choices=("holdout", "backtest"), hashed=_backtest),
    Setting("folds", int, "backtest: number of test periods (default 1)", "protocol", default=1, minimum=1,
            metavar="K", hashed=_backtest),
    Setting("step", int, "backtest: points between origins (default: test size)", "protocol", default=0,
            minimum=0, metavar="N", hashed=_backtest),
    Setting("window_type", str, "backtest: training window grows (expanding, default) or keeps its length "
            "(sliding)", "protocol", default="expanding", choices=WINDOW_TYPES, hashed=_backtest),
    # The classic tutorial: a 60-day lookback, next day, MinMax fitted on train, test = final 60 days. The suite's
    # default scales per window (README "Choosing the default preset": measured on msft) and tests on a year of
    # trading days, so a verdict rests on 250 points rather than 60, with the year before it for validation.
    Setting("lookback", int, "past values each forecast sees (the window length)", "protocol",
            presets=_both(60, 60), minimum=1, metavar="N", sweepable=True, aliases=("window",)),
    Setting("horizon", int, "steps ahead to forecast; errors are reported per lead time 1..N", "protocol",
            presets=_both(1, 1), minimum=1, metavar="N"),
    Setting("strategy", str, "multi-step forecasts: direct (the network emits all --horizon values) or recursive "
            "(a one-step model fed its own forecasts); statistical models always use their own recursion",
            "protocol", default="direct", choices=STRATEGIES,
            hashed=lambda values: values["strategy"] != "direct" and values["horizon"] > 1),
    Setting("quantiles", tuple, "quantile levels to forecast besides the point, e.g. 0.05,0.1,0.5,0.9,0.95: from a "
            "model's own distribution (QUANTILES = True in its file), else conformal (--intervals); scored and "
            "tested in the leaderboard's probabilistic section; columns q0.05, ... of the forecast table",
            "protocol", default=(), metavar="LEVELS", parse=str, file_types=(str, list), coerce=quantile_levels,
            hashed=lambda values: bool(values["quantiles"]), compiles=True),
    Setting("intervals", str, "how a model without its own predictive distribution gets its --quantiles: split "
            "(split conformal on its validation errors per lead time), adaptive (adaptive conformal inference "
            "over the test origins, for errors that are not exchangeable) or pinball (the networks trained for the "
            "quantiles on the pinball loss, H x Q sorted outputs, their median the point; the other models split "
            "conformal); see docs/intervals.md", "protocol", default="split", choices=INTERVAL_METHODS,
            hashed=lambda values: bool(values["quantiles"]), compiles=True),
    Setting("scaler", str, "minmax / standard: fitted on the training part; window: each window's own level and "
            "spread", "protocol", presets=_both("minmax", "window"), choices=SCALERS, sweepable=True),
    Setting("test_size", int, "points in the test period", "protocol", presets=_both(60, 250), minimum=1,
            metavar="N"),
    Setting("val_size", int, "points in the validation period (0: none)", "protocol", presets=_both(0, 250),
            minimum=0, metavar="N"),
    # ---- training: the tutorial's fixed 50 epochs of RMSprop on MSE, batch 64; the default uses Adam with early
    # stopping on the validation year (best weights restored), so epochs is a cap.
    Setting("epochs", int, "epochs (a cap when early stopping)", "training", presets=_both(50, 50), minimum=1,
            metavar="N", sweepable=True),
    Setting("batch_size", int, "windows per gradient step", "training", presets=_both(64, 64), minimum=1,
            metavar="N", sweepable=True),
    Setting("loss", str, "training loss", "training", presets=_both("mse", "mse"), choices=tuple(LOSSES),
            sweepable=True, compiles=True),
    Setting("optimizer", str, "optimizer", "training", presets=_both("rmsprop", "adam"), choices=tuple(OPTIMIZERS),
            sweepable=True, compiles=True),
    Setting("learning_rate", float, "optimizer step size", "training", presets=_both(1e-3, 1e-3), positive=True,
            metavar="LR", sweepable=True, compiles=True),
    Setting("early_stopping", bool, "stop on validation loss and restore the best weights", "training",
            presets=_both(False, True), sweepable=True),
    Setting("patience", int, "early-stopping patience in epochs", "training", presets=_both(0, 5), minimum=0,
            metavar="N", sweepable=True),
    Setting("backend", str, "Keras backend: tensorflow (default) or jax (the jax extra: pip install "
            "'forecast-benchmark[jax]'); the numbers differ between backends, so each is its own experiment",
            "training", default="tensorflow", choices=BACKENDS,
            hashed=lambda values: values["backend"] != "tensorflow" and values.get("speed") != "fastest"),
    Setting("unroll", bool, "unroll recurrent layers over the window: one larger graph, traced once; faster epochs "
            "for some layers (LSTM), slower for others (GRU), see results/PERFORMANCE.md; float32 rounding differs "
            "slightly, so unrolled runs are a separate experiment", "training", default=False,
            hashed=lambda values: values["unroll"] and values.get("speed") != "fastest", compiles=True),
    Setting("kernel", str, "keras: the Keras layers as they are; fused: LSTM layers on TensorFlow's fused BlockLSTM "
            "kernel (the same weights and gates, equal outputs and gradients to float32 rounding, faster epochs on "
            "CPU; Keras' own layer where the kernel cannot serve, recorded per trial); rounding differs, so a fused "
            "run is its own experiment", "training", default="keras", choices=("keras", "fused"),
            hashed=lambda values: values["kernel"] != "keras" and values.get("speed") != "fastest", compiles=True),
    Setting("speed", str, "default: every network on --backend, --unroll and --kernel; fastest: each network on "
            "the implementation the harness measured fastest for it, fixed in its model file (FASTEST: mlp on JAX, "
            "rnn and gru unrolled, lstm on the fused kernel), recorded per trial; needs the jax extra where a "
            "network runs on JAX; rounding differs, so it is its own experiment", "training", default="default",
            choices=("default", "fastest"), hashed=lambda values: values["speed"] != "default"),
    Setting("training", str, "local: each network learns from its own series (default); global: besides the "
            "local rows, one network per architecture and seed learns from the training windows of every series of "
            "the run (--dataset prices or a comma list) whose targets fall before the panel's earliest test start, "
            "and forecasts each series' own test points: rows such as `lstm (global)`; needs --scaler window",
            "training", default="local", choices=("local", "global"),
            hashed=lambda values: values["training"] != "local"),
    # ---- the verdict: which family of tests, on which loss, at which level. Declared with the run and recorded in
    # its parent run, so the report applies what was declared and nobody gets a second chance after looking.
    Setting("metric", str, "the headline metric: the leaderboard ranks by it and the tests use its loss (absolute "
            "error for mae, squared error for rmse)", "verdict", default="mae", choices=("mae", "rmse"),
            hashed=False),
    Setting("alpha", float, "family-wise significance level of the tests against persistence (Holm)", "verdict",
            default=0.05, positive=True, hashed=False),
    Setting("equivalence_margin", float, "a row is equivalent to persistence when two one-sided tests (Holm over "
            "the family) put its skill within ± this share of persistence's loss (default 0.01: 1%)", "verdict",
            default=0.01, positive=True, hashed=False, metavar="SHARE"),
    Setting("ensembles", bool, "include the seed-ensemble rows (mean of the seeds' forecasts) in the leaderboard "
            "and in the family of tests", "verdict", default=True, hashed=False),
    # ---- which trials, and how to run them (never the numbers)
    Setting("models", tuple, "'all' (default) or a comma list, e.g. lstm,gru (baselines always run)", "execution",
            default=(), hashed=False, parse=str, file_types=(str, list)),
    Setting("seeds", tuple, "a count (default 5 -> seeds 0..4) or a comma list (0,1,2)", "execution",
            default=(0, 1, 2, 3, 4), hashed=False, parse=str, file_types=(int, list, str)),
    Setting("jobs", int, "worker processes for trials (default auto: one per core, each with one thread, as many "
            "as memory holds)", "execution", default=0, minimum=0, metavar="N|auto", hashed=False, parse=parse_jobs,
            file_types=(int, str)),
    Setting("steps_per_execution", int, "batches per compiled training call (default 16; speed only, same numbers)",
            "execution", default=16, minimum=1, metavar="N", hashed=False, compiles=True),
    Setting("search", str, "grid: every --set combination (default); optuna: sample --trials of them per "
            "architecture on validation MAE, then train the best under all seeds", "execution", default="grid",
            choices=("grid", "optuna"), hashed=False),
    Setting("trials", int, "optuna trials per architecture (default 10)", "execution", default=10, minimum=1,
            metavar="N", hashed=False),
    Setting("executor", str, "local: this machine's --jobs processes (default); dask: a Dask cluster", "execution",
            default="local", choices=("local", "dask"), hashed=False),
    Setting("scheduler", str, "existing Dask scheduler (default with --executor dask: a LocalCluster of --jobs "
            "workers)", "execution", metavar="tcp://HOST:PORT", hashed=False),
    Setting("force", bool, "retrain trials that already finished", "execution", default=False, hashed=False),
    # ---- outputs
    Setting("tracking_uri", str, "MLflow store (default: $MLFLOW_TRACKING_URI or ./mlflow.db)", "outputs",
            hashed=False),
    Setting("experiment", str, "MLflow experiment name (default: forecast-benchmark/DATASET)", "outputs",
            hashed=False),
    Setting("results_dir", str, "where the leaderboard and figures go (default: results)", "outputs",
            default="results", hashed=False),
    # ---- internal: set by sweeps, searches and the input checks, never by a flag
    Setting("overrides", tuple, "model hyper-parameters of a sweep point, e.g. (('lstm.units', 64),)", "internal",
            default=(), hashed=lambda values: bool(values["overrides"]), flag=False),
    Setting("stage", str, "'search': a hyper-parameter search trial, scored on validation only", "internal",
            default="final", hashed=lambda values: values["stage"] != "final", flag=False),
    Setting("sweep", tuple, "this grid point's varied keys and values (a label)", "internal", default=(),
            hashed=False, flag=False),
    Setting("sweep_id", str, "shared by every point of one sweep", "internal", default="", hashed=False, flag=False),
    Setting("data_checksum", str, "SHA-256 of the series: the data's identity in the hash", "internal", default="",
            flag=False, compare=False),
)


def compile_settings(table: Iterable[Setting] = TABLE) -> tuple[str, ...]:
    """The settings that decide a Keras model's compile() (marked `compiles`): the compiled-model cache key."""
    return tuple(s.name for s in table if s.compiles)


def by_name(table: Iterable[Setting] = TABLE) -> dict[str, Setting]:
    """Settings by their word and by every alias."""
    out = {}
    for setting in table:
        out[setting.name] = setting
        out.update(dict.fromkeys(setting.aliases, setting))
    return out


def preset_values(preset: str, table: Iterable[Setting] = TABLE) -> dict:
    """Every setting's value under a preset, before any override."""
    if preset not in PRESETS:
        raise BenchmarkError(f"unknown preset '{preset}' (known: {', '.join(PRESETS)})")
    return {s.name: s.default_for(preset) for s in table}


def user_settings(table: Iterable[Setting] = TABLE) -> list[Setting]:
    return [s for s in table if s.flag]


def sweepable(table: Iterable[Setting] = TABLE) -> dict[str, Setting]:
    """`--set` keys that are settings (by word and alias)."""
    return {k: s for k, s in by_name(table).items() if s.sweepable}


# ---------------------------------------------------------------- checks

def check_type(setting: Setting, value, where: str) -> None:
    """`value` (from a file, `--set` or an API call) has the setting's type; `where` names its origin."""
    if value is None:
        return
    kind = setting.type
    ok = {int: lambda v: isinstance(v, int) and not isinstance(v, bool),
          float: lambda v: isinstance(v, int | float) and not isinstance(v, bool),
          bool: lambda v: isinstance(v, bool),
          str: lambda v: isinstance(v, str),
          tuple: lambda v: isinstance(v, tuple | list)}[kind](value)
    if not ok:
        name = {int: "an integer", float: "a number", bool: "true or false", str: "a name", tuple: "a list"}[kind]
        raise BenchmarkError(f"{where} '{setting.name}' must be {name}, got {value!r}")


def check_value(setting: Setting, value) -> None:
    """Range and choice checks, with a message naming the setting as the user writes it."""
    if value is None:
        return
    if setting.choices is not None and value not in setting.choices:
        raise BenchmarkError(f"unknown {setting.name.replace('_', ' ')} '{value}' (known: "
                             f"{', '.join(map(str, setting.choices))})")
    if setting.type is float and not math.isfinite(value):
        raise BenchmarkError(f"{setting.flag_name} must be a finite number, got {value}")
    if setting.positive and value <= 0:
        raise BenchmarkError(f"{setting.flag_name} must be positive, got {value}")
    if setting.minimum is not None and value < setting.minimum:
        raise BenchmarkError(f"{setting.flag_name} must be at least {setting.minimum:g}, got {value}")
    if setting.maximum is not None and value > setting.maximum:
        raise BenchmarkError(f"{setting.flag_name} must be at most {setting.maximum:g}, got {value}")


def file_keys(table: Iterable[Setting] = TABLE) -> dict[str, tuple[type, ...]]:
    """Experiment-file keys (every flag's word and alias, plus the `[sweep]` table) and the TOML types they take."""
    keys = {}
    for setting in user_settings(table):
        default = {tuple: (list,), float: (float, int)}.get(setting.type, (setting.type,))
        types = setting.file_types or default
        keys.update(dict.fromkeys((setting.name, *setting.aliases), types))
    keys["sweep"] = (dict,)
    return keys


def check_file(values: Mapping, path: str, table: Iterable[Setting] = TABLE) -> dict:
    """An experiment file's settings: unknown keys and wrong types refused by name; aliases become their word."""
    keys, names = file_keys(table), by_name(table)
    out = {}
    for key, value in values.items():
        if key not in keys:
            raise BenchmarkError(f"{path}: unknown key '{key}' (known: {', '.join(keys)})")
        allowed = keys[key]
        wrong_bool = isinstance(value, bool) and bool not in allowed
        if wrong_bool or not isinstance(value, allowed):
            wanted = " or ".join(dict.fromkeys(_TYPE_NAMES[t] for t in allowed))
            raise BenchmarkError(f"{path}: key '{key}' must be a {wanted}, got {type(value).__name__} {value!r}")
        out[key if key == "sweep" else names[key].name] = value
    return out


# ---------------------------------------------------------------- the command line

def add_arguments(parser: argparse.ArgumentParser, table: Iterable[Setting] = TABLE) -> None:
    """One option per setting, grouped as in `run --help`; defaults stay None so presets and files can apply."""
    groups = {key: parser.add_argument_group(title) for key, title in GROUPS.items()}
    for setting in user_settings(table):
        flags = [setting.flag_name, *("--" + a.replace("_", "-") for a in setting.aliases)]
        switch = "store_true" if setting.name == "force" else argparse.BooleanOptionalAction
        groups[setting.group].add_argument(*flags, **_argparse_options(setting, None, switch))


def _argparse_options(setting: Setting, default, switch) -> dict:
    """argparse's keywords for one row: `switch` is the action of a true/false setting."""
    # argparse formats help with %: a row's help is plain text, so every % is escaped here, once
    options: dict = {"dest": setting.name, "default": default, "help": setting.help.replace("%", "%%")}
    if setting.type is bool:
        options["action"] = switch
    else:
        options["type"] = setting.parse or {int: int, float: float}.get(setting.type)
        if setting.choices is not None:
            options["choices"] = list(setting.choices)
        elif setting.metavar:
            options["metavar"] = setting.metavar
    return options


def given(args: argparse.Namespace, table: Iterable[Setting] = TABLE) -> dict:
    """The settings given on the command line (those left None were not)."""
    return {s.name: getattr(args, s.name) for s in user_settings(table) if getattr(args, s.name, None) is not None}


# ---------------------------------------------------------------- back from the store

def verdict_from_params(params: Mapping[str, str], table: Iterable[Setting] = TABLE) -> dict[str, object]:
    """The verdict settings a parent run declared (empty for runs of versions that declared none)."""
    table = tuple(table)
    verdict = {s.name for s in table if s.group == "verdict"}
    return {k: v for k, v in from_params(params, table).items() if k in verdict}


def from_params(params: Mapping[str, str], table: Iterable[Setting] = TABLE) -> dict[str, object]:
    """Typed setting values from the strings a run logged as params (the inverse of logging them)."""
    parsers = {bool: lambda t: t == "True", int: int, float: float, tuple: _logged_tuple}
    out = {s.name: None if params[s.name] == "None" else parsers.get(s.type, str)(params[s.name])
           for s in table if s.name in params}
    return {k: v for k, v in out.items() if v is not _UNREADABLE}


_UNREADABLE = object()


def _logged_tuple(text: str):
    """A tuple setting as a run logged it (`str(value)`: "('Volume',)", "(0.1, 0.9)"); anything else (a comma list
    an older version logged) is left out rather than guessed."""
    import ast

    try:
        value = ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return _UNREADABLE
    return value if isinstance(value, tuple) else _UNREADABLE


# ---------------------------------------------------------------- the other commands' options

def _shared(name: str, **changes) -> Setting:
    """A row of TABLE as another command takes it (its own default or help where they differ)."""
    return dataclasses.replace(by_name()[name], **changes)


_STORE = _shared("tracking_uri")
COMMAND_OPTIONS: dict[str, tuple[Setting, ...]] = {
    "report": (
        _STORE,
        _shared("experiment", help="experiment name (default: the most recent benchmark experiment)"),
        Setting("config_hash", str, "which configuration (default: the most recent run's)", "report"),
        _shared("results_dir", help="where the leaderboard and figures go (default: results)"),
    ),
    "ui": (
        Setting("port", int, "port of the MLflow UI on 127.0.0.1 (default 5000)", "ui", default=5000, minimum=1,
                metavar="PORT"),
        _STORE,
        _shared("experiment", help="experiment to open (default: the most recent benchmark experiment)"),
    ),
    "calibrate": (
        Setting("replications", int, "realizations per process for the baselines and the linear model "
                "(default 1000)", "calibrate", default=1000, minimum=1, metavar="R"),
        Setting("network_replications", int, "realizations per process with the networks of --models too "
                "(default 0: none)", "calibrate", default=0, minimum=0, metavar="R"),
        _shared("models", type=str, default="mlp", help="networks for the network pass (default mlp)", parse=None),
        _shared("seeds", type=int, default=2, minimum=1, help="seeds per network (default 2)", parse=None,
                metavar="N"),
        _shared("epochs", default=5, help="epochs at most (default 5)"),
        Setting("length", int, "points per series (default 1000, at most 1000000)", "calibrate", default=1000,
                minimum=1, maximum=1_000_000,
                metavar="N"),
        _shared("test_size", default=250, help="test points, and as many validation points (default 250)"),
        _shared("metric", help="headline metric and test loss (default mae)"),
        Setting("statistical", bool, "include the ARIMA, ETS and Theta baselines in the families (about 1 s per "
                "realization)", "calibrate", default=False),
        Setting("loss_draws", int, "draws per source and scenario when measuring the verdict's procedures on "
                "daily losses (skill intervals, TOST, SPA/StepM/MCS; default 500; 0 skips them)", "calibrate",
                default=500, minimum=0, metavar="R"),
        Setting("interval_draws", int, "random walks per case when measuring the interval tests (Kupiec, "
                "Christoffersen) and conformal coverage (default 1000; 0 skips them)", "calibrate", default=1000,
                minimum=0, maximum=1_000_000, metavar="R"),
        Setting("losses", str, "a leaderboard's daily-losses.csv to resample as the real source of those draws "
                "(default: none, the simulated walks only)", "calibrate", metavar="PATH"),
        Setting("output", str, "the generated report ('-': print only; default results/CALIBRATION.md)",
                "calibrate", default="results/CALIBRATION.md", metavar="PATH"),
    ),
    "compare": (
        Setting("base", str, "the reference board: a results folder (its leaderboard.csv) or the file", "compare",
                metavar="DIR"),
        Setting("other", str, "the board compared with it, of the same models under another implementation",
                "compare", metavar="DIR"),
        _shared("metric", help="the metric compared (default mae)"),
        _shared("alpha", help="family-wise level of both sets of tests, Holm over the rows (default 0.05)"),
        _shared("equivalence_margin", help="equivalent: two one-sided tests put the difference of mean metric "
                "within ± this share of the base board's mean (default 0.01: 1%)"),
        Setting("output", str, "write the comparison page here too (default: print only)", "compare",
                metavar="PATH"),
    ),
    "perf": (
        Setting("quick", bool, "a small version (CI): 400 days, 2-3 epochs, 1 seed", "perf", default=False),
        Setting("grid_repeats", int, "interleaved repeats of the full classic grid, plain vs the best setting "
                "(default 2; 0 skips it: about 35 minutes per repeat on 2 cores with the jax extra)", "perf", minimum=0,
                metavar="N"),
        Setting("repeats", int, "interleaved repeats of the short grid's variants (default 3)", "perf", minimum=1,
                metavar="N"),
        _shared("epochs", default=None, presets={}, help="epochs per trial of the short grid (default 5)"),
        _shared("seeds", type=int, default=None, minimum=1, help="seeds per model of the short grid (default 2)",
                parse=None, metavar="N"),
        Setting("only", str, "measure only these parts of the report, a comma list (default: all; an unknown part "
                "is refused with the list of parts; the report says which were not measured)", "perf",
                metavar="PARTS"),
        Setting("output", str, "the generated report ('-': print only; default results/PERFORMANCE.md)", "perf",
                default="results/PERFORMANCE.md", metavar="PATH"),
    ),
}


def add_command_options(parser: argparse.ArgumentParser, command: str) -> None:
    """The options of `report`, `ui`, `calibrate` or `perf`, from COMMAND_OPTIONS (defaults applied here: no
    preset or file stands between them and the user)."""
    for setting in COMMAND_OPTIONS[command]:
        parser.add_argument(setting.flag_name, **_argparse_options(setting, setting.default, "store_true"))


def check_command_options(args: argparse.Namespace, command: str) -> None:
    """Each option's range, by the command's own rows (one line naming the flag)."""
    for setting in COMMAND_OPTIONS[command]:
        check_value(setting, getattr(args, setting.name))
