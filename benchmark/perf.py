"""`python -m benchmark perf`: the suite against the classic tutorial's plain Keras loop, side by side.

Every variant runs in its own child process on the same data, trials and epochs: the plain reference (one
`model.fit` after another, TensorFlow's default threads), the suite with `--jobs 1`, and the suite with its best
local setting (`--jobs` = cores, one thread each). Variants are interleaved (A B C A B C ...) and repeated, because
the machine is shared and noisy; medians and min–max are reported, and ratios only come from one such run.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from benchmark import catalog
from benchmark.runner import WORKER_MEMORY

MODELS = ("mlp", "rnn", "lstm", "gru")
TUTORIAL_TEST = 60  # the classic protocol: test = final 60 days, window 60


@dataclass
class Measurement:
    """One variant's run: grid wall time, per-trial timings and peak memory."""

    variant: str
    wall: float
    trials: list[dict] = field(default_factory=list)  # model, seed, wall, fit, epoch_seconds
    peak_rss_mb: float = 0.0  # the variant's main process
    worker_peak_rss_mb: float = 0.0  # its largest child process (pool workers), 0 without any


def _peak_rss() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


# ---------------------------------------------------------------- the plain reference (the tutorial's code)

def _tutorial_model(name: str, lookback: int = 60):
    """The classic tutorial's Sequential models, written as the tutorial writes them."""
    from keras import Sequential
    from keras.layers import GRU, LSTM, Dense, Dropout, Flatten, Input, SimpleRNN

    if name == "mlp":
        return Sequential([Input((lookback, 1)), Flatten(), Dense(50, activation="relu"), Dropout(0.2),
                           Dense(100, activation="relu"), Dropout(0.2), Dense(1)])
    layer = {"rnn": SimpleRNN, "lstm": LSTM, "gru": GRU}[name]
    return Sequential([Input((lookback, 1)), layer(50, return_sequences=True), Dropout(0.2), layer(100),
                       Dropout(0.2), Dense(1)])


def scaling(cases: list[tuple[int, int]], epochs: int) -> list[dict]:
    """Seconds per LSTM epoch (median after the first) for (training windows, window length) cases."""
    import keras

    from benchmark.training import epoch_timer

    rows = []
    rng = np.random.default_rng(0)
    for windows, lookback in cases:
        x = rng.normal(size=(windows, lookback, 1)).astype("float32")
        keras.utils.set_random_seed(0)
        model = _tutorial_model("lstm", lookback)
        model.compile(optimizer="rmsprop", loss="mean_squared_error")
        timer = epoch_timer()
        model.fit(x, x[:, -1, 0], epochs=epochs, batch_size=64, verbose=0, callbacks=[timer])
        rows.append({"windows": windows, "window": lookback, "epoch": _epoch(timer.seconds)})
    return rows


def unroll_probe(csv: str, models: list[str], epochs: int) -> list[dict]:
    """Seconds per epoch of the suite's recurrent models with their time loop and unrolled (`--unroll`)."""
    import keras

    from benchmark import registry
    from benchmark.architectures import unrolled
    from benchmark.training import configure_tensorflow, epoch_timer

    configure_tensorflow()
    x_train, y_train, _, _ = tutorial_windows(csv)
    rows = []
    for name in models:
        for unroll in (False, True):
            keras.utils.set_random_seed(0)
            spec = registry.get(name)
            with unrolled(unroll):
                model = spec.build((60, 1), 1, **spec.defaults)
            model.compile(optimizer="rmsprop", loss="mse", steps_per_execution=16)
            timer = epoch_timer()
            model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0, callbacks=[timer])
            rows.append({"model": name, "unroll": unroll, "first_epoch": timer.seconds[0],
                         "epoch": _epoch(timer.seconds)})
    return rows


def tutorial_windows(csv: str):
    """MinMax fitted on the training part, 60-day windows: (x_train, y_train, x_test, scaler)."""
    from sklearn.preprocessing import MinMaxScaler

    values = pd.read_csv(csv)["Close"].to_numpy(dtype=float).reshape(-1, 1)
    train = values[:-TUTORIAL_TEST]
    scaler = MinMaxScaler().fit(train)
    scaled = scaler.transform(values)
    x_train = np.array([scaled[i - 60:i, 0] for i in range(60, len(train))])[..., None]
    y_train = scaled[60:len(train), 0]
    x_test = np.array([scaled[i - 60:i, 0] for i in range(len(train), len(values))])[..., None]
    return x_train, y_train, x_test, scaler


def plain_reference(csv: str, models: list[str], seeds: list[int], epochs: int) -> list[dict]:
    """MinMax on the training part, 60-day windows, `model.fit(x, y, epochs, batch_size=64)`, one after another."""
    import keras

    from benchmark.training import epoch_timer

    x_train, y_train, x_test, scaler = tutorial_windows(csv)
    trials = []
    for name in models:
        for seed in seeds:
            start = time.perf_counter()
            keras.utils.set_random_seed(seed)
            model = _tutorial_model(name)
            model.compile(optimizer="rmsprop", loss="mean_squared_error")
            timer = epoch_timer()  # the suite's own timer, so both sides measure epochs the same way
            fit_start = time.perf_counter()
            model.fit(x_train, y_train, epochs=epochs, batch_size=64, verbose=0, callbacks=[timer])
            fit = time.perf_counter() - fit_start
            scaler.inverse_transform(model.predict(x_test, verbose=0))
            trials.append({"model": name, "seed": seed, "wall": time.perf_counter() - start, "fit": fit,
                           "epoch_seconds": timer.seconds})
    return trials


# ---------------------------------------------------------------- the suite

def suite(csv: str, models: list[str], seeds: list[int], epochs: int, jobs: int, folder: str) -> list[dict]:
    """`python -m benchmark run` on the same trials (classic preset), then its timings read from the store."""
    from benchmark import cli, tracking

    store = f"sqlite:///{folder}/perf.db"
    seed_list = ",".join(map(str, seeds)) + ","  # a list, even of one seed
    code = cli.main(["run", "--data", csv, "--preset", "classic", "--models", ",".join(models), "--seeds", seed_list,
                     "--epochs", str(epochs), "--jobs", str(jobs), "--tracking-uri", store, "--experiment", "perf",
                     "--results-dir", f"{folder}/results"])
    if code != 0:
        raise RuntimeError(f"suite run failed with exit code {code}")
    c = tracking.client(store)
    experiment = c.get_experiment_by_name("perf").experiment_id
    trials = []
    for run in c.search_runs([experiment], "tags.run_type = 'trial' AND params.kind = 'neural'"):
        epochs_seconds = [m.value for m in sorted(c.get_metric_history(run.info.run_id, "epoch_seconds"),
                                                  key=lambda m: m.step)]
        trials.append({"model": run.data.params["model"], "seed": int(run.data.params["seed"]),
                       "wall": (run.info.end_time - run.info.start_time) / 1000,
                       "fit": run.data.metrics["train_seconds"], "epoch_seconds": epochs_seconds})
    return trials


def child_main(argv: list[str]) -> None:
    """Entry point of one measured child process; prints its Measurement as JSON on the last line."""
    started = time.perf_counter()
    if argv[0] == "scaling":
        cases = [tuple(map(int, case.split("x"))) for case in argv[2].split(",")]
        print(json.dumps(scaling(cases, int(argv[1]))))
        return
    if argv[0] == "unroll":
        print(json.dumps(unroll_probe(argv[1], argv[2].split(","), int(argv[3]))))
        return
    variant, csv, models, seeds, epochs, jobs = argv
    models_list, seeds_list = models.split(","), [int(s) for s in seeds.split(",")]
    with tempfile.TemporaryDirectory() as folder:
        if variant == "plain":
            trials = plain_reference(csv, models_list, seeds_list, int(epochs))
        else:
            trials = suite(csv, models_list, seeds_list, int(epochs), int(jobs), folder)
    own, children = _peak_rss()
    print(json.dumps({"variant": variant, "wall": time.perf_counter() - started, "trials": trials,
                      "peak_rss_mb": own, "worker_peak_rss_mb": children}))


# ---------------------------------------------------------------- the harness

@dataclass(frozen=True)
class Grid:
    """One measured grid: its trials, and how many interleaved repeats of its variants."""

    seeds: tuple[int, ...]
    epochs: int
    repeats: int

    def describe(self, models: tuple[str, ...]) -> str:
        seeds = f"{len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''}"
        return f"{len(models)} models × {seeds} × {self.epochs} epochs"

    def title(self, models: tuple[str, ...]) -> str:
        classic = len(models) == len(MODELS) and len(self.seeds) == 5 and self.epochs == 50
        return f"{'full classic' if classic else 'throughput'} grid ({self.describe(models)})"


@dataclass(frozen=True)
class PerfConfig:
    points: int = 2820  # the msft tail: 2,700 training windows of 60 steps, as in the classic tutorial
    models: tuple[str, ...] = MODELS
    # The throughput target's grid: the full classic grid, plain sequential against the suite's best setting.
    full: Grid | None = Grid(seeds=(0, 1, 2, 3, 4), epochs=50, repeats=2)
    # Per-trial overhead, memory and --jobs 1 against --jobs N: a short grid, repeated more often.
    short: Grid = Grid(seeds=(0, 1), epochs=5, repeats=3)
    best_jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Scaling note: LSTM epoch cost against training windows (at window 60) and window length (at 2,000 windows).
    scaling_windows: tuple[int, ...] = (1000, 2000, 4000)
    scaling_lookbacks: tuple[int, ...] = (30, 60, 120)
    probe_epochs: int = 4  # epochs of the unroll and backend probes (the median of epochs 2..n)
    unroll_models: tuple[str, ...] = ("rnn", "lstm", "gru")
    backends: tuple[str, ...] = ("tensorflow", "jax", "torch")


QUICK = PerfConfig(points=400, full=Grid(seeds=(0,), epochs=3, repeats=1), short=Grid(seeds=(0,), epochs=2, repeats=1),
                   scaling_windows=(200, 400), scaling_lookbacks=(20, 40), probe_epochs=2, unroll_models=("rnn",),
                   backends=("tensorflow",))


def variants(config: PerfConfig, grid: str) -> dict[str, int]:
    """variant name -> --jobs (0 for the plain reference); the full grid compares plain with the best only."""
    best = {f"suite --jobs {config.best_jobs}": config.best_jobs}
    return {"plain": 0, **best} if grid == "full" else {"plain": 0, "suite --jobs 1": 1, **best}


def write_prices(config: PerfConfig, folder: Path) -> Path:
    csv = folder / "prices.csv"
    series = catalog.load(catalog.DEFAULT_DATASET)
    tail = slice(len(series) - config.points, None)
    pd.DataFrame({"Date": series.dates[tail].strftime("%Y-%m-%d"), "Close": series.values[tail]}).to_csv(
        csv, index=False)
    return csv


def _child(argv: list[str], folder: Path, what: str, **env) -> dict | list:
    """One measured child process (`python -m benchmark.perf ARGV`); its JSON result."""
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false", **env)
    done = subprocess.run([sys.executable, "-m", "benchmark.perf", *argv], capture_output=True, text=True,
                          env=environment, cwd=folder)
    if done.returncode != 0:
        raise RuntimeError(f"{what} failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def measure(config: PerfConfig, grid: str, csv: Path, progress=print) -> list[Measurement]:
    """The grid's variants, interleaved (A B A B ...), `repeats` times; each in a fresh child process."""
    spec = config.full if grid == "full" else config.short
    out = []
    for repeat in range(spec.repeats):
        for name, jobs in variants(config, grid).items():
            progress(f"[{grid} grid {repeat + 1}/{spec.repeats}] {name} ...")
            argv = ["plain" if jobs == 0 else "suite", str(csv), ",".join(config.models),
                    ",".join(map(str, spec.seeds)), str(spec.epochs), str(jobs)]
            result = _child(argv, csv.parent, name)
            result["variant"] = name
            out.append(Measurement(**result))
            progress(f"    {name}: {out[-1].wall:.1f} s")
    return out


def scaling_cases(config: PerfConfig) -> list[tuple[int, int]]:
    middle = config.scaling_windows[len(config.scaling_windows) // 2]
    cases = [(n, 60) for n in config.scaling_windows] + [(middle, w) for w in config.scaling_lookbacks if w != 60]
    return list(dict.fromkeys(cases))


def measure_scaling(config: PerfConfig, folder: Path, progress=print) -> list[dict]:
    """The scaling cases in one fresh child process (3 epochs each: the median of epochs 2 and 3)."""
    progress("scaling ...")
    cases = ",".join(f"{n}x{w}" for n, w in scaling_cases(config))
    return _child(["scaling", "3", cases], folder, "scaling")


def measure_unroll(config: PerfConfig, csv: Path, progress=print) -> list[dict]:
    progress("unrolled recurrent layers ...")
    models = ",".join(config.unroll_models)
    return _child(["unroll", str(csv), models, str(config.probe_epochs)], csv.parent, "unroll probe")


def measure_backends(config: PerfConfig, csv: Path, progress=print) -> dict[str, list[dict] | str]:
    """The plain reference (one seed) under each Keras backend that is installed; why not, for the others."""
    import importlib.util

    out: dict[str, list[dict] | str] = {}
    for backend in config.backends:
        if importlib.util.find_spec(backend) is None:
            out[backend] = "not installed"
            continue
        progress(f"Keras backend {backend} ...")
        argv = ["plain", str(csv), ",".join(config.models), "0", str(config.probe_epochs), "0"]
        try:
            out[backend] = _child(argv, csv.parent, backend, KERAS_BACKEND=backend)["trials"]
        except RuntimeError as exc:
            out[backend] = f"failed: {str(exc).splitlines()[-1][:200]}"
    return out


def _median_range(values: list[float], digits: int = 2) -> str:
    if not values:
        return "–"
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def _epoch(seconds: list[float]) -> float:
    return float(np.median(seconds[1:])) if len(seconds) > 1 else np.nan


def per_model_table(measurements: list[Measurement]) -> pd.DataFrame:
    """Per variant and model: seconds per epoch (median after the first), first epoch, wall per trial."""
    rows = []
    for m in measurements:
        for t in m.trials:
            rows.append({"variant": m.variant, "model": t["model"], "wall": t["wall"], "fit": t["fit"],
                         "first_epoch": t["epoch_seconds"][0] if t["epoch_seconds"] else np.nan,
                         "epoch": _epoch(t["epoch_seconds"])})
    frame = pd.DataFrame(rows)
    return frame.groupby(["model", "variant"], sort=False).agg(
        epoch=("epoch", list), first_epoch=("first_epoch", list), wall=("wall", list), fit=("fit", list))


def _by_variant(measurements: list[Measurement], config: PerfConfig, grid: str) -> list[list[Measurement]]:
    return [[m for m in measurements if m.variant == n] for n in variants(config, grid)]


def ratios(short: list[Measurement], full: list[Measurement], config: PerfConfig) -> dict[str, list[float]]:
    """The targets, per repeat: suite --jobs 1 trial wall / plain trial wall (short grid); best grid wall / plain
    grid wall (the full grid)."""
    plain, single, _ = _by_variant(short, config, "short")
    per_trial = [sum(t["wall"] for t in b.trials) / sum(t["wall"] for t in a.trials)
                 for a, b in zip(plain, single, strict=True)]
    plain_full, best_full = _by_variant(full, config, "full") if full else ([], [])
    grid = [b.wall / a.wall for a, b in zip(plain_full, best_full, strict=True)]
    return {"per_trial": per_trial, "grid": grid}


def _walls(measurements: list[Measurement], config: PerfConfig, grid: str) -> list[list[str]]:
    rows = []
    for name, ms in zip(variants(config, grid), _by_variant(measurements, config, grid), strict=True):
        rows.append([name, _median_range([m.wall for m in ms], 1), f"{max(m.peak_rss_mb for m in ms):.0f}",
                     f"{max(m.worker_peak_rss_mb for m in ms):.0f}"])
    return rows


def _verdict(values: list[float], goal: float, below: bool = True) -> str:
    if not values:
        return "not measured"
    med = statistics.median(values)
    return "met" if (med <= goal if below else med >= goal) else "**not met**"


def scaling_lines(rows: list[dict], config: PerfConfig) -> list[str]:
    from tabulate import tabulate

    base = rows[0]["epoch"]
    table = [[r["windows"], r["window"], f"{r['epoch']:.3f}", f"{r['epoch'] / base:.2f}"] for r in rows]
    per_model = ", ".join(config.models)
    return [
        "## Scaling (LSTM 50/100, batch 64, seconds per epoch after the first)", "",
        tabulate(table, headers=["training windows", "window length", "s / epoch", "× first row"],
                 tablefmt="github"), "",
        "Cost grows with training windows (one window per series point) and with window length (the recurrence "
        "runs once per step). Seeds and models do not interact: the grid is models × seeds independent trials, "
        f"each costing its model's trial time in the per-model table ({per_model}), so the grid's compute grows "
        "linearly with seeds and with the sum over the chosen models; `--jobs` divides the wall time by at most "
        "the number of cores.", "",
    ]


def unroll_lines(rows: list[dict], config: PerfConfig) -> list[str]:
    from tabulate import tabulate

    table = []
    for model in dict.fromkeys(r["model"] for r in rows):
        loop, unrolled = (next(r for r in rows if r["model"] == model and r["unroll"] is u) for u in (False, True))
        table.append([model, f"{loop['epoch']:.2f}", f"{unrolled['epoch']:.2f}",
                      f"{loop['epoch'] / unrolled['epoch']:.2f}", f"{loop['first_epoch']:.1f}",
                      f"{unrolled['first_epoch']:.1f}"])
    return [
        "## Unrolled recurrent layers (`--unroll`, opt-in)", "",
        f"The suite's recurrent models on the same windows, {config.probe_epochs} epochs each, one process.", "",
        tabulate(table, headers=["model", "loop s / epoch", "unrolled s / epoch", "speed-up", "loop first epoch s",
                                 "unrolled first epoch s"], tablefmt="github"), "",
        "Unrolling traces a graph per window step once, then runs epochs faster; float32 rounding differs in the "
        "last bits (tested), so `--unroll` is its own experiment (config hash) and is not part of the default "
        "setting measured above.", "",
    ]


def backend_lines(results: dict[str, list[dict] | str], config: PerfConfig) -> list[str]:
    from tabulate import tabulate

    measured = {b: r for b, r in results.items() if isinstance(r, list)}
    table = [[model, *(f"{_epoch(next(t for t in r if t['model'] == model)['epoch_seconds']):.3f}"
                       for r in measured.values())] for model in config.models]
    lines = ["## Keras backends (plain reference, seconds per epoch after the first)", "",
             f"One seed, {config.probe_epochs} epochs per model, each backend in its own process.", ""]
    if measured:
        lines += [tabulate(table, headers=["model", *measured], tablefmt="github"), ""]
    lines += [f"- {b}: {r}" for b, r in results.items() if not isinstance(r, list)]
    if "tensorflow" in measured and len(measured) > 1:
        tf_total = sum(_epoch(t["epoch_seconds"]) for t in measured["tensorflow"])
        faster = [b for b, r in measured.items() if sum(_epoch(t["epoch_seconds"]) for t in r) < tf_total]
        lines.append("Faster than TensorFlow over these models: " + (", ".join(faster) if faster else
                     "none, so the suite stays on TensorFlow and offers no `--backend` switch."))
    return [*lines, ""]


def render(short: list[Measurement], full: list[Measurement], config: PerfConfig, command: str,
           extras: dict | None = None) -> str:
    from tabulate import tabulate

    extras = extras or {}
    names = list(variants(config, "short"))
    table = per_model_table(short)
    rows = [[model, variant, _median_range(r.epoch), _median_range(r.first_epoch), _median_range(r.wall),
             _median_range(r.fit)] for (model, variant), r in table.iterrows()]
    suite_single = [m for m in short if m.variant == names[1]]
    overhead = [1 - sum(t["fit"] for t in m.trials) / m.wall for m in suite_single]
    trial_overhead = [1 - sum(t["fit"] for t in m.trials) / sum(t["wall"] for t in m.trials) for m in suite_single]
    r = ratios(short, full, config)
    best = f"suite `--jobs {config.best_jobs}`"
    worker_rss = max([m.worker_peak_rss_mb for m in short + full if m.variant == names[2]])
    main_rss = max([m.peak_rss_mb for m in short + full if m.variant == names[2]])
    worker_goal = WORKER_MEMORY / 2**20  # what `--jobs auto` budgets per worker
    total_gb = (os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")) / 2**30
    cpu = platform.processor() or platform.machine()
    full_grid = config.full.title(config.models) if config.full else "throughput grid (not measured)"
    lines = [
        "# Performance", "",
        f"Generated by `{command}` on {os.cpu_count()} cores ({cpu}, {platform.system()}, {total_gb:.0f} GB), "
        f"Python {platform.python_version()}. Data: the last {config.points} days of `msft` "
        f"({config.points - 2 * TUTORIAL_TEST} training windows of 60 steps), classic protocol. Every variant runs "
        "in a fresh process (TensorFlow import included in grid wall time); variants are interleaved (A B A B "
        "...) and repeated; values are medians (min–max) over repeats and seeds. The plain reference is the "
        "classic tutorial's Keras code: one `model.fit` after another, TensorFlow's default threads.", "",
        "## Targets (ratios from this run)", "",
        "| target | measured | goal | |", "|---|---|---|---|",
        f"| suite `--jobs 1` wall per trial / plain reference (short grid) | {_median_range(r['per_trial'], 3)} | "
        f"≤ 1.05 | {_verdict(r['per_trial'], 1.05)} |",
        f"| {full_grid}, {best} / plain sequential | {_median_range(r['grid'], 3)} | ≤ 0.67 | "
        f"{_verdict(r['grid'], 0.67)} |",
        f"| peak RSS per worker (MB) | {worker_rss:.0f} | ≤ {worker_goal:.0f} | "
        f"{_verdict([worker_rss], worker_goal)} |",
        f"| whole run at `--jobs {config.best_jobs}`: main + workers (GB) | "
        f"{(main_rss + config.best_jobs * worker_rss) / 1024:.1f} | ≤ {total_gb:.0f} (this machine) | "
        f"{_verdict([(main_rss + config.best_jobs * worker_rss) / 1024], total_gb)} |", "",
    ]
    if full:
        lines += [
            f"## {full_grid[0].upper() + full_grid[1:]}, {config.full.repeats} interleaved repeat(s)", "",
            tabulate(_walls(full, config, "full"), headers=["variant", "grid wall s", "peak RSS main MB",
                                                            "peak RSS worker MB"], tablefmt="github"), "",
            "Per model, seconds per epoch (median after the first) and wall per trial:", "",
            tabulate([[model, variant, _median_range(x.epoch), _median_range(x.first_epoch), _median_range(x.wall)]
                      for (model, variant), x in per_model_table(full).iterrows()],
                     headers=["model", "variant", "s / epoch", "first epoch s", "trial wall s"], tablefmt="github"),
            "",
        ]
    lines += [
        f"## Short grid ({config.short.describe(config.models)}), {config.short.repeats} interleaved repeat(s)", "",
        tabulate(_walls(short, config, "short"), headers=["variant", "grid wall s", "peak RSS main MB",
                                                          "peak RSS worker MB"], tablefmt="github"), "",
        "The default `--jobs auto` is one worker per core: the fastest row of this table and of the full grid. "
        f"Suite `--jobs 1` time outside `fit` (data, MLflow, artifacts, leaderboard and figures): "
        f"{_median_range([100 * o for o in overhead], 1)} % of grid wall time (TensorFlow import included), "
        f"{_median_range([100 * o for o in trial_overhead], 1)} % of trial wall time.", "",
        tabulate(rows, headers=["model", "variant", "s / epoch", "first epoch s", "trial wall s", "fit s"],
                 tablefmt="github"), "",
        "A worker compiles each architecture once and reuses it across seeds (weights, dropout seeds and optimizer "
        "state reset to a fresh build's, bit-identical, tested), so only its first trial of a model pays the "
        "tracing in `first epoch s`; the costliest models are scheduled first, so no worker idles at the end.", "",
    ]
    if extras.get("scaling"):
        lines += scaling_lines(extras["scaling"], config)
    if extras.get("unroll"):
        lines += unroll_lines(extras["unroll"], config)
    if extras.get("backends"):
        lines += backend_lines(extras["backends"], config)
    return "\n".join(lines).rstrip() + "\n"


def main(quick: bool, output: Path | None, repeats: int | None = None, epochs: int | None = None,
         seeds: int | None = None, grid_repeats: int | None = None) -> str:
    config = QUICK if quick else PerfConfig()
    short = {k: v for k, v in {"repeats": repeats, "epochs": epochs}.items() if v}
    if seeds:
        short["seeds"] = tuple(range(seeds))
    changes = {"short": Grid(**{**config.short.__dict__, **short})}
    if grid_repeats is not None:
        changes["full"] = Grid(**{**config.full.__dict__, "repeats": grid_repeats}) if grid_repeats else None
    config = PerfConfig(**{**config.__dict__, **changes})
    flags = {**{k: v if k != "seeds" else len(v) for k, v in short.items()}, "grid-repeats": grid_repeats}
    command = "python -m benchmark perf" + (" --quick" if quick else "") + "".join(
        f" --{k} {v}" for k, v in flags.items() if v is not None)
    progress = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
    with tempfile.TemporaryDirectory() as tmp:
        csv = write_prices(config, Path(tmp))
        full = measure(config, "full", csv, progress) if config.full else []
        short_runs = measure(config, "short", csv, progress)
        extras = {"scaling": measure_scaling(config, Path(tmp), progress),
                  "unroll": measure_unroll(config, csv, progress),
                  "backends": measure_backends(config, csv, progress)}
    text = render(short_runs, full, config, command, extras)
    if output is not None:
        from benchmark.report import _atomic

        _atomic(output, lambda p: p.write_text(text))
    return text


if __name__ == "__main__":
    child_main(sys.argv[1:])
