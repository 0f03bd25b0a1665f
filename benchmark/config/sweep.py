"""Sweeps: `--set KEY=V1,V2` (or a `[sweep]` table) expands into a grid of configurations.

A key is a training setting (`optimizer`, `learning_rate`, `batch_size`, ...: any experiment setting that decides
the numbers) or a model hyper-parameter (a parameter of the model's builder), bare (`units`: every selected
network that has it) or for one model (`lstm.units`). Every grid point is its own configuration with its own
config hash, trained under every seed and resumable on its own. The best point per architecture is chosen on
validation MAE only (`select`), never on test data.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import json
from collections.abc import Iterable, Mapping

import pandas as pd

from benchmark.config import settings
from benchmark.config.experiment import ExperimentConfig, resolve
from benchmark.errors import BenchmarkError
from benchmark.models import registry


def setting_name(key: str) -> str | None:
    """The setting a `--set` key names (by its word or an alias), or None for a hyper-parameter key."""
    found = settings.sweepable().get(key)
    return found.name if found else None


def parse_value(text: str):
    """'64' -> 64, '1e-3' -> 0.001, 'true' -> True, anything else stays a string."""
    lowered = text.strip().lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text.strip()


def parse_sets(items: Iterable[str]) -> dict[str, list]:
    """['units=32,64', 'optimizer=adam'] -> {'units': [32, 64], 'optimizer': ['adam']}."""
    grid: dict[str, list] = {}
    for item in items:
        key, sep, values = item.partition("=")
        if not sep or not key.strip() or not values.strip():
            raise BenchmarkError(f"--set takes KEY=VALUE or KEY=V1,V2, got '{item}'")
        grid[key.strip()] = list(dict.fromkeys(parse_value(v) for v in values.split(",") if v.strip()))  # once
    return grid


def hyperparameters(model: str) -> set[str]:
    """A model's hyper-parameters: its builder's parameters after (input_shape, horizon, options), by name."""
    return set(registry.get(model).hyperparameters)


def check_keys(grid: Mapping[str, list], models: Iterable[str]) -> None:
    """Every key must be a sweepable setting or a hyper-parameter of the models it addresses."""
    networks = [m for m in models if registry.get(m).stochastic]
    for key, values in grid.items():
        if not values:
            raise BenchmarkError(f"--set {key}: needs at least one value")
        if setting_name(key):
            continue
        model, dot, name = key.rpartition(".")
        for target in ([model] if dot else networks):
            if target in networks:
                check_value_types(key, values, registry.get(target).defaults.get(name))
        if dot:
            if model not in networks:
                raise BenchmarkError(f"--set {key}: '{model}' is not one of the selected networks "
                                     f"({', '.join(networks)})")
            if name not in hyperparameters(model):
                raise BenchmarkError(f"--set {key}: model '{model}' has no hyper-parameter '{name}' "
                                     f"(it has: {', '.join(sorted(hyperparameters(model)))})")
            continue
        lacking = [m for m in networks if name not in hyperparameters(m)]
        if len(lacking) == len(networks):
            known = ", ".join(dict.fromkeys(s.name for s in settings.sweepable().values()))
            params = ", ".join(sorted(set().union(*map(hyperparameters, networks))))
            raise BenchmarkError(f"--set {key}: unknown setting or hyper-parameter (settings: {known}; "
                                 f"hyper-parameters: {params})")
        if lacking:
            raise BenchmarkError(f"--set {key}: model(s) {', '.join(lacking)} have no hyper-parameter '{name}'; "
                                 f"name the model, e.g. {next(m for m in networks if m not in lacking)}.{name}")


def check_value_types(key: str, values: list, default) -> None:
    """A hyper-parameter's grid values must have its default's kind: numbers for a number (or for each layer of
    a per-layer tuple), true/false for a flag, a name for a name. A builder parameter without a default takes
    anything."""
    if default is None:
        return
    sample = default[0] if isinstance(default, tuple | list) and default else default
    kinds = {bool: (bool,), int: (int,), float: (int, float), str: (str,)}
    allowed = next((v for k, v in kinds.items() if isinstance(sample, k)), None)
    for value in values:
        items = value if isinstance(value, tuple | list) else [value]
        if allowed and any(not isinstance(v, allowed) or (bool not in allowed and isinstance(v, bool))
                           for v in items):
            wanted = {(bool,): "true or false", (int,): "an integer", (int, float): "a number",
                      (str,): "a name"}[allowed]
            raise BenchmarkError(f"--set {key}: {value!r} is not {wanted} (the default is {default!r})")


def expand(base: ExperimentConfig, grid: Mapping[str, list]) -> list[ExperimentConfig]:
    """One config per grid point: settings replace config fields, hyper-parameters go into `overrides`."""
    if not grid:
        return [base]
    check_keys(grid, base.models)
    if base.val_size == 0:
        raise BenchmarkError("a sweep chooses on validation data: set --val-size (the classic preset has none)")
    keys = list(grid)
    sweep_id = hashlib.sha256(json.dumps([base.config_hash, base.dataset_name, sorted(grid.items())],
                                         default=str).encode()).hexdigest()[:12]
    points = []
    for values in itertools.product(*(grid[k] for k in keys)):
        point = dict(zip(keys, values, strict=True))
        chosen = {setting_name(k): v for k, v in point.items() if setting_name(k)}
        overrides = tuple(sorted((k, v) for k, v in point.items() if not setting_name(k)))
        values = {**dataclasses.asdict(base), **chosen, "overrides": overrides,
                  "sweep": tuple(point.items()), "sweep_id": sweep_id}
        values.pop("data_checksum")
        config = resolve(values.pop("preset"), **values)
        points.append(dataclasses.replace(config, data_checksum=base.data_checksum))
    return points


def apply_overrides(model: str, defaults: Mapping, overrides: Iterable[tuple[str, object]]) -> dict:
    """The model's hyper-parameters for one grid point: `lstm.units` beats `units`; a scalar given for a
    per-layer default (units=64 for (50, 100)) applies to every layer."""
    params = dict(defaults)
    general = {k: v for k, v in overrides if "." not in k}
    specific = {k.split(".", 1)[1]: v for k, v in overrides if k.startswith(f"{model}.")}
    names = hyperparameters(model)
    for name, value in {**general, **specific}.items():
        if name not in names:
            continue
        default = defaults.get(name)
        if isinstance(default, tuple | list) and not isinstance(value, tuple | list):
            value = tuple([value] * len(default))
        params[name] = value
    return params


def label(config: ExperimentConfig) -> str:
    """'units=32, optimizer=adam' for a grid point ('' outside sweeps)."""
    return ", ".join(f"{k}={v}" for k, v in config.sweep)


def select(trials: pd.DataFrame) -> pd.DataFrame:
    """The grid point per model with the lowest mean validation MAE over its finished seeds.

    `trials` has one row per finished trial with columns model, point (the grid point's label) and val_mae. Test
    metrics are not looked at, so changing the test targets can never change the choice. Ties keep the first
    point in grid order.
    """
    means = trials.groupby(["model", "point"], sort=False)["val_mae"].mean().reset_index()
    best = means.loc[means.groupby("model", sort=False)["val_mae"].idxmin()]
    return best.reset_index(drop=True)


def sensitivity(trials: pd.DataFrame) -> pd.DataFrame:
    """Per model, the spread of mean test MAE over the grid: min / median / max and the number of points."""
    per_point = trials.groupby(["model", "point"], sort=False)["mae"].mean().reset_index()
    out = per_point.groupby("model", sort=False)["mae"].agg(["min", "median", "max", "count"])
    return out.rename(columns={"count": "points"}).reset_index()
