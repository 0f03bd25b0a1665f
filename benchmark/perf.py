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
        rows.append({"windows": windows, "window": lookback, "epoch": float(np.median(timer.seconds[1:]))})
    return rows


def plain_reference(csv: str, models: list[str], seeds: list[int], epochs: int) -> list[dict]:
    """MinMax on the training part, 60-day windows, `model.fit(x, y, epochs, batch_size=64)`, one after another."""
    import keras
    from sklearn.preprocessing import MinMaxScaler

    from benchmark.training import epoch_timer

    values = pd.read_csv(csv)["Close"].to_numpy(dtype=float).reshape(-1, 1)
    train = values[:-TUTORIAL_TEST]
    scaler = MinMaxScaler().fit(train)
    scaled = scaler.transform(values)
    x_train = np.array([scaled[i - 60:i, 0] for i in range(60, len(train))])[..., None]
    y_train = scaled[60:len(train), 0]
    x_test = np.array([scaled[i - 60:i, 0] for i in range(len(train), len(values))])[..., None]
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
class PerfConfig:
    points: int = 2820  # the msft tail: 2,700 training windows of 60 steps, as in the classic tutorial
    models: tuple[str, ...] = MODELS
    seeds: tuple[int, ...] = (0, 1)
    epochs: int = 5
    repeats: int = 3
    best_jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Scaling note: LSTM epoch cost against training windows (at window 60) and window length (at 2,000 windows).
    scaling_windows: tuple[int, ...] = (1000, 2000, 4000)
    scaling_lookbacks: tuple[int, ...] = (30, 60, 120)


QUICK = PerfConfig(points=400, seeds=(0,), epochs=2, repeats=1, scaling_windows=(200, 400), scaling_lookbacks=(20, 40))


def variants(config: PerfConfig) -> dict[str, int]:
    """variant name -> --jobs (0 for the plain reference)."""
    return {"plain": 0, "suite --jobs 1": 1, f"suite --jobs {config.best_jobs}": config.best_jobs}


def measure(config: PerfConfig, folder: Path, progress=print) -> list[Measurement]:
    """All variants, interleaved, `repeats` times; each in a fresh child process."""
    csv = folder / "prices.csv"
    series = catalog.load(catalog.DEFAULT_DATASET)
    tail = slice(len(series) - config.points, None)
    pd.DataFrame({"Date": series.dates[tail].strftime("%Y-%m-%d"), "Close": series.values[tail]}).to_csv(
        csv, index=False)
    out = []
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false")
    for repeat in range(config.repeats):
        for name, jobs in variants(config).items():
            progress(f"[{repeat + 1}/{config.repeats}] {name} ...")
            argv = ["plain" if jobs == 0 else "suite", str(csv), ",".join(config.models),
                    ",".join(map(str, config.seeds)), str(config.epochs), str(jobs)]
            done = subprocess.run([sys.executable, "-m", "benchmark.perf", *argv], capture_output=True, text=True,
                                  env=env, cwd=folder)
            if done.returncode != 0:
                raise RuntimeError(f"{name} failed: {done.stderr[-2000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
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
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    done = subprocess.run([sys.executable, "-m", "benchmark.perf", "scaling", "3", cases], capture_output=True,
                          text=True, env=env, cwd=folder)
    if done.returncode != 0:
        raise RuntimeError(f"scaling failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median_range(values: list[float], digits: int = 2) -> str:
    if not values:
        return "–"
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def per_model_table(measurements: list[Measurement]) -> pd.DataFrame:
    """Per variant and model: seconds per epoch (median after the first), first epoch, wall per trial."""
    rows = []
    for m in measurements:
        for t in m.trials:
            rows.append({"variant": m.variant, "model": t["model"], "wall": t["wall"], "fit": t["fit"],
                         "first_epoch": t["epoch_seconds"][0] if t["epoch_seconds"] else np.nan,
                         "epoch": float(np.median(t["epoch_seconds"][1:])) if len(t["epoch_seconds"]) > 1 else np.nan})
    frame = pd.DataFrame(rows)
    return frame.groupby(["model", "variant"], sort=False).agg(
        epoch=("epoch", list), first_epoch=("first_epoch", list), wall=("wall", list), fit=("fit", list))


def ratios(measurements: list[Measurement], config: PerfConfig) -> dict[str, list[float]]:
    """The targets, per repeat: suite --jobs 1 trial wall / plain trial wall; best grid wall / plain grid wall."""
    names = list(variants(config))
    by = {n: [m for m in measurements if m.variant == n] for n in names}
    per_trial, grid = [], []
    for plain, single, best in zip(by[names[0]], by[names[1]], by[names[2]], strict=True):
        per_trial.append(sum(t["wall"] for t in single.trials) / sum(t["wall"] for t in plain.trials))
        grid.append(best.wall / plain.wall)
    return {"per_trial": per_trial, "grid": grid}


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


def render(measurements: list[Measurement], config: PerfConfig, command: str,
           scaling_rows: list[dict] | None = None) -> str:
    from tabulate import tabulate

    names = list(variants(config))
    table = per_model_table(measurements)
    rows = [[model, variant, _median_range(r.epoch), _median_range(r.first_epoch), _median_range(r.wall),
             _median_range(r.fit)] for (model, variant), r in table.iterrows()]
    walls = [[n, _median_range([m.wall for m in measurements if m.variant == n], 1),
              f"{max(m.peak_rss_mb for m in measurements if m.variant == n):.0f}",
              f"{max(m.worker_peak_rss_mb for m in measurements if m.variant == n):.0f}"] for n in names]
    suite_single = [m for m in measurements if m.variant == names[1]]
    overhead = [1 - sum(t["fit"] for t in m.trials) / m.wall for m in suite_single]
    trial_overhead = [1 - sum(t["fit"] for t in m.trials) / sum(t["wall"] for t in m.trials) for m in suite_single]
    r = ratios(measurements, config)
    cpu = platform.processor() or platform.machine()
    lines = [
        "# Performance", "",
        f"Generated by `{command}` on {os.cpu_count()} cores ({cpu}, {platform.system()}), "
        f"Python {platform.python_version()}. Data: the last {config.points} days of `msft` "
        f"({config.points - 2 * TUTORIAL_TEST} training windows of 60 steps), classic protocol; "
        f"{len(config.models)} models × {len(config.seeds)} seeds × {config.epochs} epochs per variant; variants "
        f"interleaved, {config.repeats} repeat(s); each variant a fresh process (TensorFlow import included in "
        "grid wall time). Values: median (min–max) over repeats and seeds.", "",
        "## Targets (ratios from this run)", "",
        "| target | measured | goal |", "|---|---|---|",
        f"| suite `--jobs 1` wall per trial / plain reference | {_median_range(r['per_trial'], 3)} | ≤ 1.05 |",
        f"| whole grid, suite `--jobs {config.best_jobs}` / plain sequential | {_median_range(r['grid'], 3)} | "
        "≤ 0.67 |",
        f"| peak RSS per worker (MB) | {max(m.worker_peak_rss_mb for m in measurements if m.variant == names[2]):.0f}"
        " | ≤ 1536 |", "",
        "## Grid wall time and memory", "",
        tabulate(walls, headers=["variant", "grid wall s", "peak RSS main MB", "peak RSS worker MB"],
                 tablefmt="github"), "",
        f"Suite `--jobs 1` time outside `fit` (data, MLflow, artifacts, leaderboard and figures): "
        f"{_median_range([100 * o for o in overhead], 1)} % of grid wall time (TensorFlow import included), "
        f"{_median_range([100 * o for o in trial_overhead], 1)} % of trial wall time.", "",
        "## Per model", "",
        tabulate(rows, headers=["model", "variant", "s / epoch", "first epoch s", "trial wall s", "fit s"],
                 tablefmt="github"), "",
    ]
    if scaling_rows:
        lines += scaling_lines(scaling_rows, config)
    return "\n".join(lines)


def main(quick: bool, output: Path | None, repeats: int | None = None, epochs: int | None = None,
         seeds: int | None = None) -> str:
    config = QUICK if quick else PerfConfig()
    overrides = {k: v for k, v in {"repeats": repeats, "epochs": epochs}.items() if v}
    if seeds:
        overrides["seeds"] = tuple(range(seeds))
    config = PerfConfig(**{**config.__dict__, **overrides})
    command = "python -m benchmark perf" + (" --quick" if quick else "") + "".join(
        f" --{k} {v if k != 'seeds' else len(v)}" for k, v in overrides.items())
    with tempfile.TemporaryDirectory() as folder:
        progress = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731
        measurements = measure(config, Path(folder), progress=progress)
        scaling_rows = measure_scaling(config, Path(folder), progress=progress)
    text = render(measurements, config, command, scaling_rows)
    if output is not None:
        from benchmark.report import _atomic

        _atomic(output, lambda p: p.write_text(text + "\n"))
    return text


if __name__ == "__main__":
    child_main(sys.argv[1:])

