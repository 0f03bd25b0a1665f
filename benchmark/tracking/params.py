"""The params a trial run carries: written (`to_params`) and read back (`from_params`) here only, so the words in
the store are spelt in one place.

Settings travel under their own table word (`lookback`, `scaler`, ...: `benchmark.config.settings` types them back),
hyper-parameters as `hp.NAME`, a sweep point's varied keys as `sweep.KEY`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

HYPERPARAMETER_PREFIX = "hp."
SWEEP_PREFIX = "sweep."
PARTS = ("train", "val", "test")


def seed_text(seed: int | None) -> str:
    """How a seed is stored as a param: deterministic models have none."""
    return "none" if seed is None else str(seed)


@dataclass(frozen=True)
class TrialParams:
    """What a trial's run records about itself besides its metrics."""

    model: str
    seed: str  # `seed_text`
    kind: str  # "neural" or "baseline"
    family: str  # the model file's FAMILY (its way of training)
    stochastic: bool
    reference: bool
    dataset: str
    data: str  # the user's CSV, or "" for a bundled dataset
    dataset_checksum: str
    settings: Mapping[str, object] = field(default_factory=dict)  # table word -> value
    train_windows: int = 0
    val_windows: int = 0
    test_points: int = 0
    dates: Mapping[str, str] = field(default_factory=dict)  # train_start, ..., test_end
    fold_dates: tuple[Mapping[str, str], ...] = ()  # per backtest fold
    hyperparameters: Mapping[str, object] = field(default_factory=dict)
    sweep: Mapping[str, object] = field(default_factory=dict)
    interval_source: str = ""  # with --quantiles: "model" (its own distribution) or "conformal (METHOD)"
    inputs: tuple[str, ...] = ()  # with --covariates: the channels the model read (the target first)
    panel: tuple[str, ...] = ()  # a global network (--training global): every series it learned from
    panel_cutoffs: tuple[str, ...] = ()  # ... the dates its training targets fell before, one per fold
    panel_train_windows: int = 0  # ... and how many windows it trained on (the last fold's)

    def to_params(self) -> dict[str, object]:
        params = {
            "model": self.model, "seed": self.seed, "kind": self.kind, "family": self.family,
            "stochastic": self.stochastic, "reference": self.reference,
            "dataset": self.dataset, "data": self.data, "dataset_checksum": self.dataset_checksum,
            **self.settings,
            "train_windows": self.train_windows, "val_windows": self.val_windows, "test_points": self.test_points,
            **self.dates,
            **{HYPERPARAMETER_PREFIX + k: v for k, v in self.hyperparameters.items()},
        }
        if self.interval_source:
            params["interval_source"] = self.interval_source
        if self.inputs:
            params["inputs"] = ",".join(self.inputs)
        if self.panel:
            params.update({"panel": ",".join(self.panel), "panel_cutoffs": ",".join(self.panel_cutoffs),
                           "panel_train_windows": self.panel_train_windows})
        if len(self.fold_dates) > 1:
            params["fold_dates"] = json.dumps(list(self.fold_dates))
        params.update({SWEEP_PREFIX + k: v for k, v in self.sweep.items()})
        return params

    @classmethod
    def from_params(cls, params: Mapping[str, str]) -> TrialParams:
        """The record as stored (text values typed back; settings stay text for the settings table to type). A
        store of a version that logged no `stochastic` / `reference`: networks were the stochastic models and
        persistence the reference."""
        kind = params.get("kind", "")

        def flag(name: str, otherwise: bool) -> bool:
            return params[name] == "True" if name in params else otherwise

        own = {"model", "seed", "kind", "family", "stochastic", "reference", "dataset", "data", "dataset_checksum",
               "train_windows", "val_windows", "test_points", "fold_dates", "interval_source", "kernel_used",
               "inputs", "panel", "panel_cutoffs", "panel_train_windows"}
        dates = {k: v for k, v in params.items() if k.split("_")[0] in PARTS and k.endswith(("_start", "_end"))}
        return cls(
            model=params.get("model", ""), seed=params.get("seed", ""), kind=kind, family=params.get("family", ""),
            stochastic=flag("stochastic", kind == "neural"),
            reference=flag("reference", params.get("model") == "naive"),
            dataset=params.get("dataset", ""), data=params.get("data", ""),
            dataset_checksum=params.get("dataset_checksum", ""),
            settings={k: v for k, v in params.items() if k not in own and k not in dates
                      and not k.startswith((HYPERPARAMETER_PREFIX, SWEEP_PREFIX))},
            train_windows=int(params.get("train_windows", 0)), val_windows=int(params.get("val_windows", 0)),
            test_points=int(params.get("test_points", 0)), dates=dates,
            fold_dates=tuple(json.loads(params["fold_dates"])) if params.get("fold_dates") else (),
            hyperparameters={k.removeprefix(HYPERPARAMETER_PREFIX): v for k, v in params.items()
                             if k.startswith(HYPERPARAMETER_PREFIX)},
            sweep={k.removeprefix(SWEEP_PREFIX): v for k, v in sorted(params.items()) if k.startswith(SWEEP_PREFIX)},
            interval_source=params.get("interval_source", ""),
            inputs=tuple(filter(None, params.get("inputs", "").split(","))),
            panel=tuple(filter(None, params.get("panel", "").split(","))),
            panel_cutoffs=tuple(filter(None, params.get("panel_cutoffs", "").split(","))),
            panel_train_windows=int(params.get("panel_train_windows", 0)),
        )
