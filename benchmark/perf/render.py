"""PERFORMANCE.md from a stored Record: every median, ratio and verdict is computed here, from raw seconds."""

from __future__ import annotations

import statistics
from pathlib import Path

import numpy as np
import pandas as pd
from tabulate import tabulate

from benchmark.perf import store
from benchmark.perf.goals import GOALS, Goal
from benchmark.perf.settings import EMPTY_STORE_ENV, LOOKBACK, PARTS, TUTORIAL_TEST, PerfConfig
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
    memory = {"worker_rss_mb": [], "run_gb": []}
    grid, fastest = [], []
    if record.full:
        plain_full, *suites = by_variant(record.full, config, "full").values()
        grid = [b.wall / a.wall for a, b in zip(plain_full, suites[0], strict=True)]
        fastest = [min(s[i].wall for s in suites) / a.wall for i, a in enumerate(plain_full)]
    best_name = list(config.variants("short"))[-1]
    best_runs = [m for m in record.short + record.full if m.variant == best_name]
    if best_runs:  # not with `--only` leaving both grids out
        worker = max(m.worker_peak_rss_mb for m in best_runs)
        main = max(m.peak_rss_mb for m in best_runs)
        memory = {"worker_rss_mb": [worker], "run_gb": [(main + config.best_jobs * worker) / 1024]}
    return {"per_trial_ratio": per_trial, "grid_ratio": grid, "fastest_grid_ratio": fastest, **memory,
            "quantile_ratio": quantile_ratios(record)}


def quantile_pairs(record: Record) -> list[tuple[Measurement, Measurement]]:
    """(reference, with --quantiles) pairs of the TensorFlow default run, in run order."""
    if not record.quantiles:
        return []
    reference = next(m for m in record.default if m.variant == "default tensorflow")
    runs = [reference, *record.quantiles]
    return [(runs[i], runs[i + 1]) for i in range(0, len(runs) - 1, 2)]


def quantile_ratios(record: Record) -> list[float]:
    return [q.wall / r.wall for r, q in quantile_pairs(record)]


def fastest_variant(record: Record) -> str:
    """The suite variant of the full grid with the lowest median wall time ('–' without a full grid)."""
    if not record.full:
        return "–"
    _, *suites = by_variant(record.full, record.config, "full").items()
    return min(suites, key=lambda item: statistics.median(m.wall for m in item[1]))[0]


def goal_row(goal: Goal, values: list[float], record: Record, grid_title: str) -> list[str]:
    """target | measured | goal | verdict for one goal."""
    label = goal.description.format(grid=grid_title, best_jobs=record.config.best_jobs,
                                    fastest=f"`{fastest_variant(record)}`")
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
        *faster_backend_lines(per_model_table(record.full, config, "full"), "the suite's epochs on the full grid"),
        *speed_lines(per_model_table(record.full, config, "full"), f"suite --jobs {config.best_jobs}",
                     f"suite fastest --jobs {config.best_jobs}", "on the full grid"),
    ]


def faster_backend_lines(per_model: pd.DataFrame, where: str) -> list[str]:
    """Which backend trains each model's epochs faster (median seconds per epoch after the first), from a per-model
    table whose variants name their backend; nothing when only one backend was measured."""
    epochs: dict[str, dict[str, float]] = {}
    for (model, variant), row in per_model.iterrows():
        if variant == "plain" or PerfConfig.speed_of(variant) == "fastest":  # each other variant: one backend
            continue
        backend = PerfConfig.backend_of(variant) if variant.startswith("suite") else variant.split()[-1]
        values = [v for v in row.epoch if not np.isnan(v)]
        if values:
            epochs.setdefault(model, {})[backend] = statistics.median(values)
    if not any(len(b) > 1 for b in epochs.values()):
        return []
    parts = []
    for model, by_backend in epochs.items():
        if len(by_backend) < 2:
            continue
        fast, slow = sorted(by_backend, key=by_backend.get)[:2]
        parts.append(f"{model}: {fast} ({by_backend[slow] / by_backend[fast]:.2f}x shorter epochs than {slow})")
    return [f"Faster backend per model, {where}: " + "; ".join(parts) + ".", ""]


def speed_lines(per_model: pd.DataFrame, reference: str, fastest: str, where: str) -> list[str]:
    """Per model, `--speed fastest`'s epochs against the same run at the default speed (median seconds per epoch
    after the first); nothing unless both were measured."""
    parts = []
    for model in dict.fromkeys(m for m, _ in per_model.index):
        if (model, reference) not in per_model.index or (model, fastest) not in per_model.index:
            continue
        a, b = ([v for v in per_model.loc[(model, v), "epoch"] if not np.isnan(v)] for v in (reference, fastest))
        if a and b:
            parts.append(f"{model} {statistics.median(a) / statistics.median(b):.2f}x")
    if not parts:
        return []
    return [f"`--speed fastest` against the default speed, {where} (how many times shorter its epochs are): "
            + ", ".join(parts) + ".", ""]


def default_lines(record: Record) -> list[str]:
    """The default run (`run --models all`) per backend: wall time, memory, and the per-model epoch table."""
    if not record.default:
        return []
    run = record.config.default_run or {}
    data = "the harness's short CSV" if run.get("data") == "prices" else "msft"
    chosen = run.get("models", "all")
    rows = [[m.variant.removeprefix("default "), f"{m.wall:.1f}", f"{m.peak_rss_mb:.0f}",
             f"{m.worker_peak_rss_mb:.0f}"] for m in record.default]
    per_model = pd.DataFrame([{"variant": m.variant, "model": t.model, "wall": t.wall,
                               "first_epoch": t.epoch_seconds[0] if t.epoch_seconds else np.nan,
                               "epoch": epoch(t.epoch_seconds), "epochs": len(t.epoch_seconds)}
                              for m in record.default for t in m.trials])
    grouped = per_model.groupby(["model", "variant"], sort=False).agg(
        epoch=("epoch", list), first_epoch=("first_epoch", list), wall=("wall", list), epochs=("epochs", list))
    models = list(dict.fromkeys([*record.config.models, *per_model["model"]]))  # `all` may hold more networks
    order = [(model, m.variant) for m in record.default for model in models]
    grouped = grouped.reindex([k for k in order if k in grouped.index])
    model_rows = [[model, variant.removeprefix("default "), median_range(r.epoch), median_range(r.first_epoch),
                   median_range(r.epochs, 0), median_range(r.wall)] for (model, variant), r in grouped.iterrows()]
    settings = ", ".join(f"{k} {v}" for k, v in run.items() if k not in ("data", "models"))
    return [
        "## The default run as a user runs it, per backend", "",
        f"`python -m benchmark run --models {chosen} --backend B` on {data} ({settings}; the default preset: Adam, "
        f"early stopping on the validation year, every baseline), `--jobs {record.config.best_jobs}`, each backend in "
        "its own fresh process, one after the other.", "",
        table(rows, ["backend", "wall s", "peak RSS main MB", "peak RSS worker MB"]), "",
        table(model_rows, ["model", "backend", "s / epoch", "first epoch s", "epochs run", "trial wall s"]), "",
        *faster_backend_lines(grouped, "in the default run"),
        *speed_lines(grouped, "default tensorflow", "default fastest", "in the default run"),
        *quantile_lines(record),
    ]


def quantile_lines(record: Record) -> list[str]:
    """The default run's cost with --quantiles: each interleaved pair's walls and ratio."""
    pairs = quantile_pairs(record)
    if not pairs:
        return []
    levels = ",".join(f"{q:g}" for q in record.config.default_quantiles)
    rows = [[k + 1, f"{r.wall:.1f}", f"{q.wall:.1f}", f"{q.wall / r.wall:.3f}"] for k, (r, q) in enumerate(pairs)]
    return [f"With `--quantiles {levels}` (TensorFlow; each pair run back to back, the plain run first: every model's "
            "intervals, the proper scores per trial, and the leaderboard's probabilistic section):", "",
            table(rows, ["pair", "without s", "with s", "ratio"]), ""]


def panel_pairs(record: Record) -> list[tuple[Measurement, Measurement]]:
    """(local, --training global) pairs of the panel run, in run order."""
    local = [m for m in record.panel if m.variant == "panel local"]
    both = [m for m in record.panel if m.variant == "panel global"]
    return list(zip(local, both, strict=False))


def panel_lines(record: Record) -> list[str]:
    """`--training global` against the same panel's local runs: each pair's walls, and each global network's
    training against the five (or however many) local networks' of the same architecture and seed together."""
    pairs = panel_pairs(record)
    if not pairs:
        return []
    run = record.config.panel_run or {}
    flags = {"dataset": run.get("datasets"), **{k: v for k, v in run.items() if k != "datasets"}}
    command = "python -m benchmark run" + "".join(f" --{k.replace('_', '-')} {v}" for k, v in flags.items())
    walls = [[k + 1, f"{a.wall:.1f}", f"{b.wall:.1f}", f"{b.wall / a.wall:.3f}", f"{b.wall - a.wall:.1f}"]
             for k, (a, b) in enumerate(pairs)]
    rows = []
    for k, (local, both) in enumerate(pairs):
        for trial in (t for t in both.trials if t.model.endswith(" (global)")):
            model = trial.model.removesuffix(" (global)")
            own = [t for t in local.trials if t.model.split(" · ")[0] == model and t.seed == trial.seed]
            if not own:
                continue
            together = sum(t.fit for t in own)
            rows.append([k + 1, model, trial.seed, len(own), f"{trial.fit:.1f}", f"{together:.1f}",
                         f"{trial.fit / together:.2f}", len(trial.epoch_seconds),
                         f"{statistics.median([len(t.epoch_seconds) for t in own]):g}",
                         f"{epoch(trial.epoch_seconds):.3f}", f"{sum(epoch(t.epoch_seconds) for t in own):.3f}"])
    return [
        "## Networks trained across the panel (`--training global`)", "",
        f"`{command}` (every series' own networks and baselines, in one "
        f"command) and right after it the same with `--training global` (those again, plus one network per "
        f"architecture and seed trained on every series' training windows before the panel's cut-off), TensorFlow, "
        f"`--jobs {record.config.best_jobs}`, each in a fresh process. The difference of the walls is what the "
        "global networks add to the run.", "",
        table(walls, ["pair", "local run s", "with --training global s", "ratio", "difference s"]), "",
        "Each global network against the local networks of its architecture and seed, one per series (training "
        "seconds, `fit` with early stopping; s / epoch is the median after the first epoch, the local ones "
        "summed):", "",
        table(rows, ["pair", "model", "seed", "series", "global fit s", "local fits s (sum)", "ratio",
                     "global epochs", "local epochs (median)", "global s / epoch", "local s / epoch (sum)"]), "",
    ]


def floor_lines(record: Record) -> list[str]:
    """How far each measured implementation is from the hardware: FLOPs per epoch from the layer sizes against
    one core's measured matmul rate, beside the measured seconds per epoch of every variant of the full grid (the
    short grid without it); and the whole full grid's floor on every core against the plain loop's wall."""
    floor = record.floor
    if not floor:
        return []
    rate, windows = floor["matmul_gflops"] * 1e9, floor["windows"]
    grid, name = (record.full, "full") if record.full else (record.short, "short")
    per_model = per_model_table(grid, record.config, name) if grid else None
    variants = list(record.config.variants(name)) if grid else []
    rows = []
    for model, flops in floor["flops_per_window"].items():
        seconds = flops * windows / rate
        row = [model, f"{flops * windows / 1e9:.3g}", f"{seconds:.3g}"]
        for variant in variants:
            values = [] if (model, variant) not in per_model.index else \
                [v for v in per_model.loc[(model, variant), "epoch"] if not np.isnan(v)]
            row.append(f"{statistics.median(values):.3f} ({statistics.median(values) / seconds:.1f}x)" if values
                       else "–")
        rows.append(row)
    lines = [
        "## The arithmetic floor", "",
        f"FLOPs per epoch from the layer sizes ({windows} training windows of {LOOKBACK} steps; per window the "
        "kernels' multiply-adds of the forward pass, the backward pass counted as twice the forward one), against "
        f"one core's measured float32 matmul rate, {floor['matmul_gflops']:.1f} GFLOP/s (TensorFlow, one thread): "
        "the seconds an epoch cannot go below on one core, and each variant's measured seconds per epoch (median "
        f"after the first, the {name} grid) with its multiple of that floor.", "",
        table(rows, ["model", "GFLOP / epoch", "floor s / epoch", *(f"{v} s / epoch" for v in variants)]), "",
    ]
    floor_at, grid_at = sitting_of(record, "floor"), sitting_of(record, name)
    if floor_at != grid_at and None not in (floor_at, grid_at):
        lines += [f"The floor was measured in sitting {floor_at}, the {name} grid in sitting {grid_at}: they may have "
                  "run on hosts of different speed, so these multiples compare two sittings.", ""]
    if record.full:
        spec = record.config.full
        total = sum(f * windows * spec.epochs * len(spec.seeds) for f in floor["flops_per_window"].values())
        cores = record.machine["cores"]
        plain = statistics.median(m.wall for m in record.full if m.variant == "plain")
        lines += [f"The whole {record.config.full.describe(record.config.models)} grid's floor on {cores} cores: "
                  f"{total / (rate * cores):.1f} s, {total / (rate * cores) / plain:.3f}x the plain loop's "
                  f"{plain:.1f} s.", ""]
    return lines


def short_lines(record: Record) -> list[str]:
    if not record.short:
        return []
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
    cases = [r for r in record.scaling if "series" not in r and "seeds" not in r]
    panel = [r for r in record.scaling if "series" in r]
    seeds = next((r for r in record.scaling if "seeds" in r), None)
    if not cases:
        return []
    epochs = [epoch(r["epoch_seconds"]) for r in cases]
    rows = [[r["windows"], r["window"], f"{e:.3f}", f"{e / epochs[0]:.2f}"] for r, e in zip(cases, epochs,
                                                                                          strict=True)]
    lines = [
        "## Scaling (LSTM 50/100, batch 64, seconds per epoch after the first)", "",
        table(rows, ["training windows", "window length", "s / epoch", "× first row"]), "",
        "Cost grows with training windows (one window per series point) and with window length (the recurrence "
        "runs once per step). Seeds and models do not interact: the grid is models × seeds independent trials, "
        f"each costing its model's trial time in the per-model table ({', '.join(record.config.models)}), so the "
        "grid's compute grows linearly with seeds and with the sum over the chosen models; `--jobs` divides the "
        "wall time by at most the number of cores.", "",
    ]
    if panel:
        first = epoch(panel[0]["epoch_seconds"])
        rows = [[r["series"], ", ".join(r["names"]), r["windows"], f"{epoch(r['epoch_seconds']):.3f}",
                 f"{epoch(r['epoch_seconds']) / first:.2f}", f"{r['windows'] / panel[0]['windows']:.2f}"]
                for r in panel]
        lines += ["A global network's panel (`--training global`, default preset): the training windows of the "
                  "first k series, each re-split at their panel's cut-off, and an epoch on them:", "",
                  table(rows, ["series", "panel", "training windows", "s / epoch", "× one series",
                               "windows × one series"]), ""]
    if seeds:
        walls = seeds["seed_walls"]
        rows = [[k, f"{w:.2f}", f"{sum(walls[: k + 1]):.2f}"] for k, w in enumerate(walls)]
        lines += ["Seeds: the suite's LSTM trained for one seed after another in one process (its trainer compiles "
                  "once and resets the weights for each later seed, so only the first pays the tracing):", "",
                  table(rows, ["seed", "trial s", "cumulative s"]), ""]
    return lines


def unroll_lines(record: Record) -> list[str]:
    if not record.unroll:
        return []
    rows = []
    plain = [r for r in record.unroll if r.get("kernel", "keras") == "keras"]
    for model in dict.fromkeys(r["model"] for r in plain if r["unroll"]):
        loop, unrolled = (next(r["epoch_seconds"] for r in plain if r["model"] == model and r["unroll"] is u)
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
        *kernel_lines(record),
    ]


def kernel_lines(record: Record) -> list[str]:
    """The fused LSTM kernel (`--kernel fused`) against the same layer's loop, in the same probe process."""
    fused = [r for r in record.unroll if r.get("kernel") == "fused"]
    if not fused:
        return []
    rows = []
    for row in fused:
        loop = next(r["epoch_seconds"] for r in record.unroll
                    if r["model"] == row["model"] and not r["unroll"] and r.get("kernel", "keras") == "keras")
        quick = row["epoch_seconds"]
        rows.append([row["model"], f"{epoch(loop):.2f}", f"{epoch(quick):.2f}", f"{epoch(loop) / epoch(quick):.2f}",
                     f"{loop[0]:.1f}", f"{quick[0]:.1f}"])
    return ["### The fused LSTM kernel (`--kernel fused`, opt-in)", "",
            table(rows, ["model", "Keras loop s / epoch", "fused s / epoch", "speed-up", "loop first epoch s",
                         "fused first epoch s"]), "",
            "The same layer, weights and gradients (to float32 rounding, tested) on TensorFlow's BlockLSTM op; its "
            "own experiment (config hash), not part of the default setting.", ""]


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
                     "none: TensorFlow stays the default backend."))
    return [*lines, ""]


def sitting_of(record: Record, part: str) -> int | None:
    """The sitting (from 1) that measured `part`, where the record says (resumed runs name their parts)."""
    return next((i for i, s in enumerate(record.sittings, start=1) if part in s.get("parts", ())), None)


def sittings_lines(record: Record) -> list[str]:
    """When an interrupted run was resumed: which measurements each sitting made, when and at which commit."""
    if len(record.sittings) < 2:
        return []

    def made(first: int, count: int) -> str:
        return {0: "no measurement", 1: f"measurement {first + 1}"}.get(
            count, f"measurements {first + 1}–{first + count}")

    def which(sitting: dict) -> str:
        named = sitting.get("parts")  # records from before parts were journaled have none
        return f" ({', '.join(named)})" if named else ""

    parts = [f"{i}. from {s['date']}, commit `{s['commit'][:12]}`, {made(s['first'], s['count'])}{which(s)}"
             for i, s in enumerate(record.sittings, start=1)]
    whole = ("each part (a grid, a probe, the default run...) was measured whole in one sitting, the children of a "
             "part an interruption cut short measured again, so every ratio compares timings from one sitting"
             if all("parts" in s for s in record.sittings) else
             "each measurement (one child process) ran whole in one sitting, and an interleaved pair may straddle two")
    return [f"Measured in {len(record.sittings)} sittings of this command: an interrupted run was resumed from its "
            f"journal (`perf.journal.json`), {whole}: " + "; ".join(parts) + ".", ""]


def render(record: Record) -> str:
    """The whole report, a pure function of the stored record."""
    config, machine = record.config, record.machine
    measured = config.full and "full" in config.parts
    grid_title = config.full.title(config.models) if measured else "throughput grid (not measured)"
    skipped = [p for p in PARTS if p not in config.parts]
    lines = [
        "# Performance", "",
        f"Generated by `{record.command}` on {machine['cores']} cores ({machine['cpu']}, {machine['system']}, "
        f"{machine['memory_gb']:.0f} GB), Python {machine['python']}. Data: the last {config.points} days of `msft` "
        f"({config.points - TUTORIAL_TEST - LOOKBACK} training windows of {LOOKBACK} steps), classic protocol. "
        "Every variant runs in a fresh process (its imports, TensorFlow's included, count in grid wall time); "
        "variants are interleaved (A B A B ...) and repeated; values are medians (min–max) over repeats and seeds. "
        "The plain reference is the classic tutorial's Keras code: one `model.fit` after another, TensorFlow's "
        "default threads." + (" Each run probe started from a copy of an empty MLflow store "
                              f"(`${EMPTY_STORE_ENV}`), so its wall leaves out creating the store."
                              if machine.get("empty_store_copied") else ""), "",
        *([f"Measured only {', '.join(config.parts)} (`--only`); not measured: {', '.join(skipped)}." if
           "--only" in record.command else f"Not measured (the harness had no such part when this ran): "
           f"{', '.join(skipped)}.", ""] if skipped else []),
        *sittings_lines(record),
        *targets_lines(record, grid_title),
        *full_lines(record, grid_title),
        *short_lines(record),
        *scaling_lines(record),
        *unroll_lines(record),
        *default_lines(record),
        *panel_lines(record),
        *floor_lines(record),
        *backend_lines(record),
    ]
    return "\n".join(lines).rstrip() + "\n"


def render_file(json_path: str | Path) -> str:
    """Re-render the report from a stored `perf.json`, without measuring anything."""
    return render(store.load(Path(json_path)))
