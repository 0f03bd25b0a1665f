"""The model registry: every file in `models/` is a model, its file name the registry key.

A model file holds a docstring, `DEFAULTS` (its hyper-parameters) and
`build(input_shape, horizon, options, **hyperparameters)`; `options` is a `BuildOptions` (unroll, seed) the trainer
passes explicitly. Optional module constants, each independent of the others:

- `FAMILY`: "keras" (default; `build` returns an uncompiled Keras model, compiled and trained the same way for every
  network), "estimator" (`build` returns an `Estimator`: `fit(x, y)` and `predict(x)` on the same scaled arrays) or
  "series" (`build` returns a `SeriesForecaster`: a statistical model fitted on the training part of the price
  series, then forecasting from every test origin with fixed parameters);
- `STOCHASTIC`: trained once per seed (default True for keras, False for estimator); a stochastic estimator gets
  its seed as `options.seed`;
- `REFERENCE = True`: the model every other one is judged against (exactly one: `naive`);
- `COST`: rough training time relative to an LSTM (default 1.0 for keras, 0.0 for estimator); only orders the work.

`SEEDED` is a legacy alias: `SEEDED = False` means `FAMILY = "estimator"`. Adding a model is adding a file: no list
to edit.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from benchmark.errors import BenchmarkError
from benchmark.files import bundled

if TYPE_CHECKING:
    import keras
    import numpy as np

MODELS_DIR = bundled("models")
# Extra folders of model files (os.pathsep-separated), e.g. your own architectures kept outside this repository.
EXTRA_MODELS_ENV = "FORECAST_BENCHMARK_MODELS"

FAMILIES = ("keras", "estimator", "series")
# The builder's leading parameters, passed positionally by the trainer; every later parameter is a hyper-parameter.
FIXED_PARAMETERS = ("input_shape", "horizon", "options")


@dataclass(frozen=True)
class BuildOptions:
    """How to build, decided by the experiment and the trial rather than by the model: passed to every builder."""

    unroll: bool = False  # recurrent layers unroll their time loop (`--unroll`); ignored by what has no time loop
    # The trial's seed (None for an estimator that is not stochastic). Keras is already seeded by the trainer when a
    # Keras builder runs, and its compiled model is reused across seeds: the seed must not change its architecture.
    seed: int | None = None


@runtime_checkable
class Estimator(Protocol):
    """What an estimator builder returns: fitted and applied on the same scaled windows as the networks."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> Estimator:
        """x: [n, lookback, 1] scaled windows, y: [n, horizon] scaled targets; returns self."""
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x: [n, lookback, 1] -> [n, horizon] scaled forecasts."""
        ...


@runtime_checkable
class SeriesForecaster(Protocol):
    """What a "series" builder returns: fitted once on the training part of the series (price scale), then run with
    those parameters fixed over the observed values."""

    def fit(self, train: np.ndarray) -> SeriesForecaster:
        """train: the training part's values, oldest first; returns self."""
        ...

    def forecast(self, values: np.ndarray, origins: np.ndarray, horizon: int) -> np.ndarray:
        """[len(origins), horizon] forecasts; row i may use values[:origins[i]] only (tested by perturbing the
        values after an origin)."""
        ...


class KerasBuilder(Protocol):
    """`build` of a "keras" model: an uncompiled model mapping [batch, lookback, 1] to [batch, horizon]."""

    def __call__(self, input_shape: tuple[int, int], horizon: int, options: BuildOptions,
                 **hyperparameters: Any) -> keras.Model: ...


class EstimatorBuilder(Protocol):
    """`build` of an "estimator" model: an unfitted `Estimator` for inputs [n, lookback, 1], outputs [n, horizon]."""

    def __call__(self, input_shape: tuple[int, int], horizon: int, options: BuildOptions,
                 **hyperparameters: Any) -> Estimator: ...


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    defaults: Mapping[str, object]
    build: Callable  # KerasBuilder or EstimatorBuilder, by `family`
    family: str = "keras"  # "keras": compiled and trained by the trainer; "estimator": fit(x, y) / predict(x)
    stochastic: bool = True  # trained once per seed; otherwise once, without a seed
    reference: bool = False  # the model every other one is judged against (exactly one registered model)
    cost: float = 1.0  # rough training time relative to an LSTM; the runner starts the costliest trials first
    hyperparameters: tuple[str, ...] = ()  # the builder's parameters after FIXED_PARAMETERS, by name

    @property
    def kind(self) -> str:
        """The label reports use: "neural" for the Keras family, "baseline" for estimators and statistical models."""
        return "neural" if self.family == "keras" else "baseline"


def _hyperparameters(path: Path, build: Callable, defaults: Mapping[str, object]) -> tuple[str, ...]:
    """The builder's hyper-parameter names, after checking its signature against the contract and DEFAULTS."""
    if not callable(build):
        raise BenchmarkError(f"{path}: build must be a function")
    params = list(inspect.signature(build).parameters.values())
    fixed = [p.name for p in params[:len(FIXED_PARAMETERS)]]
    if tuple(fixed) != FIXED_PARAMETERS or any(
            p.kind not in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in params[:len(FIXED_PARAMETERS)]):
        raise BenchmarkError(f"{path}: build's first parameters must be ({', '.join(FIXED_PARAMETERS)}), "
                             f"got ({', '.join(fixed)})")
    rest = params[len(FIXED_PARAMETERS):]
    unnamed = [p.name for p in rest if p.kind not in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)]
    if unnamed:
        raise BenchmarkError(f"{path}: build's hyper-parameters must be named parameters, not "
                             f"{', '.join(unnamed)} (*args, **kwargs and positional-only ones cannot be set by name)")
    names = tuple(p.name for p in rest)
    unknown = [key for key in defaults if key not in names]
    if unknown:
        raise BenchmarkError(f"{path}: DEFAULTS names {', '.join(map(repr, unknown))}, which build does not take "
                             f"(its hyper-parameters: {', '.join(names) or 'none'})")
    missing = [p.name for p in rest if p.default is p.empty and p.name not in defaults]
    if missing:
        raise BenchmarkError(f"{path}: build's parameter(s) {', '.join(map(repr, missing))} have no default value "
                             "and are missing from DEFAULTS")
    return names


def _flag(path: Path, module, attr: str, default: bool) -> bool:
    value = getattr(module, attr, default)
    if not isinstance(value, bool):
        raise BenchmarkError(f"{path}: {attr} must be True or False, got {value!r}")
    return value


def _load(path) -> ModelSpec:
    path = Path(path)
    module_spec = importlib.util.spec_from_file_location(f"benchmark_models.{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    for attr in ("DEFAULTS", "build"):
        if not hasattr(module, attr):
            raise BenchmarkError(f"{path}: a model file must define {attr}")
    if not isinstance(module.DEFAULTS, Mapping):
        raise BenchmarkError(f"{path}: DEFAULTS must be a dict of hyper-parameter values")
    defaults = MappingProxyType(dict(module.DEFAULTS))
    legacy = "keras" if _flag(path, module, "SEEDED", True) else "estimator"  # SEEDED = False: the old baselines
    family = getattr(module, "FAMILY", legacy)
    if family not in FAMILIES:
        raise BenchmarkError(f"{path}: unknown FAMILY {family!r} (known: {', '.join(FAMILIES)})")
    is_keras = family == "keras"
    try:
        cost = float(getattr(module, "COST", 1.0 if is_keras else 0.0))
    except (TypeError, ValueError):
        raise BenchmarkError(f"{path}: COST must be a number, got {module.COST!r}") from None
    doc = (module.__doc__ or path.stem).strip().splitlines()[0]
    return ModelSpec(path.stem, doc, defaults, module.build, family=family,
                     stochastic=_flag(path, module, "STOCHASTIC", is_keras),
                     reference=_flag(path, module, "REFERENCE", False), cost=cost,
                     hyperparameters=_hyperparameters(path, module.build, defaults))


@cache
def registry() -> dict[str, ModelSpec]:
    """All models, Keras first then estimators, each group by name."""
    folders = [MODELS_DIR, *(Path(p) for p in os.environ.get(EXTRA_MODELS_ENV, "").split(os.pathsep) if p)]
    specs = [_load(p) for folder in folders for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BenchmarkError(f"model name(s) defined twice: {', '.join(duplicates)} (check ${EXTRA_MODELS_ENV})")
    references = [s.name for s in specs if s.reference]
    if len(references) > 1:
        raise BenchmarkError(f"only one model may set REFERENCE = True, got {', '.join(references)} "
                             f"(check ${EXTRA_MODELS_ENV})")
    return {s.name: s for s in sorted(specs, key=lambda s: (s.family != "keras", s.name))}


def reference() -> str:
    """The name of the model every other one is judged against (`REFERENCE = True`)."""
    names = [name for name, spec in registry().items() if spec.reference]
    if len(names) != 1:
        raise BenchmarkError(f"exactly one model must set REFERENCE = True, got {', '.join(names) or 'none'}")
    return names[0]


def neural_names() -> list[str]:
    """The Keras models, which `--models` chooses among."""
    return [name for name, spec in registry().items() if spec.family == "keras"]


def baseline_names() -> list[str]:
    """The estimators and statistical models, which always run."""
    return [name for name, spec in registry().items() if spec.family != "keras"]


def get(name: str) -> ModelSpec:
    try:
        return registry()[name]
    except KeyError:
        raise BenchmarkError(f"unknown model '{name}' (known: {', '.join(registry())})") from None


def select(text: str) -> tuple[str, ...]:
    """`all` or a comma list -> the neural models to train plus every baseline, which always run."""
    if text.strip() == "all":
        chosen = neural_names()
    else:
        chosen = [part.strip() for part in text.split(",") if part.strip()]
        if not chosen:
            raise BenchmarkError("--models needs 'all' or a comma list of model names")
        for name in chosen:
            get(name)
    baselines = [b for b in baseline_names() if b not in chosen]
    return tuple(dict.fromkeys([*chosen, *baselines]))
