"""The thin wrapper around a pure trial: load its data, open its run, evaluate, record the outcome.

`run_trial(spec) -> TrialResult` is what every executor runs. A broken trial is recorded as FAILED with its
reason and never stops the grid; an interruption marks the trial KILLED and is re-raised.
"""

from __future__ import annotations

import contextlib
import hashlib
import time

from benchmark.evaluation.panel import PanelFacts, evaluate_global, facts
from benchmark.evaluation.trial import (
    SKIPPED,
    TrialRecord,
    TrialResult,
    TrialSpec,
    evaluate,
    overall_dates,
    prepared_for,
    trial_hyperparameters,
    trial_key,
)
from benchmark.models import registry
from benchmark.models.adapters import quantile_source
from benchmark.pipeline.windows import Prepared
from benchmark.tracking import PREDICTIONS, DataInput, Tracker
from benchmark.tracking.params import TrialParams, seed_text


def describe(spec: TrialSpec, folds: list[Prepared], hyperparams: dict, row: str | None = None,
             panel: PanelFacts | None = None) -> dict[str, object]:
    """The trial's params: model (its row), seed, every setting that can decide the numbers, the data's facts and
    the hyper-parameters (`hp.*`), a sweep point's varied keys (`sweep.*`, to group by in the UI), and for a global
    network the panel it learned from."""
    config, last, model = spec.config, folds[-1], registry.get(spec.model)
    return TrialParams(
        model=row or spec.row, seed=seed_text(spec.seed), kind=model.kind, family=model.family,
        stochastic=model.stochastic, reference=model.reference,
        dataset=config.dataset_name, data=config.data or "", dataset_checksum=last.series.checksum,
        settings=config.logged_settings(), train_windows=len(last.train), val_windows=len(last.val) if last.val else 0,
        test_points=sum(f.test.y.size for f in folds), dates=overall_dates(folds),
        fold_dates=tuple(f.split_dates() for f in folds), hyperparameters=hyperparams, sweep=dict(config.sweep),
        interval_source=quantile_source(model, config) if config.quantiles else "",
        inputs=(last.series.target, *(last.series.columns if model.channels else ())) if config.covariates else (),
        **({} if panel is None else {"panel": panel.series, "panel_cutoffs": panel.cutoffs,
                                     "panel_train_windows": panel.train_windows}),
    ).to_params() | kernel_params(config)


def kernel_params(config) -> dict[str, str]:
    """With `--kernel fused`, which kernel the LSTM layers really ran on (Keras' own where the fused one cannot)."""
    if config.kernel == "keras":
        return {}
    from benchmark.models.fused import available

    return {"kernel_used": "fused" if available(config.backend) else f"keras (no fused kernel under {config.backend})"}


PARTS = (("train", "training"), ("val", "validation"), ("test", "testing"))  # split -> MLflow input context


def data_inputs(spec: TrialSpec, folds: list[Prepared]) -> list[DataInput]:
    """The series as the MLflow datasets of the trial, one per part it played (training, validation, testing):
    the runs table's Dataset column names them."""
    series, dates = folds[-1].series, overall_dates(folds)
    source = spec.config.data or f"bundled dataset {spec.config.dataset_name}"
    out = []
    for part, context in PARTS:
        if f"{part}_start" not in dates:
            continue
        first, last = dates[f"{part}_start"], dates[f"{part}_end"]
        digest = hashlib.sha256(f"{series.checksum}|{first}|{last}".encode()).hexdigest()[:16]
        out.append(DataInput(f"{series.name}.{part}", digest, source, context,
                             {"target": series.target, "columns": list(series.columns), "first_target": first,
                              "last_target": last, "checksum": series.checksum}))
    return out


def record(tracker: Tracker, run_id: str, outcome: TrialRecord) -> None:
    """Metrics, curves and the scored points of a finished evaluation."""
    tracker.log_metrics(run_id, outcome.summary, outcome.curves)
    if outcome.predictions is None:
        tracker.set_stage(run_id, "search")
        return
    frame = outcome.predictions
    tracker.log_files(run_id, {PREDICTIONS: lambda path: frame.to_csv(path, index=False)})


def run_trial(spec: TrialSpec) -> TrialResult:
    """Evaluate one trial and record it as a child run; failures are recorded, interruptions re-raised."""
    if spec.panel:
        return run_global_trial(spec)
    started = time.perf_counter()
    try:
        model = registry.get(spec.model)
        hyperparams = trial_hyperparameters(spec.model, spec.config)
        folds = prepared_for(spec.config)
    except Exception as exc:  # noqa: BLE001 - e.g. a worker on another host that cannot read --data
        return TrialResult(spec.model, spec.seed, "", "FAILED", error=_reason(exc), parent_run_id=spec.parent_run_id)
    tracker = Tracker(spec.tracking_uri)
    run_id = tracker.claim_trial(spec.experiment_id, spec.parent_run_id, spec.name, model=spec.model, seed=spec.seed,
                                 config_hash=spec.config.config_hash, model_hash=trial_key(spec.model, spec.config),
                                 sweep_id=spec.config.sweep_id, description=model.description,
                                 environment=spec.environment, force=spec.config.force)
    if run_id is None:  # another invocation finished it or is training it right now
        return TrialResult(spec.model, spec.seed, "", SKIPPED, error="taken by another invocation",
                           parent_run_id=spec.parent_run_id)
    try:
        tracker.log_params(run_id, describe(spec, folds, hyperparams))
        tracker.log_data_inputs(run_id, data_inputs(spec, folds))
        with tracker.heartbeat(run_id):
            outcome = evaluate(model, hyperparams, folds, spec.config, spec.seed)
        record(tracker, run_id, outcome)
    except Exception as exc:  # noqa: BLE001 - one broken trial must not stop the grid
        reason = _reason(exc)
        tracker.fail(run_id, reason)
        return TrialResult(spec.model, spec.seed, run_id, "FAILED", error=reason, parent_run_id=spec.parent_run_id)
    except BaseException:  # Ctrl-C / SIGTERM: this trial did not finish, and says so
        tracker.kill(run_id, "interrupted")
        raise
    tracker.finish(run_id)
    return TrialResult(spec.model, spec.seed, run_id, "FINISHED", outcome.summary,
                       epoch_seconds=outcome.epoch_seconds, wall_seconds=time.perf_counter() - started,
                       parent_run_id=spec.parent_run_id)


def claim(spec: TrialSpec, member: TrialSpec, model_key: str) -> str | None:
    """A global trial's run in one series' experiment (None where that series' run finished or is being trained
    elsewhere)."""
    return Tracker(member.tracking_uri).claim_trial(
        member.experiment_id, member.parent_run_id, spec.name, model=spec.row, seed=spec.seed,
        config_hash=member.config.config_hash, model_hash=model_key, sweep_id=member.config.sweep_id,
        description=registry.get(spec.model).description, environment=member.environment, force=member.config.force)


def run_global_trial(spec: TrialSpec) -> TrialResult:
    """One network trained across the panel (`benchmark.evaluation.panel`), recorded as one run in each series'
    experiment, so it is a row of every series' leaderboard. A series whose run already finished is not recorded
    twice; when every series has it, nothing is trained."""
    started = time.perf_counter()
    members = spec.panel
    try:
        model = registry.get(spec.model)
        hyperparams = trial_hyperparameters(spec.model, spec.config)
        panel = [prepared_for(m.config) for m in members]
        about = facts(panel)
    except Exception as exc:  # noqa: BLE001 - e.g. a worker on another host that cannot read the data
        return _global_result(spec, [TrialResult(spec.row, spec.seed, "", "FAILED", error=_reason(exc),
                                                 parent_run_id=m.parent_run_id) for m in members], started)
    key = trial_key(spec.model, spec.config)
    runs = [claim(spec, m, key) for m in members]
    if not any(runs):
        return _global_result(spec, [TrialResult(spec.row, spec.seed, "", SKIPPED, error="taken by another "
                                                 "invocation", parent_run_id=m.parent_run_id) for m in members],
                              started)
    trackers = [Tracker(m.tracking_uri) for m in members]
    results: list[TrialResult] = []
    try:
        for m, run_id, tracker, folds in zip(members, runs, trackers, panel, strict=True):
            if run_id:
                tracker.log_params(run_id, describe(m, folds, hyperparams, spec.row, about))
                tracker.log_data_inputs(run_id, data_inputs(m, folds))
        with contextlib.ExitStack() as beats:
            for run_id, tracker in zip(runs, trackers, strict=True):
                if run_id:
                    beats.enter_context(tracker.heartbeat(run_id))
            outcomes = evaluate_global(model, hyperparams, panel, [m.config for m in members], spec.seed)
    except Exception as exc:  # noqa: BLE001 - a broken network fails every series' run, never the grid
        reason = _reason(exc)
        for run_id, tracker in zip(runs, trackers, strict=True):
            if run_id:
                tracker.fail(run_id, reason)
        return _global_result(spec, [TrialResult(spec.row, spec.seed, run_id or "", "FAILED" if run_id else SKIPPED,
                                                 error=reason, parent_run_id=m.parent_run_id)
                                     for m, run_id in zip(members, runs, strict=True)], started)
    except BaseException:  # Ctrl-C / SIGTERM
        for run_id, tracker in zip(runs, trackers, strict=True):
            if run_id:
                tracker.kill(run_id, "interrupted")
        raise
    for m, run_id, tracker, outcome in zip(members, runs, trackers, outcomes, strict=True):
        if not run_id:
            results.append(TrialResult(spec.row, spec.seed, "", SKIPPED, error="taken by another invocation",
                                       parent_run_id=m.parent_run_id))
        elif isinstance(outcome, Exception):
            tracker.fail(run_id, _reason(outcome))
            results.append(TrialResult(spec.row, spec.seed, run_id, "FAILED", error=_reason(outcome),
                                       parent_run_id=m.parent_run_id))
        else:
            record(tracker, run_id, outcome)
            tracker.finish(run_id)
            results.append(TrialResult(spec.row, spec.seed, run_id, "FINISHED", outcome.summary,
                                       epoch_seconds=outcome.epoch_seconds, parent_run_id=m.parent_run_id))
    return _global_result(spec, results, started)


def _global_result(spec: TrialSpec, members: list[TrialResult], started: float) -> TrialResult:
    """The one result an executor yields for a global trial: its members' results inside; FINISHED only if every
    series' run is (or was already)."""
    statuses = {r.status for r in members}
    status = "FINISHED" if statuses <= {"FINISHED", SKIPPED} and "FINISHED" in statuses else \
        SKIPPED if statuses == {SKIPPED} else "FAILED"
    errors = sorted({r.error for r in members if r.status == "FAILED" and r.error})
    first = next((r for r in members if r.status == "FINISHED"), members[0])
    return TrialResult(spec.row, spec.seed, first.run_id, status, error="; ".join(errors) or None,
                       epoch_seconds=first.epoch_seconds, wall_seconds=time.perf_counter() - started,
                       parent_run_id=spec.parent_run_id, members=tuple(members))


def _reason(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
