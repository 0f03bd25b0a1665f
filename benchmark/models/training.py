"""Training: every Keras network is compiled and trained the same way, and every model forecasts the same test
windows (`test_forecasts`) from the same inputs (`model_inputs`). `fit_model` hands a trial to its model's adapter
(`benchmark.models.adapters`), which decides how that model is fitted."""

from __future__ import annotations

import contextlib
import json
import math
import random
import threading
import time
from collections import OrderedDict

import numpy as np

from benchmark.config.experiment import ExperimentConfig
from benchmark.config.settings import compile_settings
from benchmark.models import optimization
from benchmark.models.contract import BuildOptions, Fit, ModelSpec, TrialFailed
from benchmark.pipeline.windows import Prepared, Windows, recursive_forecast


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
    """Build, train and predict the test windows (scaled) the way the model's adapter trains its kind.

    `seed` reaches the builder as `options.seed` (a stochastic estimator seeds itself with it)."""
    return spec.adapter.fit(spec, hyperparams, prepared, config, seed)


def model_inputs(spec: ModelSpec, windows: Windows) -> np.ndarray:
    """The scaled inputs a model sees: [n, lookback, channels] for a model declaring CHANNELS, else the target
    channel alone [n, lookback, 1]."""
    inputs = windows.inputs
    return inputs if spec.channels else inputs[..., :1]


def test_forecasts(predict, prepared: Prepared, spec: ModelSpec) -> np.ndarray:
    """The test windows' scaled forecasts [n, horizon]: one call for the direct strategy, fed back step by step for
    the recursive one (then mapped to the test windows' scale, so every adapter returns the same thing)."""
    return _forecasts(predict, prepared.test, prepared, spec)


def val_forecasts(predict, prepared: Prepared, spec: ModelSpec) -> np.ndarray | None:
    """The scaled forecasts of `prepared.val_forecast` (what validation scores), made the way the test's are."""
    return None if prepared.val_forecast is None else _forecasts(predict, prepared.val_forecast, prepared, spec)


def _forecasts(predict, windows: Windows, prepared: Prepared, spec: ModelSpec) -> np.ndarray:
    if not prepared.recursive:
        return np.asarray(predict(model_inputs(spec, windows)))
    prices = recursive_forecast(predict, windows, prepared.scaler, prepared.horizon)  # the target alone
    return (prices - windows.loc) / windows.scale


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


def input_shape(spec: ModelSpec, prepared: Prepared) -> tuple[int, int]:
    """(lookback, channels) of what the model sees (see `model_inputs`)."""
    return prepared.lookback, prepared.channels if spec.channels else 1


def _compiled_key(spec: ModelSpec, hyperparams: dict, prepared: Prepared, config: ExperimentConfig) -> tuple:
    """What makes two trials' compiled models interchangeable: the builder and its arguments (BuildOptions less the
    seed, which only sets the state `_seeded_model` copies in), and every setting the table marks `compiles`."""
    compiled = tuple((name, getattr(config, name)) for name in compile_settings(config.TABLE))
    return (spec.name, spec.build, json.dumps(hyperparams, sort_keys=True, default=str), input_shape(spec, prepared),
            prepared.fit_horizon, compiled)


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
    options = BuildOptions(unroll=config.unroll, seed=seed, fused=config.kernel == "fused")
    levels = pinball_levels(config)
    with private_python_random(seed):
        fresh = spec.build(input_shape(spec, prepared), prepared.fit_horizon * max(1, len(levels)), options,
                           **hyperparams)
    if levels:  # a quantile network: H x Q outputs, sorted, trained on the pinball loss
        fresh = optimization.quantile_head(fresh, prepared.fit_horizon, levels)
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
    fresh.compile(optimizer=optimizer,
                  loss=optimization.pinball(levels) if levels else optimization.loss(config.loss),
                  steps_per_execution=config.steps_per_execution)
    if keras.config.backend() == "jax":
        # JAX's first fit builds a new model by drawing a batch from its shuffled data iterator, which advances the
        # NumPy generator that shuffles the epochs; a reused model skips that draw. Building here on one unshuffled
        # window (no step is taken) starts both from the same generator state: reuse stays bit-identical (tested).
        one = slice(0, 1)
        fresh.fit(model_inputs(spec, prepared.train)[one].astype(np.float32),
                  prepared.train.targets[one].astype(np.float32),
                  epochs=0, shuffle=False, verbose=0)
    return fresh


def fit_keras(spec: ModelSpec, hyperparams: dict, prepared: Prepared, config: ExperimentConfig,
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
        validation = (model_inputs(spec, prepared.val).astype(np.float32), prepared.val.targets.astype(np.float32))
    if config.early_stopping:
        callbacks.append(keras.callbacks.EarlyStopping(
            monitor="val_loss", patience=config.patience, restore_best_weights=True))

    start = time.perf_counter()
    history = model.fit(
        model_inputs(spec, prepared.train).astype(np.float32), prepared.train.targets.astype(np.float32),
        validation_data=validation, epochs=config.epochs, batch_size=config.batch_size,
        shuffle=True, callbacks=callbacks, verbose=0,
    ).history
    train_seconds = time.perf_counter() - start
    losses = history.get("loss", [])
    if not losses or not all(math.isfinite(v) for v in losses):
        raise TrialFailed(f"training loss became non-finite at epoch {len(losses)}")

    levels = pinball_levels(config)

    def raw(inputs):
        return model.predict(inputs.astype(np.float32), batch_size=1024, verbose=0)

    def predict(inputs):  # the point: a quantile network's median
        out = raw(inputs)
        return out[..., levels.index(0.5)] if levels else out

    predictions = test_forecasts(predict, prepared, spec)
    if not np.all(np.isfinite(predictions)):
        raise TrialFailed("the model predicted non-finite values")
    val = val_forecasts(predict, prepared, spec)
    best = int(np.argmin(history["val_loss"])) + 1 if "val_loss" in history else None
    history = {k: [float(v) for v in vals] for k, vals in history.items() if k in ("loss", "val_loss")}
    history["epoch_seconds"] = timer.seconds
    quantiles = np.asarray(raw(model_inputs(spec, prepared.test)), dtype=np.float64) if levels else None
    _release(key, model)
    return Fit(predictions, val, history, len(losses), best, train_seconds, quantiles)


def pinball_levels(config: ExperimentConfig) -> tuple[float, ...]:
    """The levels a network is trained for with `--intervals pinball` (else none: a point network)."""
    return tuple(config.quantiles) if config.quantiles and config.intervals == "pinball" else ()
