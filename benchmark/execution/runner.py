"""The runner: plans the (model, seed) grid, skips what already finished, executes the rest, logs the parent run.

It knows nothing model-specific: models come from the registry, trials are `run_trial(spec)`.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import json
import math
import os
import sys
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from benchmark import tracking
from benchmark.config import sweep
from benchmark.config.experiment import ExperimentConfig
from benchmark.errors import BenchmarkError
from benchmark.evaluation.trial import (
    SKIPPED,
    TrialResult,
    TrialSpec,
    prepared_for,
    trial_config,
    trial_hyperparameters,
    trial_key,
)
from benchmark.execution import executors
from benchmark.files import check_writable
from benchmark.models import backends, registry
from benchmark.models.adapters import quantile_source
from benchmark.models.conformal import calibration_points, reachable
from benchmark.tracking import Tracker, seed_text


@dataclass
class RunOutcome:
    experiment_id: str
    parent_run_id: str
    config: ExperimentConfig
    tracking_uri: str
    results: list[TrialResult]
    skipped: int

    @property
    def failed(self) -> list[TrialResult]:
        return [r for r in self.results if r.status not in ("FINISHED", SKIPPED)]


def grid_trials(config: ExperimentConfig) -> list[tuple[str, int | None]]:
    """Every (model, seed) of the grid: deterministic models once, stochastic ones once per seed."""
    trials = []
    for name in config.models:
        seeds = config.seeds if registry.get(name).stochastic else (None,)
        trials += [(name, seed) for seed in seeds]
    return trials


def pending(config: ExperimentConfig, tracker: Tracker, experiment_id: str) -> tuple[list[tuple[str, int | None]],
                                                                                       int, int]:
    """The trials still to run, how many finished ones were skipped (resume), and how many another live invocation
    is training (this one waits for them before it writes its leaderboard)."""
    trials = grid_trials(config)
    if config.force:
        return trials, 0, 0
    done = tracker.finished_keys(experiment_id, config.config_hash)
    elsewhere = tracker.running_elsewhere(experiment_id, config.config_hash)
    keys = {(m, s): (m, seed_text(s), trial_key(m, config)) for m, s in trials}
    busy = [t for t in trials if keys[t] in elsewhere]
    if busy:
        print(f"{len(busy)} trial(s) of config {config.config_hash} are being trained by another invocation: "
              "skipped here, and waited for before this leaderboard is written", file=sys.stderr)
    todo = [t for t in trials if keys[t] not in done and keys[t] not in elsewhere]
    return todo, len(trials) - len(todo) - len(busy), len(busy)


WORKER_MEMORY = 1.5 * 2**30  # bytes a worker may need: TensorFlow ~0.9 GB, a training process peaks near 1.1 GB


def available_memory() -> int | None:
    """MemAvailable from /proc/meminfo (Linux), in bytes; None where it cannot be read."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return None


def effective_jobs(config: ExperimentConfig, specs: list[TrialSpec], memory: int | None = None) -> int:
    """--jobs, or for auto one single-threaded worker per core (measured fastest: results/PERFORMANCE.md), never
    more than there are networks to train or than the available memory holds."""
    if config.jobs:
        return config.jobs
    networks = sum(registry.get(s.model).adapter.needs_keras for s in specs)
    jobs = min(os.cpu_count() or 1, networks)
    memory = available_memory() if memory is None else memory
    if memory is not None:
        jobs = min(jobs, int(memory // WORKER_MEMORY))
    return max(1, jobs)


def schedule(specs: list[TrialSpec]) -> list[TrialSpec]:
    """Deterministic estimators first (quick, and the reference every network is judged against), then the
    costliest trials (a model file's COST), seeds of one model together: the workers' last trials are short ones,
    so none idles while another finishes a long trial, and a worker reuses its compiled model across seeds."""
    def cost(spec: TrialSpec) -> float:
        model = registry.get(spec.model)
        if not (model.stochastic or model.adapter.needs_keras):
            return float("inf")
        return model.cost * max(1, len(spec.panel))  # a global network learns from every series of the panel

    return sorted(specs, key=cost, reverse=True)  # stable: seeds keep their order


def execute(specs: list[TrialSpec], config: ExperimentConfig) -> Iterator[TrialResult]:
    """The configured executor, on the trials in `schedule` order; it never changes what a trial computes."""
    jobs = effective_jobs(config, specs)
    specs = schedule(specs)
    if config.executor == "dask":
        return executors.run_dask(specs, config.scheduler, jobs)
    return executors.run_local(specs, jobs)


def start_parent(config: ExperimentConfig, tracker: Tracker, experiment_id: str, command: str,
                 environment: dict) -> str:
    """The invocation's parent run, named after dataset and protocol, with the resolved config attached."""
    name = f"{config.dataset_name} · {config.protocol} · {config.preset}"
    if config.sweep:
        name += (" · search: " if config.stage == "search" else " · ") + sweep.label(config)
    params = {**config.hashed_fields(), **config.verdict_settings(), "models": ",".join(config.models),
              "seeds": ",".join(map(str, config.seeds)), "jobs": config.jobs, "preset": config.preset,
              "data": config.data or "", **{f"sweep.{k}": v for k, v in config.sweep}}
    config_json = json.dumps(dataclasses.asdict(config), indent=2, sort_keys=True, default=str)
    return tracker.start_parent(experiment_id, name, config.config_hash, config.sweep_id, command, environment,
                                params, config_json)


def experiment_about() -> str:
    """What an experiment compares, from the registry (the MLflow experiment's description)."""
    return (f"Compares the networks ({', '.join(registry.neural_names())}) with the baselines "
            f"({', '.join(registry.baseline_names())}) on the same test points, over several seeds, each judged "
            f"against {registry.reference()} persistence.")


def check_declaration(config: ExperimentConfig, tracker: Tracker, experiment_id: str) -> None:
    """The verdict settings are declared by a configuration's first run; a later run of the same configuration
    may not change them after results exist (no second chance after looking)."""
    from benchmark.config import settings

    first = tracker.first_parent(experiment_id, config.config_hash)
    if first is None:
        return
    declared = settings.verdict_from_params(first.params)
    changed = {k: v for k, v in config.verdict_settings().items() if k in declared and declared[k] != v}
    if changed:
        was = ", ".join(f"{k}={declared[k]}" for k in changed)
        raise BenchmarkError(f"config {config.config_hash} was declared with {was} by its first run; the verdict "
                             "cannot change after results exist: keep them, or use another --experiment")


def check_capabilities(config: ExperimentConfig) -> None:
    """Settings that only some models honour need at least one model of the run that declares the capability
    (the others forecast as before: baselines read the target alone and emit points)."""
    networks = [m for m in config.models if registry.get(m).kind == "neural"]
    if config.covariates and not any(registry.get(m).channels for m in networks):
        raise BenchmarkError(f"--covariates feeds the networks' input channels, and no network of this run accepts "
                             f"them (CHANNELS = True in its model file; networks: {', '.join(networks) or 'none'})")


def check_intervals(config: ExperimentConfig) -> None:
    """Conformal quantiles come from validation errors: a run with --quantiles whose models need them (every model
    without its own distribution) needs a validation period long enough to reach every declared level."""
    if not config.quantiles:
        return
    conformal = [m for m in config.models if quantile_source(registry.get(m), config).startswith("conformal")]
    if not conformal:
        return
    points = calibration_points(config.val_size, config.horizon)
    if points == 0:
        raise BenchmarkError(f"--quantiles: {', '.join(conformal)} get conformal intervals from their validation "
                             "errors, and this protocol has no validation period (--val-size 0, the classic "
                             "preset's): use --val-size 250, or --preset default")
    if not reachable(config.quantiles, points):
        low = min(min(config.quantiles), 1 - max(config.quantiles))
        raise BenchmarkError(f"--quantiles: a level of {low:g} from the tail needs at least "
                             f"{math.ceil(1 / low - 1 - 1e-9)} validation errors per lead time for a finite "
                             f"conformal interval; --val-size {config.val_size} at --horizon {config.horizon} "
                             f"gives {points}")


LARGE_FILE = 20 * 2**20  # a data file this big takes seconds to read and window: say so before starting


def announce_large_data(config: ExperimentConfig) -> None:
    """One line on stderr before a large --data file is read and cut into windows (long work shows progress)."""
    if config.data is None:
        return
    path = Path(config.data)
    if path.is_file() and path.stat().st_size >= LARGE_FILE:
        print(f"reading {path} ({path.stat().st_size / 2**20:.0f} MB) and cutting its windows ...", file=sys.stderr,
              flush=True)


MIN_ORIGINS = 5  # test forecast origins per fold the verdict's tests need (a t test on n - 1 degrees of freedom)


def check_statistics(config: ExperimentConfig) -> None:
    """The statistics' preconditions, before any training: enough forecast origins in each test period for the
    paired tests (pooled, and at each lead time) and the bootstrap intervals."""
    origins = config.test_size // max(1, config.horizon)
    if origins < MIN_ORIGINS:
        raise BenchmarkError(f"--test-size {config.test_size} at --horizon {config.horizon} leaves {origins} "
                             f"forecast origin{'s' if origins != 1 else ''} per test period; the tests need at "
                             f"least {MIN_ORIGINS}: use --test-size {MIN_ORIGINS * config.horizon} or more")


def check_fastest(config: ExperimentConfig) -> None:
    """`--speed fastest` runs each network on its FASTEST backend: each must be installed, and a Dask cluster's
    workers (which run one backend) cannot mix them."""
    on = {name: trial_config(config, name).backend for name in config.models}
    for name, backend in on.items():
        if not backends.available(backend):
            raise BenchmarkError(f"--speed fastest runs {name} on {backend}, which is not installed: pip install "
                                 f"'forecast-benchmark[{backend}]' (or drop --speed fastest)")
    mixed = sorted({f"{name} on {backend}" for name, backend in on.items() if backend != config.backend})
    if mixed and config.executor == "dask":
        raise BenchmarkError(f"--speed fastest runs {', '.join(mixed)}, and a Dask cluster's workers run one Keras "
                             "backend: use --executor local (one pool per backend)")


def check_inputs(config: ExperimentConfig) -> ExperimentConfig:
    """Everything that can be wrong with the user's input, checked before anything is trained or written.

    Returns the config completed with the resolved tracking URI and the data's checksum (part of its hash).
    """
    uri = tracking.default_tracking_uri() if config.tracking_uri is None else config.tracking_uri
    if config.executor == "dask" and config.scheduler and not tracking.is_remote(uri):
        raise BenchmarkError(f"--executor dask with --scheduler needs a tracking server (--tracking-uri "
                             f"http://HOST:PORT): workers on other hosts cannot write to {uri}")
    backends.check(config.backend)
    if config.speed == "fastest":
        check_fastest(config)
    active = backends.active()
    if active not in (None, config.backend) and config.executor == "local" and config.jobs == 1:
        raise BenchmarkError(f"Keras is already running the {active} backend in this process: --backend "
                             f"{config.backend} with --jobs 1 needs a new process (or --jobs 2 and up)")
    seasons = {name: trial_hyperparameters(name, config).get("season") for name in config.models}
    short = [f"{name} (season {season})" for name, season in seasons.items() if season and config.lookback < season]
    if short:
        raise BenchmarkError(f"--lookback {config.lookback} is shorter than the season of {', '.join(short)}, which "
                             "every run includes: use a lookback of at least the season")
    if not str(config.results_dir).strip():
        raise BenchmarkError("--results-dir is empty: name a folder (default: results)")
    check_capabilities(config)
    check_intervals(config)
    check_statistics(config)
    tracking.check_reachable(uri)
    announce_large_data(config)
    folds = prepared_for(config)  # bad data or windows that do not fit fail here
    check_writable(Path(config.results_dir))
    return dataclasses.replace(config, data_checksum=folds[0].series.checksum, tracking_uri=uri)


@dataclass
class Opened:
    """One configuration's invocation, started: its parent run and the trials it still has to run."""

    config: ExperimentConfig
    tracker: Tracker
    experiment_id: str
    parent: str
    specs: list[TrialSpec]
    skipped: int
    environment: dict
    busy: int = 0  # trials another live invocation was training when this one started


def open_config(config: ExperimentConfig, command: str, invocation: str | None) -> Opened:
    """Declare (or check the declaration of) a checked configuration, start its parent run, plan its trials."""
    uri = config.tracking_uri
    tracker = Tracker(uri)
    tracker.ensure_store()
    experiment_id = tracker.experiment(config.experiment or tracking.experiment_name(config.dataset_name),
                                       experiment_about())
    check_declaration(config, tracker, experiment_id)
    tracker.mark_stale(experiment_id, config.config_hash)
    todo, skipped, busy = pending(config, tracker, experiment_id)
    env = tracking.environment_tags(config.backend)  # one git call per invocation, shared by the parent and every trial
    env[tracking.INVOCATION] = invocation or uuid.uuid4().hex  # what `report` rebuilds together (a panel)
    parent = start_parent(config, tracker, experiment_id, command, env)
    specs = [TrialSpec(m, s, trial_config(config, m), uri, experiment_id, parent, trial_environment(env, config, m))
             for m, s in todo]
    if skipped:
        print(f"resume: {skipped} finished trial(s) of config {config.config_hash} skipped (--force retrains)",
              file=sys.stderr)
    return Opened(config, tracker, experiment_id, parent, specs, skipped, env, busy)


def trial_environment(env: dict, config: ExperimentConfig, model: str) -> dict:
    """The invocation's tags for a trial of `model`, with the Keras backend it really runs on (`--speed fastest`
    may run it on another backend than the parent's)."""
    backend = trial_config(config, model).backend
    return env if backend == config.backend else {**env, **_backend_tags(backend),
                                                  tracking.INVOCATION: env[tracking.INVOCATION]}


@functools.cache
def _backend_tags(backend: str) -> dict:
    """The environment tags of another backend, once per process (one git call, not one per trial)."""
    return tracking.environment_tags(backend)


def run(config: ExperimentConfig, command: str = "", progress: bool | None = None,
        invocation: str | None = None) -> RunOutcome:
    """Run the benchmark grid for one configuration; interrupted runs are marked KILLED, then re-raised."""
    opened = open_config(check_inputs(config), command, invocation)
    return execute_opened([opened], opened.specs, progress)[0]


def run_global(configs: list[ExperimentConfig], command: str = "", progress: bool | None = None,
               invocation: str | None = None) -> list[RunOutcome]:
    """`--training global`: every series' own trials and, in the same pool, one network per architecture and seed
    trained across the panel (`benchmark.evaluation.panel`), recorded in every series' configuration. The configs
    come checked (`check_inputs`, as `api.execute` does for every configuration before any training)."""
    invocation = invocation or uuid.uuid4().hex
    opened = [open_config(config, command, invocation) for config in configs]
    specs = [spec for o in opened for spec in o.specs] + global_specs(opened)
    return execute_opened(opened, specs, progress)


def global_specs(opened: list[Opened]) -> list[TrialSpec]:
    """One global trial per network and seed that some series of the panel does not have finished yet (a series
    that has it is not recorded twice: `recording.run_global_trial`)."""
    first = opened[0].config
    done = [o.tracker.finished_keys(o.experiment_id, o.config.config_hash) for o in opened]
    elsewhere = [o.tracker.running_elsewhere(o.experiment_id, o.config.config_hash) for o in opened]
    out = []
    for name in first.models:
        if not registry.get(name).adapter.needs_keras:
            continue
        key = trial_key(name, first)
        for seed in first.seeds:
            members = tuple(TrialSpec(name, seed, trial_config(o.config, name), o.config.tracking_uri,
                                      o.experiment_id, o.parent, trial_environment(o.environment, o.config, name))
                            for o in opened)
            spec = dataclasses.replace(members[0], panel=members)
            wanted = (spec.row, seed_text(seed), key)
            if first.force or any(wanted not in d and wanted not in e for d, e in zip(done, elsewhere, strict=True)):
                out.append(spec)
    return out


def execute_opened(opened: list[Opened], specs: list[TrialSpec], progress: bool | None) -> list[RunOutcome]:
    """Run the trials of one or more started configurations in one pool; each configuration's parent run ends
    FINISHED, FAILED (a trial failed or was lost) or KILLED (interrupted, then re-raised)."""
    results: dict[str, list[TrialResult]] = {o.parent: [] for o in opened}
    config, tracker = opened[0].config, opened[0].tracker
    try:
        with contextlib.ExitStack() as beats:
            for o in opened:  # other hosts can tell this invocation is alive
                beats.enter_context(o.tracker.heartbeat(o.parent))
            for result in _with_progress(execute(specs, config), len(specs), progress):
                for member in result.members or (result,):
                    results.get(member.parent_run_id, results[opened[0].parent]).append(member)
            for o in opened:  # trials another invocation trains: wait (heartbeat on), so the board holds them
                if o.busy or any(r.status == SKIPPED for r in results[o.parent]):
                    wait_for_others(o.tracker, o.experiment_id, o.config.config_hash)
    except BaseException as exc:
        if not tracker.answers():  # the store itself went away: say so once, never with a traceback
            raise BenchmarkError(f"tracking store {config.tracking_uri} stopped answering ({type(exc).__name__}); "
                                 "finished trials are kept there: rerun the same command when it is back "
                                 "(unfinished ones are retried)") from None
        for o in opened:
            o.tracker.close_unfinished(o.experiment_id, o.parent, tracking.KILLED, "interrupted")
            o.tracker.end_parent(o.parent, tracking.KILLED)
        raise
    outcomes = []
    for o in opened:
        o.tracker.close_unfinished(o.experiment_id, o.parent, tracking.FAILED, executors.LOST)
        mine = results[o.parent]
        finished = all(r.status in (tracking.FINISHED, SKIPPED) for r in mine)
        o.tracker.end_parent(o.parent, tracking.FINISHED if finished else tracking.FAILED)
        outcomes.append(RunOutcome(o.experiment_id, o.parent, o.config, o.config.tracking_uri, mine, o.skipped))
    return outcomes


WAIT_POLL = 2.0  # seconds between looks at the trials another invocation is training


def wait_for_others(tracker: Tracker, experiment_id: str, config_hash: str, poll: float = WAIT_POLL) -> None:
    """Trials of this configuration that another live invocation is training (this one skipped them): wait until
    each has ended or its owner has died, so that the leaderboard this run writes holds every trial; two identical
    runs at once each end with the whole board. Ctrl-C stops the wait and leaves their trials alone."""
    announced = 0
    while True:
        running = [r for r in tracker.trials(experiment_id, config_hash, tracking.RUNNING)
                   if tracking.owner_alive(r.tags)]
        if not running:
            return
        if len(running) != announced:
            print(f"waiting for {len(running)} trial(s) another invocation is training, so the leaderboard holds "
                  "them too ...", file=sys.stderr, flush=True)
            announced = len(running)
        time.sleep(poll)


def _with_progress(results: Iterable[TrialResult], total: int, progress: bool | None) -> Iterator[TrialResult]:
    """A progress bar on a terminal; one plain line per trial in logs (CI)."""
    from tqdm import tqdm

    interactive = sys.stderr.isatty() if progress is None else progress
    bar = tqdm(total=total, desc="trials", unit="trial", disable=not interactive, file=sys.stderr)
    for done, result in enumerate(results, start=1):
        bar.update(1)
        note = _note(result)
        line = f"{result.model}{'' if result.seed is None else f' seed {result.seed}'}: {result.status} {note}"
        if interactive:
            bar.write(line, file=sys.stderr)
        else:
            print(f"[{done}/{total}] {line}", file=sys.stderr, flush=True)
        yield result
    bar.close()


def _note(result: TrialResult) -> str:
    """A trial's progress note: its error, or its score (each series' for a global network)."""
    if result.members:
        return "; ".join(f"{_note(m)}" for m in result.members if m.status != SKIPPED) or "already recorded"
    if result.status != "FINISHED":
        return str(result.error)
    shown = "mae" if "mae" in result.metrics else "val_mae"  # search trials are scored on validation only
    return f"{shown}={result.metrics[shown]:.4g}"
