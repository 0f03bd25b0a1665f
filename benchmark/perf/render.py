"""PERFORMANCE.md from a stored Record: every median, ratio and verdict is computed here, from raw seconds."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from benchmark.perf import store
from benchmark.perf.goals import GOALS, Goal
from benchmark.perf.settings import LOOKBACK, TUTORIAL_TEST, PerfConfig
from benchmark.perf.store import Measurement, Record, Trial


def median_range(values: list[float], digits: int = 2) -> str:
    if not values:
        return "–"
    med = statistics.median(values)
    return f"{med:.{digits}f} ({min(values):.{digits}f}–{max(values):.{digits}f})"


def epoch(seconds) -> float:
    """Seconds per epoch: the median after the first epoch (which includes tracing); NaN with one epoch."""
    return float(np.median(seconds[1:])) if len(seconds) > 1 else np.nan


def table(rows: list[list], headers: list[str]) -> str:
    return tabulate(rows, headers=headers, tablefmt="github")


def by_variant(measurements: tuple[Measurement, ...], config: PerfConfig, grid: str) -> dict[str, list[Measurement]]:
    return {name: [m for m in measurements if m.variant == name] for name in config.variants(grid)}


def per_model_table(measurements: tuple[Measurement, ...], config: PerfConfig, grid: str) -> pd.DataFrame:
    """Per variant and model (in the config's order, not the run's), lists over repeats and seeds: s / epoch,
    first epoch, trial wall and fit seconds."""
    rows = [{"variant": m.variant, "model": t.model, "wall": t.wall, "fit": t.fit,
             "first_epoch": t.epoch_seconds[0] if t.epoch_seconds else np.nan, "epoch": epoch(t.epoch_seconds)}
            for m in measurements for t in m.trials]
    frame = pd.DataFrame(rows).groupby(["model", "variant"]).agg(
        epoch=("epoch", list), first_epoch=("first_epoch", list), wall=("wall", list), fit=("fit", list))
    order = [(model, variant) for variant in config.variants(grid) for model in config.models]
    return frame.reindex([key for key in order if key in frame.index])


def quantities(record: Record) -> dict[str, list[float]]:
    """The values the goals compare, per repeat where there are repeats (goals.Goal.quantity names them)."""
    config = record.config
    short = by_variant(record.short, config, "short")
    plain, single, best = short.values()
    per_trial = [sum(t.wall for t in b.trials) / sum(t.wall for t in a.trials)
                 for a, b in zip(plain, single, strict=True)]
    grid = []
    if record.full:
        plain_full, best_full = by_variant(record.full, config, "full").values()
        grid = [b.wall / a.wall for a, b in zip(plain_full, best_full, strict=True)]
    best_name = list(config.variants("short"))[-1]
    best_runs = [m for m in record.short + record.full if m.variant == best_name]
    worker = max(m.worker_peak_rss_mb for m in best_runs)
    main = max(m.peak_rss_mb for m in best_runs)
    return {"per_trial_ratio": per_trial, "grid_ratio": grid, "worker_rss_mb": [worker],
            "run_gb": [(main + config.best_jobs * worker) / 1024]}


def goal_row(goal: Goal, values: list[float], record: Record, grid_title: str) -> list[str]:
    """target | measured | goal | verdict for one goal."""
    label = goal.description.format(grid=grid_title, best_jobs=record.config.best_jobs)
    label += f" ({goal.unit})" if goal.unit else ""
    bound = goal.bound(record.machine)
    limit = f"{'≤' if goal.direction == 'at most' else '≥'} " + (
        f"{bound:.0f} (this machine)" if isinstance(goal.limit, str) else f"{bound:g}")
    if not values:  # the full grid skipped (--grid-repeats 0)
        return [label, "–", limit, "not measured"]
    measured = median_range(values, goal.digits) if goal.per_repeat else f"{max(values):.{goal.digits}f}"
    verdict = "met" if goal.met(statistics.median(values), record.machine) else "**not met**"
    return [label, measured, limit, verdict]


def targets_lines(record: Record, grid_title: str) -> list[str]:
    values = quantities(record)
    rows = [goal_row(goal, values[goal.quantity], record, grid_title) for goal in GOALS]
    return ["## Targets (ratios from this run)", "", "| target | measured | goal | |", "|---|---|---|---|",
            *(f"| {' | '.join(row)} |" for row in rows), ""]


def walls(measurements: tuple[Measurement, ...], config: PerfConfig, grid: str) -> str:
    rows = [[name, median_range([m.wall for m in ms], 1), f"{max(m.peak_rss_mb for m in ms):.0f}",
             f"{max(m.worker_peak_rss_mb for m in ms):.0f}"] for name, ms in by_variant(measurements, config,
                                                                                       grid).items()]
    return table(rows, ["variant", "grid wall s", "peak RSS main MB", "peak RSS worker MB"])


def full_lines(record: Record, grid_title: str) -> list[str]:
    if not record.full:
        return []
    config = record.config
    rows = [[model, variant, median_range(x.epoch), median_range(x.first_epoch), median_range(x.wall)]
            for (model, variant), x in per_model_table(record.full, config, "full").iterrows()]
    return [
        f"## {grid_title[0].upper() + grid_title[1:]}, {config.full.repeats} interleaved repeat(s)", "",
        walls(record.full, config, "full"), "",
        "Per model, seconds per epoch (median after the first) and wall per trial:", "",
        table(rows, ["model", "variant", "s / epoch", "first epoch s", "trial wall s"]), "",
    ]


def short_lines(record: Record) -> list[str]:
    config = record.config
    rows = [[model, variant, median_range(r.epoch), median_range(r.first_epoch), median_range(r.wall),
             median_range(r.fit)] for (model, variant), r in per_model_table(record.short, config, "short").iterrows()]
    single = by_variant(record.short, config, "short")["suite --jobs 1"]
    overhead = [100 * (1 - sum(t.fit for t in m.trials) / m.wall) for m in single]
    trial_overhead = [100 * (1 - sum(t.fit for t in m.trials) / sum(t.wall for t in m.trials)) for m in single]
    return [
        f"## Short grid ({config.short.describe(config.models)}), {config.short.repeats} interleaved repeat(s)", "",
        walls(record.short, config, "short"), "",
        "The default `--jobs auto` is one worker per core: the fastest row of this table and of the full grid. "
        f"Suite `--jobs 1` time outside `fit` (data, MLflow, artifacts, leaderboard and figures): "
        f"{median_range(overhead, 1)} % of grid wall time (imports included), "
        f"{median_range(trial_overhead, 1)} % of trial wall time.", "",
        table(rows, ["model", "variant", "s / epoch", "first epoch s", "trial wall s", "fit s"]), "",
        "A worker compiles each architecture once and reuses it across seeds (weights, dropout seeds and optimizer "
        "state reset to a fresh build's, bit-identical, tested), so only its first trial of a model pays the "
        "tracing in `first epoch s`; the costliest models are scheduled first, so no worker idles at the end.", "",
    ]


def scaling_lines(record: Record) -> list[str]:
    if not record.scaling:
        return []
    epochs = [epoch(r["epoch_seconds"]) for r in record.scaling]
    rows = [[r["windows"], r["window"], f"{e:.3f}", f"{e / epochs[0]:.2f}"] for r, e in zip(record.scaling, epochs,
                                                                                          strict=True)]
    return [
        "## Scaling (LSTM 50/100, batch 64, seconds per epoch after the first)", "",
        table(rows, ["training windows", "window length", "s / epoch", "× first row"]), "",
        "Cost grows with training windows (one window per series point) and with window length (the recurrence "
        "runs once per step). Seeds and models do not interact: the grid is models × seeds independent trials, "
        f"each costing its model's trial time in the per-model table ({', '.join(record.config.models)}), so the "
        "grid's compute grows linearly with seeds and with the sum over the chosen models; `--jobs` divides the "
        "wall time by at most the number of cores.", "",
    ]


def unroll_lines(record: Record) -> list[str]:
    if not record.unroll:
        return []
    rows = []
    for model in dict.fromkeys(r["model"] for r in record.unroll):
        loop, unrolled = (next(r["epoch_seconds"] for r in record.unroll if r["model"] == model and r["unroll"] is u)
                          for u in (False, True))
        rows.append([model, f"{epoch(loop):.2f}", f"{epoch(unrolled):.2f}", f"{epoch(loop) / epoch(unrolled):.2f}",
                     f"{loop[0]:.1f}", f"{unrolled[0]:.1f}"])
    return [
        "## Unrolled recurrent layers (`--unroll`, opt-in)", "",
        f"The suite's recurrent models on the same windows, {record.config.probe_epochs} epochs each, one process.",
        "",
        table(rows, ["model", "loop s / epoch", "unrolled s / epoch", "speed-up", "loop first epoch s",
                     "unrolled first epoch s"]), "",
        "Unrolling traces a graph per window step once, then runs epochs faster; float32 rounding differs in the "
        "last bits (tested), so `--unroll` is its own experiment (config hash) and is not part of the default "
        "setting measured above.", "",
    ]


def backend_lines(record: Record) -> list[str]:
    if not record.backends:
        return []
    config = record.config
    measured: dict[str, tuple[Trial, ...]] = {b: r for b, r in record.backends.items() if not isinstance(r, str)}

    def seconds(trials: tuple[Trial, ...], model: str) -> float:
        return epoch(next(t for t in trials if t.model == model).epoch_seconds)

    lines = ["## Keras backends (plain reference, seconds per epoch after the first)", "",
             f"One seed, {config.probe_epochs} epochs per model, each backend in its own process.", ""]
    if measured:
        rows = [[model, *(f"{seconds(r, model):.3f}" for r in measured.values())] for model in config.models]
        lines += [table(rows, ["model", *measured]), ""]
    lines += [f"- {b}: {r}" for b, r in record.backends.items() if isinstance(r, str)]
    if "tensorflow" in measured and len(measured) > 1:
        total = {b: sum(seconds(r, m) for m in config.models) for b, r in measured.items()}
        faster = [b for b in measured if total[b] < total["tensorflow"]]
        lines.append("Faster than TensorFlow over these models: " + (", ".join(faster) if faster else
                     "none, so the suite stays on TensorFlow and offers no `--backend` switch."))
    return [*lines, ""]


def render(record: Record) -> str:
    """The whole report, a pure function of the stored record."""
    config, machine = record.config, record.machine
    grid_title = config.full.title(config.models) if config.full else "throughput grid (not measured)"
    lines = [
        "# Performance", "",
        f"Generated by `{record.command}` on {machine['cores']} cores ({machine['cpu']}, {machine['system']}, "
        f"{machine['memory_gb']:.0f} GB), Python {machine['python']}. Data: the last {config.points} days of `msft` "
        f"({config.points - TUTORIAL_TEST - LOOKBACK} training windows of {LOOKBACK} steps), classic protocol. "
        "Every variant runs in a fresh process (its imports, TensorFlow's included, count in grid wall time); "
        "variants are interleaved (A B A B ...) and repeated; values are medians (min–max) over repeats and seeds. "
        "The plain reference is the classic tutorial's Keras code: one `model.fit` after another, TensorFlow's "
        "default threads.", "",
        *targets_lines(record, grid_title),
        *full_lines(record, grid_title),
        *short_lines(record),
        *scaling_lines(record),
        *unroll_lines(record),
        *backend_lines(record),
    ]
    return "\n".join(lines).rstrip() + "\n"


def render_file(json_path: str | Path) -> str:
    """Re-render the report from a stored `perf.json`, without measuring anything."""
    return render(store.load(Path(json_path)))
