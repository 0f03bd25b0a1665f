"""Networks trained across the panel (`--training global`): no window with a target on or after the panel's
cut-off reaches training (checked by dates), each series' forecasts go back to it, and a global run that cannot be
made is refused up front. A whole global run of the five price series (each series' own test points scored once
beside its own persistence, the cut-off stated on every board) is in tests/render/test_report.py."""

from __future__ import annotations

import signal

import numpy as np
import pandas as pd
import pytest

from benchmark import cli
from benchmark.data.series import Series
from benchmark.evaluation.panel import cutoff, facts, panel_prepared, resplit, split_fit
from benchmark.models.contract import Fit
from benchmark.pipeline.windows import prepare_folds

EPOCH = pd.Timestamp("2000-01-01")


def dated_series(name: str, start: str, periods: int) -> Series:
    """A series whose every value is its own date (days since 2000 plus 1000): a window's raw targets name the
    dates they fall on."""
    dates = pd.bdate_range(start, periods=periods)
    return Series(name, dates, (dates - EPOCH).days.to_numpy(dtype=np.float64) + 1000.0, "close", "test", name)


def day(value: float) -> pd.Timestamp:
    return EPOCH + pd.Timedelta(days=float(value) - 1000.0)


@pytest.mark.parametrize("horizon", [1, 3])
def test_no_window_with_a_target_on_or_after_the_cutoff_is_trained_on(horizon):
    early = dated_series("early", "2010-01-01", 600)  # ends about a year before `late`
    late = dated_series("late", "2010-06-01", 800)
    panel = [prepare_folds(s, 20, horizon, 60, 60, "window", folds=2, step=60, window_type="expanding")
             for s in (early, late)]
    for k in range(2):
        fold = [folds[k] for folds in panel]
        cut = cutoff(fold)
        assert cut == fold[0].series.dates[fold[0].bounds.test_start]  # the earliest test start
        combined = panel_prepared(fold, cut)
        for part in (combined.train, combined.val):  # by the dates the raw targets name
            assert max(day(v) for v in part.y.max(axis=1)) < cut
        for p in fold:  # each series re-split at the cut-off: its last 60 points before it validate
            dates = p.series.dates
            val_start = dates[int(np.searchsorted(dates, cut)) - 60]
            train, val = resplit(p, cut)
            assert max(day(v) for v in train.y.max(axis=1)) < val_start
            assert min(day(v) for v in val.y.min(axis=1)) >= val_start and max(day(v) for v in val.y.max(axis=1)) < cut
            assert len(val) == 60 - horizon + 1  # every window that fits
        own_train, own_val = resplit(fold[0], cut)  # the earliest series keeps its own split
        np.testing.assert_array_equal(own_train.origins, fold[0].train.origins)
        np.testing.assert_array_equal(own_val.origins, fold[0].val.origins)
        assert len(combined.train) == sum(len(resplit(p, cut)[0]) for p in fold)
        assert len(combined.test) == sum(len(p.test) for p in fold)  # test windows are each series' own, whole
    about = facts(panel)
    assert about.series == ("early", "late") and len(about.cutoffs) == 2 and about.cutoffs[0] < about.cutoffs[1]


def test_the_panel_forecasts_go_back_to_their_own_series():
    a, b = dated_series("a", "2010-01-01", 300), dated_series("b", "2010-03-01", 400)
    fold = [prepare_folds(s, 10, 2, 40, 40, "window")[0] for s in (a, b)]
    combined = panel_prepared(fold, cutoff(fold))
    fit = Fit(test_scaled=combined.test.targets, val_scaled=combined.val_forecast.targets, history={"loss": [1.0]})
    parts = split_fit(fit, fold)
    for part, prepared in zip(parts, fold, strict=True):
        np.testing.assert_array_equal(prepared.test.inverse(part.test_scaled), prepared.test.y)
        np.testing.assert_array_equal(prepared.val_forecast.inverse(part.val_scaled), prepared.val_forecast.y)
        assert part.history == {"loss": [1.0]}


@pytest.mark.parametrize(("args", "message"), [
    (["--dataset", "msft", "--training", "global"], "needs two or more series to learn across"),
    (["--dataset", "msft,vix", "--training", "global", "--scaler", "minmax"], "needs --scaler window"),
    (["--dataset", "msft,vix", "--training", "global", "--set", "lstm.units=8,16"], "drop --set"),
    (["--dataset", "msft,vix", "--training", "global", "--models", "naive"], "has none"),
    (["--dataset", "msft", "--covariates", "nosuch"], "column 'nosuch' (--covariates) not found"),
    (["--dataset", "vix", "--covariates", "volume"], "dataset 'vix': column 'volume' (--covariates) not found"),
    (["--dataset", "msft", "--covariates", "volume", "--models", "arima"], "no network of this run accepts them"),
])
def test_a_run_that_cannot_be_made_is_one_line_and_exit_2(args, message, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    handler = signal.getsignal(signal.SIGTERM)
    try:
        code = cli.main(["run", *args, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}"])
    finally:
        signal.signal(signal.SIGTERM, handler)
    lines = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(lines) == 1 and message in lines[0], lines
    assert list(tmp_path.iterdir()) == []  # nothing written
