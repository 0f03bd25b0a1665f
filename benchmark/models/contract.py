"""The model contract: what a model file declares, what its builder returns, and what the trainer passes it.

A model file holds a docstring, `DEFAULTS` (its hyper-parameters) and
`build(input_shape, horizon, options, **hyperparameters)`; `input_shape` is `(lookback, channels)` and `options` a
`BuildOptions` (unroll, seed) the trainer passes explicitly. Optional module constants, each independent:

- `FAMILY`: the way it is trained, one adapter each (`benchmark.models.adapters`): "keras" (default; `build`
  returns an uncompiled Keras model, compiled and trained the same way for every network), "estimator" (`build`
  returns an `Estimator`: `fit(x, y)` and `predict(x)` on the same scaled windows) or "series" (`build` returns a
  `SeriesForecaster`: a statistical model fitted on the training part of the price series, then forecasting from
  every test origin with fixed parameters);
- capabilities, each True or False and checked at load against what the adapter supports:
  `QUANTILES` (forecasts its own quantiles at the run's `--quantiles` levels: `predict_quantiles` /
  `forecast_quantiles`; a model without it gets conformal quantiles from its validation errors), `CHANNELS`
  (accepts extra input channels: the run's `--covariates` after the target);
- `STOCHASTIC`: trained once per seed (default True for keras, False otherwise); a stochastic estimator gets its
  seed as `options.seed`;
- `REFERENCE = True`: the model every other one is judged against (exactly one: `naive`);
- `COST`: rough training time relative to an LSTM (default 1.0 for keras, 0.0 otherwise); only orders the work.

Adding a model is adding a file: no list to edit.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

import numpy as np

if TYPE_CHECKING:
    import keras

    from benchmark.config.experiment import ExperimentConfig
    from benchmark.pipeline.windows import Prepared

# The builder's leading parameters, passed positionally by the trainer; every later parameter is a hyper-parameter.
FIXED_PARAMETERS = ("input_shape", "horizon", "options")
# Capability flags a model file may set (module constant -> ModelSpec field), each False unless declared.
CAPABILITIES = {"QUANTILES": "quantiles", "CHANNELS": "channels"}


class TrialFailed(Exception):
    """A trial that cannot produce a forecast (diverged loss, broken model); recorded, not fatal to the run."""


@dataclass
class Fit:
    """What training produced: scaled test predictions and the record of how training went."""

    test_scaled: np.ndarray  # [n_test, horizon]
    val_scaled: np.ndarray | None = None  # [n_val, horizon], for choosing among configurations
    history: dict[str, list[float]] = field(default_factory=dict)  # per-epoch loss / val_loss
    epochs_run: int = 0
    best_epoch: int | None = None
    train_seconds: float = 0.0
    test_quantiles: np.ndarray | None = None  # [n_test, horizon, levels] scaled, from a model with QUANTILES


@dataclass(frozen=True)
class BuildOptions:
    """How to build, decided by the experiment and the trial rather than by the model: passed to every builder."""

    unroll: bool = False  # recurrent layers unroll their time loop (`--unroll`); ignored by what has no time loop
    fused: bool = False  # LSTM layers run on the fused CPU kernel (`--kernel fused`: `benchmark.models.fused`)
    # The trial's seed (None for an estimator that is not stochastic). Keras is already seeded by the trainer when a
    # Keras builder runs, and its compiled model is reused across seeds: the seed must not change its architecture.
    seed: int | None = None


@runtime_checkable
class Estimator(Protocol):
    """What an estimator builder returns: fitted and applied on the same scaled windows as the networks."""

    def fit(self, x: np.ndarray, y: np.ndarray) -> Estimator:
        """x: [n, lookback, channels] scaled windows (channel 0 the target), y: [n, horizon] scaled targets."""
        ...

    def predict(self, x: np.ndarray) -> np.ndarray:
        """x: [n, lookback, channels] -> [n, horizon] scaled forecasts."""
        ...


class QuantileEstimator(Estimator, Protocol):
    """An estimator of a model file with `QUANTILES = True`."""

    def predict_quantiles(self, x: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
        """x: [n, lookback, channels] -> [n, horizon, len(levels)] scaled quantile forecasts."""
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


class Adapter:
    """A way of training. Subclasses say what they need and support, and fit."""

    name: str = ""  # the FAMILY word a model file names it by
    needs_keras: bool = False  # its trials import and configure Keras (worker processes are started for them)
    statistical: bool = False  # likelihood fits on the series itself: about a second each, not milliseconds
    default_stochastic: bool = False
    default_cost: float = 0.0
    supports: frozenset[str] = frozenset()  # capability fields of ModelSpec it can honour

    def fit(self, spec: ModelSpec, hyperparams: dict, prepared: Prepared, config: ExperimentConfig,
            seed: int | None) -> Fit:
        raise NotImplementedError

    def quantile_source(self, spec: ModelSpec, config: ExperimentConfig) -> str:
        """With --quantiles: "model" when the model forecasts its own distribution, else "conformal (METHOD)" (its
        validation errors make them: `benchmark.models.conformal`)."""
        if spec.quantiles and "quantiles" in self.supports:
            return "model"
        from benchmark.models.conformal import method_for

        return f"conformal ({method_for(config.intervals)})"


class KerasBuilder(Protocol):
    """`build` of a "keras" model: an uncompiled model mapping [batch, lookback, channels] to [batch, horizon]."""

    def __call__(self, input_shape: tuple[int, int], horizon: int, options: BuildOptions,
                 **hyperparameters: Any) -> keras.Model: ...


@dataclass(frozen=True)
class ModelSpec:
    """One registered model: its file's declarations, read and checked once by the registry."""

    name: str
    description: str
    defaults: Mapping[str, object]
    build: Callable  # a KerasBuilder, or a builder of an Estimator / SeriesForecaster, by the adapter
    adapter: Adapter  # the way it is trained (FAMILY)
    stochastic: bool = True  # trained once per seed; otherwise once, without a seed
    reference: bool = False  # the model every other one is judged against (exactly one registered model)
    cost: float = 1.0  # rough training time relative to an LSTM; the runner starts the costliest trials first
    hyperparameters: tuple[str, ...] = ()  # the builder's parameters after FIXED_PARAMETERS, by name
    quantiles: bool = False  # QUANTILES: emits quantile forecasts
    channels: bool = False  # CHANNELS: accepts extra input channels (covariates)
    # FASTEST: the implementation `--speed fastest` trains it on (backend, unroll, kernel), as the harness measured
    fastest: Mapping[str, object] = field(default_factory=lambda: MappingProxyType({}))

    @property
    def family(self) -> str:
        """The FAMILY word of its file (logged with every trial)."""
        return self.adapter.name

    @property
    def kind(self) -> str:
        """The label reports use: "neural" for networks, "baseline" for estimators and statistical models."""
        return "neural" if self.adapter.needs_keras else "baseline"
