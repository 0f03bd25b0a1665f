"""The parent side: prepares the data, runs every measurement in a fresh child process and collects a Record.

Variants of a grid are interleaved (A B C A B C ...) and repeated, because the machine is shared and noisy.
"""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from benchmark.data import catalog
from benchmark.files import atomic_write
from benchmark.perf import store
from benchmark.perf.settings import LOOKBACK, TUTORIAL_TEST, PerfConfig
from benchmark.perf.store import Measurement, Record, Trial

Progress = Callable[[str], None]
_jobs = itertools.count()
_journal: store.Journal | None = None  # the running collect()'s journal of finished children, and its progress
_progress: Progress = print


def write_prices(config: PerfConfig, folder: Path) -> Path:
    """The last `config.points` days of the default dataset as a Date,Close CSV: both sides read this file."""
    csv = folder / "prices.csv"
    series = catalog.load(catalog.DEFAULT_DATASET)
    tail = slice(len(series) - config.points, None)
    frame = pd.DataFrame({"Date": series.dates[tail].strftime("%Y-%m-%d"), "Close": series.values[tail]})
    atomic_write(csv, lambda p: frame.to_csv(p, index=False))
    return csv


def run_child(job: dict, folder: Path, what: str, **env: str):
    """Run `job` (see child.py) in a fresh `python -m benchmark.perf.child`; its JSON result (replayed from the
    journal when an interrupted run of the same command finished it)."""
    key = _journal.key(job, folder, what, env) if _journal is not None else None
    if key is not None and (replayed := _journal.replay(key)) is not None:
        _progress("    (measured in an earlier sitting: replayed from the journal)")
        return replayed
    number = next(_jobs)
    job_path, result_path = folder / f"job-{number}.json", folder / f"result-{number}.json"
    atomic_write(job_path, lambda p: p.write_text(json.dumps(job)))
    environment = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR="false", **env)
    done = subprocess.run([sys.executable, "-m", "benchmark.perf.child", "--job", str(job_path), "--result",
                           str(result_path)], capture_output=True, text=True, env=environment, cwd=folder)
    if done.returncode != 0 or not result_path.is_file():
        raise RuntimeError(f"{what} failed: {done.stderr[-2000:]}")
    result = json.loads(result_path.read_text())
    if _journal is not None:
        _journal.record(key, result)
    return result


def grid_job(variant_jobs: int, csv: Path, models, seeds, epochs: int, backend: str = "tensorflow",
             speed: str = "default") -> dict:
    """A grid job: the plain reference for --jobs 0, else the suite with that many jobs on `backend` at `speed`."""
    return {"probe": "grid", "variant": "plain" if variant_jobs == 0 else "suite", "csv": str(csv),
            "models": list(models), "seeds": list(seeds), "epochs": epochs, "jobs": variant_jobs, "backend": backend,
            "speed": speed}


def measure_grid(config: PerfConfig, grid: str, csv: Path, progress: Progress) -> tuple[Measurement, ...]:
    """The grid's variants, interleaved, `repeats` times; each in a fresh child process."""
    spec = config.full if grid == "full" else config.short
    out = []
    for repeat in range(spec.repeats):
        for name, jobs in config.variants(grid).items():
            progress(f"[{grid} grid {repeat + 1}/{spec.repeats}] {name} ...")
            job = grid_job(jobs, csv, config.models, spec.seeds, spec.epochs, config.backend_of(name),
                           config.speed_of(name))
            result = run_child(job, csv.parent, name)
            out.append(Measurement.from_dict({**result, "variant": name}))
            progress(f"    {name}: {out[-1].wall:.1f} s")
    return tuple(out)


def measure_scaling(config: PerfConfig, folder: Path, progress: Progress) -> list[dict]:
    """The scaling cases, all in one fresh child process."""
    progress("scaling ...")
    job = {"probe": "scaling", "cases": [list(case) for case in config.scaling_cases()],
           "epochs": config.scaling_epochs, "panel": list(config.scaling_panel), "seeds": config.scaling_seeds,
           "csv": str(folder / "prices.csv")}
    return run_child(job, folder, "scaling")


def measure_unroll(config: PerfConfig, csv: Path, progress: Progress) -> list[dict]:
    progress("unrolled recurrent layers ...")
    job = {"probe": "unroll", "csv": str(csv), "models": list(config.unroll_models), "epochs": config.probe_epochs,
           "kernel_models": list(config.kernel_models)}
    return run_child(job, csv.parent, "unroll probe")


def measure_backends(config: PerfConfig, csv: Path, progress: Progress) -> dict[str, tuple[Trial, ...] | str]:
    """The plain reference (one seed) under each Keras backend that is installed; why not, for the others."""
    out: dict[str, tuple[Trial, ...] | str] = {}
    for backend in config.backends:
        if importlib.util.find_spec(backend) is None:
            out[backend] = "not installed"
            continue
        progress(f"Keras backend {backend} ...")
        job = grid_job(0, csv, config.models, (0,), config.probe_epochs)
        try:
            result = run_child(job, csv.parent, backend, KERAS_BACKEND=backend)  # Keras reads it at import
        except RuntimeError as exc:
            out[backend] = f"failed: {str(exc).splitlines()[-1][:200]}"
            continue
        out[backend] = Measurement.from_dict({**result, "variant": backend}).trials
    return out


def measure_default(config: PerfConfig, csv: Path, progress: Progress
                    ) -> tuple[tuple[Measurement, ...], tuple[Measurement, ...]]:
    """The default run as a user runs it (`run --models all`, default preset), once per suite backend, each in a
    fresh process at the best --jobs; and under TensorFlow with the declared --quantiles right after its plain
    reference (more interleaved pairs for more repeats)."""
    if not config.default_run:
        return (), ()
    out, quantiles = [], []

    def once(backend: str, levels: tuple[float, ...] = (), speed: str = "default") -> Measurement:
        name = f"default {'fastest' if speed == 'fastest' else backend}" + (" --quantiles" if levels else "")
        progress(f"[default run] {name.removeprefix('default ')} ...")
        job = {"probe": "default", "backend": backend, "jobs": config.best_jobs, "csv": str(csv),
               "quantiles": list(levels), "speed": speed, **config.default_run}
        measured = Measurement.from_dict({**run_child(job, csv.parent, name), "variant": name})
        progress(f"    {name}: {measured.wall:.1f} s")
        return measured

    backends = [b for b in config.suite_backends if config.default_backends is None or b in config.default_backends]
    for backend in backends:
        out.append(once(backend))
        if backend == "tensorflow" and config.default_quantiles and config.quantile_repeats:
            quantiles.append(once(backend, config.default_quantiles))  # right after its reference
            for _ in range(config.quantile_repeats - 1):
                quantiles += [once(backend), once(backend, config.default_quantiles)]
    if config.speed_variants:
        out.append(once("tensorflow", speed="fastest"))
    return tuple(out), tuple(quantiles)


def measure_panel(config: PerfConfig, folder: Path, progress: Progress) -> tuple[Measurement, ...]:
    """The panel's local run, then the same with `--training global`, `panel_repeats` interleaved pairs, each in a
    fresh process (TensorFlow, the best --jobs)."""
    if not config.panel_run:
        return ()
    out = []
    for repeat in range(config.panel_repeats):
        for training in ("local", "global"):
            name = f"panel {training}"
            progress(f"[panel {repeat + 1}/{config.panel_repeats}] --training {training} ...")
            job = {"probe": "panel", "training": training, "jobs": config.best_jobs, "folder": str(folder),
                   **config.panel_run}
            out.append(Measurement.from_dict({**run_child(job, folder, name), "variant": name}))
            progress(f"    {name}: {out[-1].wall:.1f} s")
    return tuple(out)


def measure_floor(config: PerfConfig, folder: Path, progress: Progress) -> dict:
    """One core's matmul rate and the models' FLOPs per training window, in a fresh one-thread process."""
    progress("arithmetic floor ...")
    job = {"probe": "floor", "models": list(config.models), "windows": config.points - TUTORIAL_TEST - LOOKBACK}
    return run_child(job, folder, "floor probe")


def resolved(config: PerfConfig) -> PerfConfig:
    """`config` as it will be measured here: what the record says is what ran (the suite backends installed;
    --speed fastest runs the MLP on JAX, so without JAX it is not measured)."""
    from dataclasses import replace

    installed = tuple(b for b in config.suite_backends if importlib.util.find_spec(b) is not None)
    return replace(config, suite_backends=installed, speed_variants=config.speed_variants and "jax" in installed)


def collect(config: PerfConfig, command: str, folder: Path, progress: Progress,
            journal: store.Journal | None = None) -> Record:
    """Every measurement of a `resolved` config, in the report's order of cost: the full grid first, then the
    rest; the children `journal` holds already are replayed, each new one is journaled as it finishes."""
    global _journal, _progress
    if journal is not None and journal.resumed:
        progress(f"resuming: {journal.resumed} measurement(s) of the interrupted run are in {journal.path}")
    if journal is not None and journal.dropped:
        progress(f"measuring again the {journal.dropped} measurement(s) of the part the interruption cut short: "
                 "a part's timings come from one sitting")
    _journal, _progress = journal, progress
    try:
        return _collect(config, command, folder, progress, journal)
    finally:
        _journal, _progress = None, print


def _collect(config: PerfConfig, command: str, folder: Path, progress: Progress,
             journal: store.Journal | None) -> Record:
    date = journal.sittings[0]["date"] if journal is not None else store.now()
    csv = write_prices(config, folder)

    def part(name: str, measure: Callable[[], object], skipped):
        """One part of the harness, whole, or `skipped` when it is not measured; the journal hears it finished."""
        if name not in config.parts or (name == "full" and not config.full):
            return skipped
        measured = measure()
        if journal is not None:
            journal.finished_part(name)
        return measured

    full = part("full", lambda: measure_grid(config, "full", csv, progress), ())
    short = part("short", lambda: measure_grid(config, "short", csv, progress), ())
    scaling = part("scaling", lambda: measure_scaling(config, folder, progress), [])
    unroll = part("unroll", lambda: measure_unroll(config, csv, progress), [])
    backends = part("backends", lambda: measure_backends(config, csv, progress), {})
    default, quantiles = part("default", lambda: measure_default(config, csv, progress), ((), ()))
    panel = part("panel", lambda: measure_panel(config, folder, progress), ())
    floor = part("floor", lambda: measure_floor(config, folder, progress), {})
    return Record(command, store.machine(), config, full, short, tuple(scaling), tuple(unroll), backends, date,
                  default, quantiles, panel, floor, tuple(journal.sittings) if journal is not None else ())
