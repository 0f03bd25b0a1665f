"""The model registry: every file in `models/` is a model, its file name the registry key.

What a model file declares is the model contract (`benchmark.models.contract`); the registry reads each file once,
checks its declarations against that contract and against what its way of training supports
(`benchmark.models.adapters`), and refuses a file that breaks them with a message naming the file.
"""

from __future__ import annotations

import importlib.util
import inspect
import os
import re
from collections.abc import Callable, Mapping
from functools import cache
from pathlib import Path
from types import MappingProxyType

from benchmark.errors import BenchmarkError
from benchmark.files import bundled
from benchmark.models import adapters
from benchmark.models.contract import CAPABILITIES, FIXED_PARAMETERS, ModelSpec

MODELS_DIR = bundled("models")
# Extra folders of model files (os.pathsep-separated), e.g. your own architectures kept outside this repository.
EXTRA_MODELS_ENV = "FORECAST_BENCHMARK_MODELS"


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


NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")  # model names reach tables, CSV cells, file names and filters


def _load(path) -> ModelSpec:
    path = Path(path)
    if not NAME.fullmatch(path.stem):
        raise BenchmarkError(f"{path}: a model file's name must be letters, digits, '_' or '-' (it names the model)")
    module_spec = importlib.util.spec_from_file_location(f"benchmark_models.{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    for attr in ("DEFAULTS", "build"):
        if not hasattr(module, attr):
            raise BenchmarkError(f"{path}: a model file must define {attr}")
    if not isinstance(module.DEFAULTS, Mapping):
        raise BenchmarkError(f"{path}: DEFAULTS must be a dict of hyper-parameter values")
    defaults = MappingProxyType(dict(module.DEFAULTS))
    family = getattr(module, "FAMILY", "keras")
    adapter = adapters.for_family(family) if isinstance(family, str) else None
    if adapter is None:
        raise BenchmarkError(f"{path}: unknown FAMILY {family!r} (known: {', '.join(adapters.ADAPTERS)})")
    capabilities = {field: _flag(path, module, constant, False) for constant, field in CAPABILITIES.items()}
    refused = adapters.unsupported(adapter, capabilities)
    if refused:
        raise BenchmarkError(f"{path}: {' and '.join(refused)} cannot be honoured by FAMILY {family!r} (it supports "
                             f"{', '.join(adapters.CAPABILITY_NAMES[c] for c in sorted(adapter.supports)) or 'none'})")
    try:
        cost = float(getattr(module, "COST", adapter.default_cost))
    except (TypeError, ValueError):
        raise BenchmarkError(f"{path}: COST must be a number, got {module.COST!r}") from None
    doc = (module.__doc__ or path.stem).strip().splitlines()[0]
    return ModelSpec(path.stem, doc, defaults, module.build, adapter,
                     stochastic=_flag(path, module, "STOCHASTIC", adapter.default_stochastic),
                     reference=_flag(path, module, "REFERENCE", False), cost=cost,
                     hyperparameters=_hyperparameters(path, module.build, defaults),
                     fastest=_fastest(path, module, adapter), **capabilities)


IMPLEMENTATIONS = {"backend": ("tensorflow", "jax"), "unroll": (False, True), "kernel": ("keras", "fused")}


def _fastest(path: Path, module, adapter) -> MappingProxyType:
    """FASTEST: {"backend": ..., "unroll": ..., "kernel": ...} (any of them), a network's `--speed fastest`."""
    value = getattr(module, "FASTEST", {})
    if not isinstance(value, Mapping):
        raise BenchmarkError(f"{path}: FASTEST must be a dict such as {{'unroll': True}}, got {value!r}")
    if value and not adapter.needs_keras:
        raise BenchmarkError(f"{path}: FASTEST chooses a network's implementation; FAMILY {adapter.name!r} has none")
    for key, choice in value.items():
        if key not in IMPLEMENTATIONS:
            raise BenchmarkError(f"{path}: FASTEST has unknown key {key!r} (known: {', '.join(IMPLEMENTATIONS)})")
        if choice not in IMPLEMENTATIONS[key] or type(choice) is not type(IMPLEMENTATIONS[key][0]):
            raise BenchmarkError(f"{path}: FASTEST[{key!r}] must be one of "
                                 f"{', '.join(map(repr, IMPLEMENTATIONS[key]))}, got {choice!r}")
    return MappingProxyType(dict(value))


def broken() -> dict[str, str]:
    """Plug-in model files (from $FORECAST_BENCHMARK_MODELS) that failed to load: name -> the one-line reason.
    They are listed as broken and refused when asked for; every other model still works."""
    registry()
    return dict(_BROKEN)


_BROKEN: dict[str, str] = {}


def _load_plugin(path: Path) -> ModelSpec | None:
    try:
        return _load(path)
    except Exception as exc:  # noqa: BLE001 - a user's file may raise anything while it is imported
        message = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        _BROKEN[path.stem] = message if message.startswith(str(path)) else f"{path}: {message}"
        return None


@cache
def registry() -> dict[str, ModelSpec]:
    """All models, Keras first then estimators, each group by name. The bundled model files must load; a plug-in
    file that does not is set aside (`broken`)."""
    plugins = [Path(p) for p in os.environ.get(EXTRA_MODELS_ENV, "").split(os.pathsep) if p]
    _BROKEN.clear()
    specs = [_load(p) for p in sorted(MODELS_DIR.glob("*.py")) if not p.name.startswith("_")]
    specs += [spec for folder in plugins for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")
              if (spec := _load_plugin(p)) is not None]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BenchmarkError(f"model name(s) defined twice: {', '.join(duplicates)} (check ${EXTRA_MODELS_ENV})")
    references = [s.name for s in specs if s.reference]
    if len(references) > 1:
        raise BenchmarkError(f"only one model may set REFERENCE = True, got {', '.join(references)} "
                             f"(check ${EXTRA_MODELS_ENV})")
    return {s.name: s for s in sorted(specs, key=lambda s: (not s.adapter.needs_keras, s.name))}


def reference() -> str:
    """The name of the model every other one is judged against (`REFERENCE = True`)."""
    names = [name for name, spec in registry().items() if spec.reference]
    if len(names) != 1:
        raise BenchmarkError(f"exactly one model must set REFERENCE = True, got {', '.join(names) or 'none'}")
    return names[0]


def neural_names() -> list[str]:
    """The networks, which `--models` chooses among."""
    return [name for name, spec in registry().items() if spec.adapter.needs_keras]


def baseline_names() -> list[str]:
    """The estimators and statistical models, which always run."""
    return [name for name, spec in registry().items() if not spec.adapter.needs_keras]


def get(name: str) -> ModelSpec:
    try:
        return registry()[name]
    except KeyError:
        if name in broken():
            raise BenchmarkError(f"model '{name}' is broken: {broken()[name]}") from None
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
