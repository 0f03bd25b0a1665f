"""Fitting: every Keras model is compiled and trained the same way; estimators are fitted on the same windows;
statistical models on the training part of the same series. Every family forecasts the same test windows."""

from __future__ import annotations

import contextlib
import json
import math
import random
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field

import numpy as np

from benchmark.config.experiment import ExperimentConfig
from benchmark.models import optimization
from benchmark.models.registry import BuildOptions, ModelSpec
from benchmark.pipeline.windows import Prepared, recursive_forecast


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


@contextlib.contextmanager
def private_python_random(seed: int):
    """Keras draws the seeds of default initializers and dropout from Python's global `random`, which other
    threads of a worker process (Dask's heartbeats, MLflow's run names) draw from too. Building with a private
    generator makes identically seeded models identical whatever else the process does.
    """
    from keras.src.random import seed_generator  # where Keras keeps its reference to `random`

    shared = seed_generator.python_random
    seed_generator.python_random = random.Random(seed)
    try:
        yield
    finally:
        seed_generator.python_random = shared


def fit_model(spec: ModelSpec, hyperparams: dict, prepared: Prepared, config: ExperimentConfig,
              seed: int | None) -> Fit:
    """Build, train and predict the test windows (scaled); the same protocol for every model of a family.

    `seed` reaches the builder as `options.seed` (a stochastic estimator seeds itself with it); a Keras model that
    is not stochastic runs once with seed None and is trained under seed 0, so it is reproducible too.
    """
    input_shape = (prepared.lookback, 1)
    options = BuildOptions(unroll=config.unroll, seed=seed)
    if spec.family == "series":
        return _fit_series(spec.build(input_shape, prepared.horizon, options, **hyperparams), prepared)
    if spec.family == "estimator":
        start = time.perf_counter()
        estimator = spec.build(input_shape, prepared.fit_horizon, options, **hyperparams)
        estimator.fit(prepared.train.inputs, prepared.train.targets)
        predictions = test_forecasts(estimator.predict, prepared)
        return Fit(predictions, val_forecasts(estimator.predict, prepared), train_seconds=time.perf_counter() - start)
    if spec.family != "keras":
        raise ValueError(f"model '{spec.name}' has unknown family {spec.family!r}")
    return _fit_keras(spec, hyperparams, prepared, config, 0 if seed is None else seed)


def test_forecasts(predict, prepared: Prepared) -> np.ndarray:
    """The test windows' scaled forecasts [n, horizon]: one call for the direct strategy, fed back step by step for
    the recursive one (then mapped to the test windows' scale, so every family returns the same thing)."""
    return _forecasts(predict, prepared.test, prepared)


def val_forecasts(predict, prepared: Prepared) -> np.ndarray | None:
    """The scaled forecasts of `prepared.val_forecast` (what validation scores), made the way the test's are."""
    return None if prepared.val_forecast is None else _forecasts(predict, prepared.val_forecast, prepared)


def _forecasts(predict, windows, prepared: Prepared) -> np.ndarray:
    if not prepared.recursive:
        return np.asarray(predict(windows.inputs))
    prices = recursive_forecast(predict, windows, prepared.scaler, prepared.horizon)
    return (prices - windows.loc) / windows.scale


def _fit_series(forecaster, prepared: Prepared) -> Fit:
    """A statistical model: parameters from the training part, then every origin's forecasts with them fixed
    (multi-step forecasts come from the model's own recursion whatever the strategy)."""
    start = time.perf_counter()
    values, test, val = prepared.series.values, prepared.test, prepared.val_forecast
    forecaster.fit(values[: prepared.bounds.val_start])
    predictions = (forecaster.forecast(values, test.origins, prepared.horizon) - test.loc) / test.scale
    val_scaled = None
    if val is not None:
        val_scaled = (forecaster.forecast(values, val.origins, val.y.shape[1]) - val.loc) / val.scale
    if not np.all(np.isfinite(predictions)):
        raise TrialFailed("the model forecast non-finite values")
    return Fit(predictions, val_scaled, train_seconds=time.perf_counter() - start)


def epoch_timer():
    """A Keras callback recording each epoch's wall seconds (the first one includes tracing)."""
    import keras

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self._start)

    return EpochTimer()


# Compiled models kept per process, so a worker traces each architecture once, not once per seed. A trial takes
# its model out (no two threads ever share one) and puts it back when it is done.
_COMPILED: OrderedDict[tuple, object] = OrderedDict()
_COMPILED_LOCK = threading.Lock()
COMPILED_KEEP = 2


def _compiled_key(spec: ModelSpec, hyperparams: dict, prepared: Prepared, config: ExperimentConfig) -> tuple:
    """What makes two trials' compiled models interchangeable: the builder and its arguments (BuildOptions less the
    seed, which only sets the state `_seeded_model` copies in), and compile()'s."""
    return (spec.name, spec.build, json.dumps(hyperparams, sort_keys=True, default=str), prepared.lookback,
            prepared.fit_horizon, config.optimizer, config.learning_rate, config.loss, config.steps_per_execution,
            config.unroll)


def _release(key: tuple, model) -> None:
    with _COMPILED_LOCK:
        _COMPILED[key] = model
        _COMPILED.move_to_end(key)
        while len(_COMPILED) > COMPILED_KEEP:
            _COMPILED.popitem(last=False)


def _seeded_model(spec: ModelSpec, hyperparams: dict, prepared: Prepared, config: ExperimentConfig, seed: int,
                  key: tuple):
    """A compiled model in exactly the state a fresh build with this seed has: weights, dropout seed state and
    optimizer slots. A model this process compiled before is reused with that state copied in (tracing is kept,
    the numbers are bit-identical to a fresh build, tested); otherwise the fresh build is compiled."""
    import keras

    keras.utils.set_random_seed(seed)
    options = BuildOptions(unroll=config.unroll, seed=seed)
    with private_python_random(seed):
        fresh = spec.build((prepared.lookback, 1), prepared.fit_horizon, options, **hyperparams)
    optimizer = optimization.optimizer(config.optimizer, config.learning_rate)
    with _COMPILED_LOCK:
        cached = _COMPILED.pop(key, None)
    if cached is not None:
        optimizer.build(fresh.trainable_variables)
        targets = [*cached.variables, *cached.optimizer.variables]
        sources = [*fresh.variables, *optimizer.variables]
        if len(targets) == len(sources) and all(
                a.shape == b.shape and a.dtype == b.dtype for a, b in zip(targets, sources, strict=True)):
            for target, source in zip(targets, sources, strict=True):
                target.assign(source)
            return cached
        optimizer = optimization.optimizer(config.optimizer, config.learning_rate)
    # Several batches per tf.function call: the same updates in the same order, less Python per batch.
    fresh.compile(optimizer=optimizer, loss=optimization.loss(config.loss),
                  steps_per_execution=config.steps_per_execution)
    if keras.config.backend() == "jax":
        # JAX's first fit builds a new model by drawing a batch from its shuffled data iterator, which advances the
        # NumPy generator that shuffles the epochs; a reused model skips that draw. Building here on one unshuffled
        # window (no step is taken) starts both from the same generator state: reuse stays bit-identical (tested).
        one = slice(0, 1)
        fresh.fit(prepared.train.inputs[one].astype(np.float32), prepared.train.targets[one].astype(np.float32),
                  epochs=0, shuffle=False, verbose=0)
    return fresh


def _fit_keras(spec: ModelSpec, hyperparams: dict, prepared: Prepared, config: ExperimentConfig,
               seed: int) -> Fit:
    from benchmark.models import backends

    backends.configure(config.backend)
    import keras

    key = _compiled_key(spec, hyperparams, prepared, config)
    model = _seeded_model(spec, hyperparams, prepared, config, seed, key)

    timer = epoch_timer()
    callbacks = [keras.callbacks.TerminateOnNaN(), timer]
    validation = None
    if prepared.val is not None:
        validation = (prepared.val.inputs.astype(np.float32), prepared.val.targets.astype(np.float32))
    if config.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True))

    start = time.perf_counter()
    history = model.fit(
        prepared.train.inputs.astype(np.float32), prepared.train.targets.astype(np.float32),
        validation_data=validation, epochs=config.epochs, batch_size=config.batch_size,
        shuffle=True, callbacks=callbacks, verbose=0,
    ).history
    train_seconds = time.perf_counter() - start
    losses = history.get("loss", [])
    if not losses or not all(math.isfinite(v) for v in losses):
        raise TrialFailed(f"training loss became non-finite at epoch {len(losses)}")

    def predict(inputs):
        return model.predict(inputs.astype(np.float32), batch_size=1024, verbose=0)

    predictions = test_forecasts(predict, prepared)
    if not np.all(np.isfinite(predictions)):
        raise TrialFailed("the model predicted non-finite values")
    val = val_forecasts(predict, prepared)
    best = int(np.argmin(history["val_loss"])) + 1 if "val_loss" in history else None
    history = {k: [float(v) for v in vals] for k, vals in history.items() if k in ("loss", "val_loss")}
    history["epoch_seconds"] = timer.seconds
    _release(key, model)
    return Fit(predictions, val, history, len(losses), best, train_seconds)
