"""The model registry: every file in `models/` is a model, its file name the registry key.

A model file holds a docstring, `DEFAULTS` (its hyper-parameters) and `build(input_shape, horizon, **DEFAULTS)`.
Neural builders return an uncompiled Keras model; baselines set `SEEDED = False` and return an object with
`fit(x, y)` and `predict(x)` on the same scaled arrays. Adding a model is adding a file: no list to edit.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import MappingProxyType

from benchmark import PROJECT_ROOT
from benchmark.errors import BenchmarkError

MODELS_DIR = PROJECT_ROOT / "models"
# Extra folders of model files (os.pathsep-separated), e.g. your own architectures kept outside this repository.
EXTRA_MODELS_ENV = "FORECAST_BENCHMARK_MODELS"


@dataclass(frozen=True)
class ModelSpec:
    name: str
    description: str
    defaults: Mapping[str, object]
    build: Callable
    seeded: bool  # neural models train once per seed; deterministic baselines run once
    cost: float = 1.0  # rough training time relative to an LSTM; the runner starts the costliest trials first

    @property
    def kind(self) -> str:
        return "neural" if self.seeded else "baseline"


def _load(path) -> ModelSpec:
    module_spec = importlib.util.spec_from_file_location(f"benchmark_models.{path.stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    for attr in ("DEFAULTS", "build"):
        if not hasattr(module, attr):
            raise BenchmarkError(f"{path}: a model file must define {attr}")
    doc = (module.__doc__ or path.stem).strip().splitlines()[0]
    return ModelSpec(path.stem, doc, MappingProxyType(dict(module.DEFAULTS)), module.build,
                     getattr(module, "SEEDED", True), float(getattr(module, "COST", 1.0)))


@cache
def registry() -> dict[str, ModelSpec]:
    """All models, neural first then baselines, each group by name."""
    folders = [MODELS_DIR, *(Path(p) for p in os.environ.get(EXTRA_MODELS_ENV, "").split(os.pathsep) if p)]
    specs = [_load(p) for folder in folders for p in sorted(folder.glob("*.py")) if not p.name.startswith("_")]
    names = [s.name for s in specs]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise BenchmarkError(f"model name(s) defined twice: {', '.join(duplicates)} (check ${EXTRA_MODELS_ENV})")
    return {s.name: s for s in sorted(specs, key=lambda s: (not s.seeded, s.name))}


def neural_names() -> list[str]:
    return [name for name, spec in registry().items() if spec.seeded]


def baseline_names() -> list[str]:
    return [name for name, spec in registry().items() if not spec.seeded]


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
