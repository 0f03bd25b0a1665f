"""A trial is FINISHED only with finite, sane forecasts (benchmark.evaluation.trial.check_forecasts)."""

from __future__ import annotations

import numpy as np
import pytest

from benchmark.data.series import Series
from benchmark.evaluation.trial import check_forecasts
from benchmark.models.contract import TrialFailed
from benchmark.pipeline.windows import prepare


def prepared(values: np.ndarray):
    return prepare(Series.from_array("s", values, source="simulated"), 10, 1, 20, 20, "window")


@pytest.mark.parametrize("values", [np.full(120, 42.0), 100 + np.cumsum(np.random.default_rng(0).normal(size=120))])
def test_forecasts_near_the_training_values_pass(values):
    p = prepared(values)
    check_forecasts(p, p.test.y * 1.5, 0)  # a trend well beyond the training range is still a forecast
    check_forecasts(p, p.test.y, 0)  # the observed test prices themselves (what persistence nearly forecasts)


@pytest.mark.parametrize("bad, message", [(np.nan, "not finite"), (np.inf, "not finite"),
                                          (38717.0, "ranges outside the values observed before them")])
def test_a_broken_forecast_fails_the_trial_with_the_reason(bad, message):
    p = prepared(np.full(120, 42.0))
    predicted = np.full(p.test.y.shape, 42.0)
    predicted[3, 0] = bad
    with pytest.raises(TrialFailed, match=message):
        check_forecasts(p, predicted, 0)
