"""The Python API, for notebooks and scripts: `benchmark.run(...)` and `benchmark.load(...)` return `Results`.

The command line is a thin layer over the same calls (`plan`, `execute`, `load`). Keyword arguments are the
settings of `benchmark.config.settings.TABLE`, by the same words as the flags (`lookback=30`, `test_size=60`, ...);
mistakes raise `BenchmarkError` with the one-line message the CLI prints.
"""

from __future__ import annotations

import sys
import uuid
from collections.abc import Iterable
from dataclasses import dataclass

import pandas as pd

from benchmark.config import experiment, settings, sweep
from benchmark.data import catalog
from benchmark.errors import BenchmarkError
from benchmark.models import registry


@dataclass
class Results:
    """A benchmark's outcome, read back from its tracking store: one entry per dataset."""

    report: object  # benchmark.render.report.Report: every dataset's data, typed table, figures and the markdown

    @property
    def table(self) -> pd.DataFrame:
        """The leaderboard: one row per model and seed ensemble (per dataset), with every column of the CSV."""
        return pd.concat([s.frame for s in self.report.sections], ignore_index=True)

    @property
    def predictions(self) -> pd.DataFrame:
        """Every scored test point of every finished trial: dataset, model, seed, fold, date, step, actual,
        predicted (original price scale), and the quantile columns q0.05, ... of a run with --quantiles."""
        return pd.concat([s.results.predictions.assign(dataset=s.results.meta.dataset)
                          for s in self.report.sections], ignore_index=True)

    @property
    def lead_times(self) -> pd.DataFrame | None:
        """Errors and tests by lead time (one row per table row and step: mae, rmse, p_value, p_holm,
        significant), per dataset; None for one-step forecasts."""
        frames = [s.lead.assign(dataset=s.results.meta.dataset) for s in self.report.sections if s.lead is not None]
        return pd.concat(frames, ignore_index=True) if frames else None

    @property
    def intervals(self) -> pd.DataFrame | None:
        """With --quantiles: each row's coverage per central interval and lead time, with its tests (coverage,
        exact 95% interval, Kupiec, independence and conditional-coverage p, Holm-adjusted, verdict), per dataset;
        None for point forecasts only."""
        frames = [s.coverage.assign(dataset=s.results.meta.dataset) for s in self.report.sections
                  if s.coverage is not None]
        return pd.concat(frames, ignore_index=True) if frames else None

    @property
    def spread(self) -> pd.DataFrame | None:
        """With --quantiles: each row's proper scores (quantile loss, CRPS, wQL, interval scores) and its CRPS
        skill against persistence with the spread family's tests, per dataset; None for point forecasts only."""
        frames = [s.spread.assign(dataset=s.results.meta.dataset) for s in self.report.sections
                  if s.spread is not None]
        return pd.concat(frames, ignore_index=True) if frames else None

    @property
    def verdict(self) -> str:
        """The verdict in words (one paragraph per dataset)."""
        from benchmark.analysis.verdict import verdict

        texts = [verdict(s.table, s.results.meta) for s in self.report.sections]
        if len(texts) == 1:
            return texts[0]
        return "\n\n".join(f"{s.results.meta.dataset}: {t}" for s, t in zip(self.report.sections, texts, strict=True))

    @property
    def figures(self) -> dict:
        """name -> matplotlib Figure (the leaderboard's figures)."""
        return {path.removeprefix("figures/").removesuffix(".png"): fig
                for path, fig in self.report.figures.items()}

    def to_markdown(self) -> str:
        """The leaderboard as LEADERBOARD.md holds it."""
        return self.report.text

    def _repr_markdown_(self) -> str:  # notebooks show the leaderboard
        return self.report.text


def plan(values: dict, config_file: str | None = None, set_values: Iterable[str] = ()) -> tuple[list, dict]:
    """One resolved config per dataset (preset values < experiment file < `values`) and the sweep grid.

    `values` holds settings by their table word; `models` and `seeds` take what a file takes (a comma list or
    a list; a count or a list of seeds), `dataset` a name, a comma list, a list or 'all'.
    """
    file_values = experiment.load_file(config_file) if config_file else {}
    grid = {k: v if isinstance(v, list) else [v] for k, v in file_values.pop("sweep", {}).items()}
    grid.update(sweep.parse_sets(set_values))  # --set KEY overrides the file's [sweep] KEY
    given = {k: v for k, v in values.items() if v is not None}
    if given.get("data") and given.get("dataset"):
        raise BenchmarkError("give either --dataset or --data, not both")
    if "data" in given:  # data given here replaces the file's data source, whichever kind it named
        file_values.pop("dataset", None)
    if "dataset" in given:
        file_values.pop("data", None)
    if file_values.get("data") and file_values.get("dataset"):
        raise BenchmarkError(f"{config_file}: give either dataset or data, not both")
    merged = {**file_values, **given}
    defaults = {s.name: s.default for s in settings.TABLE}  # the table's, before any preset
    models = merged.pop("models", None) or "all"  # the table's () is every network
    seeds = merged.pop("seeds", defaults["seeds"])
    datasets = catalog.expand(_as_list(merged.pop("dataset", defaults["dataset"])))
    if isinstance(merged.get("jobs"), str):
        merged["jobs"] = _jobs(merged["jobs"])
    shared = {"models": registry.select(",".join(_as_list(models))),
              "seeds": experiment.seeds_from_list(list(seeds)) if isinstance(seeds, list | tuple) else
              experiment.parse_seeds(str(seeds)), **merged}
    preset = shared.pop("preset", defaults["preset"])
    if shared.get("data"):
        bases = [experiment.resolve(preset, **shared)]
    else:
        bases = [experiment.resolve(preset, dataset=name, **shared) for name in datasets]
    if grid:
        sweep.expand(bases[0], grid)  # checks the keys, and that there is validation data to choose on
    return bases, grid


def _jobs(text: str) -> int:
    import argparse

    try:
        return settings.parse_jobs(text)
    except argparse.ArgumentTypeError as exc:
        raise BenchmarkError(f"key 'jobs': {exc}") from None


def _as_list(value) -> list[str]:
    if isinstance(value, list | tuple):
        return [str(v).strip() for v in value]
    return [part.strip() for part in str(value).split(",") if part.strip()]


def execute(bases: list, grid: dict, command: str, progress: bool | None = None):
    """Check every input, train every configuration (resuming), and write the leaderboard: (outcomes, report).

    A leaderboard that cannot be made after failed trials is reported on stderr, not raised: training went
    wrong, not the user's input.
    """
    from benchmark.execution import runner
    from benchmark.render import report

    if bases[0].training == "global":  # before any data is read
        check_panel(bases, grid)
    if bases[0].search == "optuna":
        from benchmark.execution import search

        if not grid:
            raise BenchmarkError("--search optuna needs a space to search: give --set KEY=V1,V2 (or a [sweep] table)")
        bases = [runner.check_inputs(base) for base in bases]
        configs = [final for base in bases for final in search.optuna_search(base, grid, command)]
    else:  # bases checked first: a sweep's identity includes the data's checksum
        bases = [runner.check_inputs(base) for base in bases]
        configs = [point for base in bases for point in sweep.expand(base, grid)]
    configs = [runner.check_inputs(cfg) for cfg in configs]  # all datasets and points, before any training
    invocation = uuid.uuid4().hex  # one id for every configuration of this call: `report` rebuilds them together
    if configs[0].training == "global":  # every series' trials and the global ones, in one pool
        outcomes = runner.run_global(configs, command=command, progress=progress, invocation=invocation)
    else:
        outcomes = []
        for cfg in configs:
            if len(configs) > 1:
                point = sweep.label(cfg)
                print(f"== {cfg.dataset_name}{f' [{point}]' if point else ''} ==", file=sys.stderr)
            outcomes.append(runner.run(cfg, command=command, progress=progress, invocation=invocation))
    failed = any(o.failed for o in outcomes)
    try:
        written = report.write_report(report_entries(outcomes), outcomes[0].config.results_dir)
    except BenchmarkError as exc:
        if not failed:
            raise
        print(f"no leaderboard: {exc}", file=sys.stderr)
        written = None
    return outcomes, written


def check_panel(configs: list, grid: dict) -> None:
    """`--training global` learns across series: it needs two or more of them and a network to train, and runs
    one configuration per series (no sweep or search)."""
    from benchmark.models import registry

    names = sorted({c.dataset_name for c in configs})
    if len(names) < 2:
        raise BenchmarkError(f"--training global needs two or more series to learn across (--dataset prices, or a "
                             f"comma list of datasets); this run has one: {names[0]}")
    if grid or configs[0].search != "grid":
        raise BenchmarkError("--training global runs one configuration per series: drop --set / --search (or the "
                             "experiment file's [sweep] table)")
    if not any(registry.get(m).adapter.needs_keras for m in configs[0].models):
        raise BenchmarkError(f"--training global trains networks across the series, and --models "
                             f"{','.join(configs[0].models)} has none")


def report_entries(outcomes) -> list[tuple[str, str, list[str]]]:
    """One entry per dataset, with the config hashes of all its grid points (one outside sweeps)."""
    entries: dict[str, tuple[str, str, list[str]]] = {}
    for o in outcomes:
        entry = entries.setdefault(o.config.dataset_name, (o.tracking_uri, o.experiment_id, []))
        entry[2].append(o.config.config_hash)
    return list(entries.values())


def refuse_inside_a_starting_worker() -> None:
    """A worker process re-imports the user's script while it starts; a script without the `__main__` guard then
    calls `benchmark.run` again from inside the worker, which would start a pool of its own, forever. Refused here
    with the fix, before anything is read or written."""
    import multiprocessing

    if getattr(multiprocessing.current_process(), "_inheriting", False):
        raise BenchmarkError('benchmark.run was called while a worker process was importing your script: put the '
                             'call under `if __name__ == "__main__":` (workers re-import the script that started them)')


def run(*, config_file: str | None = None, set_values: Iterable[str] = (), progress: bool | None = False,
        **values) -> Results:
    """Train and evaluate a benchmark, log it to MLflow, write its leaderboard; its `Results`.

    `benchmark.run(models=["lstm", "gru"], seeds=3, data="btc.csv", preset="classic")`: keyword arguments are
    settings (`benchmark.config.settings.TABLE`), `set_values` are `--set` grids (["units=32,64"]), `config_file` an
    experiment file whose keys the arguments override. Outputs follow the CLI's defaults: `./mlflow.db`,
    `./results`.
    """
    from benchmark.tracking import bound_http_waits

    refuse_inside_a_starting_worker()
    bound_http_waits()
    known = settings.by_name()
    unknown = sorted(k for k in values if k not in known or known[k].group == "internal")
    if unknown:
        raise BenchmarkError(f"unknown setting(s): {', '.join(unknown)} (see `python -m benchmark run --help`)")
    bases, grid = plan({known[k].name: v for k, v in values.items()}, config_file, set_values)
    arguments = ", ".join(f"{k}={v!r}" for k, v in values.items())
    outcomes, written = execute(bases, grid, f"benchmark.run({arguments})", progress)
    failed = [f"{f.model} seed {f.seed}: {f.error}" for o in outcomes for f in o.failed]
    if written is None:
        raise BenchmarkError("no leaderboard: " + "; ".join(failed))
    return Results(written)


def load(tracking_uri: str | None = None, experiment: str | None = None, config_hash: str | None = None) -> Results:
    """The `Results` of a finished benchmark from its tracking store alone (no training, nothing written)."""
    from benchmark import tracking
    from benchmark.render import report

    uri = tracking.default_tracking_uri() if tracking_uri is None else tracking_uri
    tracking.check_reachable(uri, must_exist=True, writes=False)
    tracking.Tracker(uri).check_store()
    experiment_id = report.resolve_experiment(uri, experiment)
    parent = report.latest_parent(uri, experiment_id, config_hash)  # a sweep point brings its whole sweep
    return Results(report.build_report([(uri, experiment_id, report.sweep_hashes(uri, experiment_id, parent))]))
