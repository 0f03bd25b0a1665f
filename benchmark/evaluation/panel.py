"""Networks trained across a panel of series (`--training global`): one network per architecture and seed learns
from the training windows of every series of the run, then forecasts each series' own test windows.

The trap is the calendar: the bundled series end on different dates, so one series' training years can overlap
another's test period and carry the same market shock into it. Every series' training and early-stopping
windows are therefore cut at one date per fold, the panel's earliest test start (`cutoff`): a window is used only
if every one of its targets falls before it (by date, not by count; tested), and each series is re-split there as
if its test began at the cut-off, its last `val_size` points before it validating (early stopping sees every
series) and the windows before them training. Each series keeps its own test points, scored once against its own
persistence, and its own validation windows for conformal intervals (their errors come from a model that never
trained on them).

Per-window scaling (`--scaler window`, required) puts the series on one footing: each window is scaled by its
own last value and spread, so a network sees the shape of a window, not its price level. No series id is fed to
the network: it learns one map from a window's shape to the next values, shared by every market.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
import pandas as pd

from benchmark.config.experiment import ExperimentConfig
from benchmark.evaluation.trial import TrialRecord, score_fold, trial_record, validation_mae
from benchmark.models.contract import Fit, ModelSpec, TrialFailed
from benchmark.models.training import fit_model
from benchmark.pipeline.windows import Prepared, Windows


def cutoff(fold: list[Prepared]) -> pd.Timestamp:
    """The first test target date of the series whose test period starts earliest."""
    return min(p.series.dates[p.bounds.test_start] for p in fold)


def target_dates(windows: Windows, dates: pd.DatetimeIndex) -> np.ndarray:
    """[n] the date of each window's last target."""
    return np.asarray(dates[windows.origins + windows.y.shape[1] - 1])


def resplit(prepared: Prepared, cut: pd.Timestamp) -> tuple[Windows, Windows | None]:
    """A series' training and validation windows re-split at the cut-off, as if its test period began there: the
    windows whose targets all fall in the `val_size` points before the cut-off validate (early stopping), those
    before them train. For the series whose test period starts first this is its own split."""
    dates, bounds = prepared.series.dates, prepared.bounds
    end = int(np.searchsorted(np.asarray(dates), np.datetime64(cut)))  # the first point on or after the cut-off
    val_points = bounds.test_start - bounds.val_start
    start = end - val_points
    pool = stack([prepared.train, *([prepared.val] if prepared.val is not None else [])])
    first, last = pool.origins, pool.origins + pool.y.shape[1] - 1  # each window's first and last target
    train = take(pool, last < start)
    return train, take(pool, (first >= start) & (last < end)) if val_points else None


def take(windows: Windows, keep: np.ndarray) -> Windows:
    return Windows(windows.origins[keep], windows.x[keep], windows.y[keep], windows.loc[keep], windows.scale[keep],
                   None if windows.extra is None else windows.extra[keep])


def stack(parts: list[Windows]) -> Windows:
    """One part's windows of several series, one after another (origins stay each series' own indices)."""
    extra = None if parts[0].extra is None else np.concatenate([w.extra for w in parts])
    return Windows(*(np.concatenate([getattr(w, name) for w in parts]) for name in ("origins", "x", "y", "loc",
                                                                                    "scale")), extra)


def panel_prepared(fold: list[Prepared], cut: pd.Timestamp) -> Prepared:
    """What one global network trains on and forecasts: every series' training and validation windows before the
    cut-off (`resplit`), every series' test windows and own validation forecasts (split back by `split_fit`)."""
    parts = [resplit(p, cut) for p in fold]
    train = stack([t for t, _ in parts])
    vals = [v for _, v in parts if v is not None]
    val = stack(vals) if vals and sum(map(len, vals)) else None
    forecasts = [p.val_forecast for p in fold]
    val_forecast = stack(forecasts) if all(f is not None for f in forecasts) else None
    return dataclasses.replace(fold[0], train=train, val=val, test=stack([p.test for p in fold]),
                               val_forecast=val_forecast)


def split_fit(fit: Fit, fold: list[Prepared]) -> list[Fit]:
    """The panel network's forecasts cut back into one `Fit` per series (training facts shared)."""
    def cut(values, lengths):
        return [None] * len(lengths) if values is None else np.split(np.asarray(values), np.cumsum(lengths)[:-1])

    tests = cut(fit.test_scaled, [len(p.test) for p in fold])
    vals = cut(fit.val_scaled, [0 if p.val_forecast is None else len(p.val_forecast) for p in fold])
    quantiles = cut(fit.test_quantiles, [len(p.test) for p in fold])
    return [dataclasses.replace(fit, test_scaled=t, val_scaled=v, test_quantiles=q)
            for t, v, q in zip(tests, vals, quantiles, strict=True)]


@dataclass(frozen=True)
class PanelFacts:
    """What a global trial records about its panel: the series, each fold's cut-off, the windows it trained on."""

    series: tuple[str, ...]
    cutoffs: tuple[str, ...]  # ISO dates, one per fold
    train_windows: int  # the last fold's, over every series


def facts(panel: list[list[Prepared]]) -> PanelFacts:
    """The panel's facts (the series whose test period starts first keeps its own split, so every fold has
    training windows)."""
    folds = list(zip(*panel, strict=True))  # per fold, every series' Prepared
    cuts = [cutoff(list(fold)) for fold in folds]
    last = panel_prepared(list(folds[-1]), cuts[-1])
    return PanelFacts(tuple(f[0].series.name for f in panel), tuple(c.date().isoformat() for c in cuts),
                      len(last.train))


def evaluate_global(model: ModelSpec, hyperparams: dict, panel: list[list[Prepared]],
                    configs: list[ExperimentConfig], seed: int | None) -> list[TrialRecord | TrialFailed]:
    """Train one network per fold on the panel's windows before that fold's cut-off; one record per series (or the
    reason its forecasts were refused: one series' broken forecasts do not fail the others)."""
    records: list[list] = [[[], [], []] for _ in panel]  # per series: frames, fits, validation errors
    failed: dict[int, TrialFailed] = {}
    for k, fold in enumerate(zip(*panel, strict=True)):
        fold = list(fold)
        fit = fit_model(model, hyperparams, panel_prepared(fold, cutoff(fold)), configs[0], seed)
        for i, (part, prepared) in enumerate(zip(split_fit(fit, fold), fold, strict=True)):
            if i in failed:
                continue
            try:
                frame, errors = score_fold(part, prepared, configs[i], k)
            except TrialFailed as exc:
                failed[i] = exc
                continue
            records[i][0].append(frame)
            records[i][1].append(part)
            if errors is not None:
                records[i][2].append(errors)
    return [failed[i] if i in failed else
            trial_record(pd.concat(frames, ignore_index=True), fits, validation_mae(errors), configs[i])
            for i, (frames, fits, errors) in enumerate(records)]
