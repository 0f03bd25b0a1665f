"""What a measured child process runs: the plain reference, the suite, and the probes.

Each function returns plain data (store.Trial or dicts of raw seconds); nothing here summarises.
"""

from __future__ import annotations

import os
import resource
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

from benchmark.perf.settings import EMPTY_STORE_ENV, LOOKBACK, TUTORIAL_TEST
from benchmark.perf.store import Trial


def peak_rss_mb() -> tuple[float, float]:
    """Peak resident memory of this process and of its largest finished child (MB; Linux reports KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def store_uri(folder: str | Path) -> str:
    """A run probe's fresh store in `folder`, which the run creates (MLflow's migrations count in its wall); where
    $BENCHMARK_PERF_EMPTY_STORE names a migrated empty store (the test suite's, for the quick form it runs), a copy
    of it instead, and the report says so."""
    path = Path(folder) / "perf.db"
    if template := os.environ.get(EMPTY_STORE_ENV):
        shutil.copyfile(template, path)
    return f"sqlite:///{path}"


def classic_windows(csv: str):
    """The classic protocol's windows from the suite's own pipeline: MinMax fitted on the training part, 60-day
    windows, test = the final 60 days, no validation (the tutorial's windows exactly)."""
    from benchmark.data.series import load_csv
    from benchmark.pipeline.windows import prepare

    return prepare(load_csv(csv), lookback=LOOKBACK, horizon=1, test_size=TUTORIAL_TEST, val_size=0,
                   scaler="minmax")


def tutorial_model(name: str, lookback: int = LOOKBACK):
    """The classic tutorial's Sequential models, written as the tutorial writes them."""
    from keras import Sequential
    from keras.layers import GRU, LSTM, Dense, Dropout, Flatten, Input, SimpleRNN

    def recurrent(layer):
        return lambda: Sequential([Input((lookback, 1)), layer(50, return_sequences=True), Dropout(0.2), layer(100),
                                   Dropout(0.2), Dense(1)])

    tutorial = {"mlp": lambda: Sequential([Input((lookback, 1)), Flatten(), Dense(50, activation="relu"),
                                           Dropout(0.2), Dense(100, activation="relu"), Dropout(0.2), Dense(1)]),
                "rnn": recurrent(SimpleRNN), "lstm": recurrent(LSTM), "gru": recurrent(GRU)}
    return tutorial[name]()


def plain_reference(csv: str, models: list[str], seeds: list[int], epochs: int) -> list[Trial]:
    """The tutorial's loop: `model.fit(x, y, epochs, batch_size=64)` one trial after another, then predict."""
    import keras

    from benchmark.models.training import epoch_timer

    prepared = classic_windows(csv)
    x_train, y_train, x_test = prepared.train.inputs, prepared.train.targets, prepared.test.inputs
    trials = []
    for name in models:
        for seed in seeds:
            start = time.perf_counter()
            keras.utils.set_random_seed(seed)
            model = tutorial_model(name)
            model.compile(optimizer="rmsprop", loss="mean_squared_error")
            timer = epoch_timer()  # the suite's own timer, so both sides measure epochs the same way
            fit_start = time.perf_counter()
            model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0, callbacks=[timer])
            fit = time.perf_counter() - fit_start
            prepared.test.inverse(model.predict(x_test, verbose=0))
            trials.append(Trial(name, seed, time.perf_counter() - start, fit, tuple(timer.seconds)))
    return trials


def suite(csv: str, models: list[str], seeds: list[int], epochs: int, jobs: int, folder: str,
          backend: str = "tensorflow", speed: str = "default") -> list[Trial]:
    """What `python -m benchmark run --preset classic` does on the same trials (the run and its leaderboard),
    through the Python API; the neural trials' timings as the runner reports them."""
    from benchmark.config.experiment import resolve
    from benchmark.models import registry

    # registry.select adds the baselines, which a user's run always includes
    config = resolve("classic", data=csv, models=registry.select(",".join(models)), seeds=tuple(seeds),
                     epochs=epochs, jobs=jobs, tracking_uri=store_uri(folder), experiment="perf",
                     results_dir=f"{folder}/results", backend=backend, speed=speed)
    return _run_and_report(config)


def _run_and_report(config) -> list[Trial]:
    """Train (resuming nothing: a fresh store) and write the leaderboard; the neural trials' timings."""
    from benchmark.execution import runner
    from benchmark.models import backends
    from benchmark.render import report

    backends.select(config.backend)  # before anything imports Keras in this process
    outcome = runner.run(config, command="benchmark.perf suite")
    if outcome.failed:
        first = outcome.failed[0]
        raise RuntimeError(f"{len(outcome.failed)} suite trial(s) failed, first {first.model}: {first.error}")
    report.write_report([(outcome.tracking_uri, outcome.experiment_id, [outcome.config.config_hash])],
                        config.results_dir)
    return [Trial(r.model, r.seed, r.wall_seconds, r.metrics["train_seconds"], tuple(r.epoch_seconds))
            for r in outcome.results if r.seed is not None]


def default_run(job: dict, started: float | None = None) -> dict:
    """`python -m benchmark run --models all` as a user runs it (default preset: Adam, early stopping on the
    validation year; msft, or the harness's short CSV in quick mode) on one backend: a store.Measurement dict."""
    from benchmark.config.experiment import resolve
    from benchmark.models import registry

    started = time.perf_counter() if started is None else started
    overrides = {k: job[k] for k in ("epochs", "test_size", "val_size") if job.get(k)}
    data = {"data": job["csv"]} if job.get("data") == "prices" else {"dataset": "msft"}
    with tempfile.TemporaryDirectory(dir=Path(job["csv"]).parent) as folder:
        config = resolve("default", models=registry.select(job.get("models", "all")), seeds=tuple(range(job["seeds"])),
                         jobs=job["jobs"], backend=job["backend"], tracking_uri=store_uri(folder),
                         experiment="perf", results_dir=f"{folder}/results", speed=job.get("speed", "default"),
                         **data, **overrides,
                         **({"quantiles": job["quantiles"]} if job.get("quantiles") else {}))
        trials = _run_and_report(config)
    name = "fastest" if job.get("speed") == "fastest" else job["backend"]
    return _measurement(f"default {name}" + (" --quantiles" if job.get("quantiles") else ""), started, trials)


def panel_run(job: dict, started: float | None = None) -> dict:
    """`python -m benchmark run --dataset D --models M --seeds S` (job "training": local) or the same with
    `--training global`, through the runner the command calls, in a fresh store: a store.Measurement dict whose
    trials are the networks' trials, a local one named `model · dataset`, a global one once under its row
    (`lstm (global)`; its training is shared by every series, so its wall is 0 and its fit is the training)."""
    import uuid

    from benchmark.config.experiment import resolve
    from benchmark.data import catalog
    from benchmark.evaluation.trial import GLOBAL_ROW
    from benchmark.execution import runner
    from benchmark.models import registry
    from benchmark.render import report

    started = time.perf_counter() if started is None else started
    overrides = {k: job[k] for k in ("epochs", "test_size", "val_size") if job.get(k)}
    invocation, command = uuid.uuid4().hex, f"benchmark.perf panel {job['training']}"
    with tempfile.TemporaryDirectory(dir=job["folder"]) as folder:
        uri = store_uri(folder)  # one store for the panel's series, as one command has
        configs = [runner.check_inputs(resolve(
            "default", dataset=name, models=registry.select(job["models"]), seeds=tuple(range(job["seeds"])),
            jobs=job["jobs"], training=job["training"], tracking_uri=uri,
            results_dir=f"{folder}/results", **overrides)) for name in catalog.expand(job["datasets"].split(","))]
        if job["training"] == "global":
            outcomes = runner.run_global(configs, command=command, progress=False, invocation=invocation)
        else:
            outcomes = [runner.run(c, command=command, progress=False, invocation=invocation) for c in configs]
        failed = [f for o in outcomes for f in o.failed]
        if failed:
            raise RuntimeError(f"{len(failed)} panel trial(s) failed, first {failed[0].model}: {failed[0].error}")
        report.write_report([(o.tracking_uri, o.experiment_id, [o.config.config_hash]) for o in outcomes],
                            configs[0].results_dir)
    trials: dict[tuple[str, int], Trial] = {}
    for o in outcomes:
        for r in o.results:
            if r.seed is None:
                continue
            name = r.model if r.model.endswith(GLOBAL_ROW) else f"{r.model} · {o.config.dataset_name}"
            trials.setdefault((name, r.seed), Trial(name, r.seed, r.wall_seconds, r.metrics["train_seconds"],
                                                    tuple(r.epoch_seconds)))
    return _measurement(f"panel {job['training']}", started, list(trials.values()))


def _measurement(variant: str, started: float, trials: list[Trial]) -> dict:
    wall = time.perf_counter() - started
    own, children = peak_rss_mb()
    return {"variant": variant, "wall": wall, "peak_rss_mb": own, "worker_peak_rss_mb": children,
            "trials": [asdict(t) for t in trials]}


def grid(variant: str, csv: str, models: list[str], seeds: list[int], epochs: int, jobs: int,
         started: float | None = None, backend: str = "tensorflow", speed: str = "default") -> dict:
    """One variant's run of a grid, timed from `started` (perf_counter; default now) to the end, with the
    process's peak memory: a store.Measurement as a dict."""
    started = time.perf_counter() if started is None else started
    if variant == "plain":
        trials = plain_reference(csv, models, seeds, epochs)
    else:
        with tempfile.TemporaryDirectory(dir=Path(csv).parent) as folder:
            trials = suite(csv, models, seeds, epochs, jobs, folder, backend, speed)
    return _measurement(variant, started, trials)


def scaling(cases: list[tuple[int, int]], epochs: int) -> list[dict]:
    """An LSTM's seconds per epoch for each (training windows, window length) case, on random windows."""
    import keras

    from benchmark.models.training import epoch_timer

    rows = []
    rng = np.random.default_rng(0)
    for windows, lookback in cases:
        x = rng.normal(size=(windows, lookback, 1)).astype("float32")
        keras.utils.set_random_seed(0)
        model = tutorial_model("lstm", lookback)
        model.compile(optimizer="rmsprop", loss="mean_squared_error")
        timer = epoch_timer()
        model.fit(x, x[:, -1, 0], epochs=epochs, batch_size=64, verbose=0, callbacks=[timer])
        rows.append({"windows": windows, "window": lookback, "epoch_seconds": list(timer.seconds)})
    return rows


def panel_scaling(datasets: list[str], epochs: int) -> list[dict]:
    """An LSTM's seconds per epoch on the windows a global network trains on, for the first 1, 2, ... of
    `datasets`: each series re-split at their panel's cut-off (`benchmark.evaluation.panel`, default preset)."""
    import keras

    from benchmark.config.experiment import resolve
    from benchmark.evaluation.panel import cutoff, panel_prepared
    from benchmark.evaluation.trial import prepared_for
    from benchmark.models.training import epoch_timer

    folds = [prepared_for(resolve("default", dataset=name))[0] for name in datasets]
    rows = []
    for k in range(1, len(folds) + 1):
        train = panel_prepared(folds[:k], cutoff(folds[:k])).train if k > 1 else folds[0].train
        keras.utils.set_random_seed(0)
        model = tutorial_model("lstm", train.inputs.shape[1])
        model.compile(optimizer="rmsprop", loss="mean_squared_error")
        timer = epoch_timer()
        model.fit(train.inputs, train.targets, epochs=epochs, batch_size=64, verbose=0, callbacks=[timer])
        rows.append({"series": k, "names": datasets[:k], "windows": len(train), "window": train.inputs.shape[1],
                     "epoch_seconds": list(timer.seconds)})
    return rows


def seed_scaling(csv: str | None, seeds: int, epochs: int) -> list[dict]:
    """The suite's LSTM (its trainer: compiled once, reset per seed) for seeds 0 .. seeds-1 on the classic
    windows, one after the other in this process: each seed's wall seconds."""
    if not seeds or csv is None:
        return []
    from benchmark.config.experiment import resolve
    from benchmark.models import registry
    from benchmark.models.training import fit_model

    prepared, spec = classic_windows(csv), registry.get("lstm")
    config = resolve("classic", epochs=epochs, models=("lstm",))
    walls = []
    for seed in range(seeds):
        start = time.perf_counter()
        fit_model(spec, dict(spec.defaults), prepared, config, seed=seed)
        walls.append(time.perf_counter() - start)
    return [{"seeds": seeds, "seed_walls": walls}]


def unroll_probe(csv: str, models: list[str], epochs: int, kernel_models: tuple[str, ...] = ()) -> list[dict]:
    """The suite's recurrent models with their time loop, unrolled (`--unroll`, `models`) and on the fused kernel
    (`--kernel fused`, `kernel_models`): each epoch's seconds, the plain loop first for each model."""
    import keras

    from benchmark.models import registry
    from benchmark.models.backends import configure_tensorflow
    from benchmark.models.contract import BuildOptions
    from benchmark.models.training import epoch_timer

    configure_tensorflow()
    prepared = classic_windows(csv)
    rows = []
    for name in dict.fromkeys([*models, *kernel_models]):
        variants = [(False, False)] + [(True, False)] * (name in models) + [(False, True)] * (name in kernel_models)
        for unroll, fused in variants:
            keras.utils.set_random_seed(0)
            spec = registry.get(name)  # built through the model file's contract, as a trial builds it
            model = spec.build((LOOKBACK, 1), 1, BuildOptions(unroll=unroll, seed=0, fused=fused), **spec.defaults)
            model.compile(optimizer="rmsprop", loss="mse", steps_per_execution=16)
            timer = epoch_timer()
            model.fit(prepared.train.inputs, prepared.train.targets, epochs=epochs, batch_size=64, verbose=0,
                      callbacks=[timer])
            rows.append({"model": name, "unroll": unroll, "kernel": "fused" if fused else "keras",
                         "epoch_seconds": list(timer.seconds)})
    return rows


def forward_flops(model) -> int:
    """Multiply-adds x 2 of one window's forward pass, from the layers' weight shapes: a Dense or Conv1D kernel once
    per output position, a recurrent layer's input and recurrent kernels once per step (biases, activations and
    gates' element-wise work left out: a floor, not an estimate)."""
    total = 0
    for layer in model.layers:
        cell = getattr(layer, "cell", None)
        if cell is not None:  # recurrent: every step multiplies the input and the state by their kernels
            steps = layer.input.shape[1]
            total += 2 * (int(np.prod(cell.kernel.shape)) + int(np.prod(cell.recurrent_kernel.shape))) * steps
        elif hasattr(layer, "kernel"):
            positions = int(np.prod(layer.output.shape[1:-1])) if len(layer.output.shape) > 2 else 1
            total += 2 * int(np.prod(layer.kernel.shape)) * positions
    return total


def floor_probe(models: list[str], windows: int, size: int = 1024, repeats: int = 20) -> dict:
    """The arithmetic floor: each model's FLOPs per training window (forward + backward, the backward pass taken
    as twice the forward one) and one core's measured float32 matmul rate (TensorFlow, one thread, the best of
    `repeats` products of two size x size matrices)."""
    from benchmark.models import backends

    backends.select("tensorflow", threads=1)
    backends.configure("tensorflow")
    import tensorflow as tf

    from benchmark.models import registry
    from benchmark.models.contract import BuildOptions

    a = tf.random.normal((size, size), seed=0)
    b = tf.random.normal((size, size), seed=1)
    tf.linalg.matmul(a, b).numpy()  # warm-up
    best = np.inf
    for _ in range(repeats):
        start = time.perf_counter()
        tf.linalg.matmul(a, b).numpy()
        best = min(best, time.perf_counter() - start)
    flops = {}
    for name in models:
        spec = registry.get(name)
        flops[name] = 3 * forward_flops(spec.build((LOOKBACK, 1), 1, BuildOptions(), **spec.defaults))
    return {"matmul_gflops": 2 * size**3 / best / 1e9, "flops_per_window": flops, "windows": windows}

