"""Every user string that reaches an MLflow filter goes through one escaping rule (benchmark.tracking._literal),
on a real temporary SQLite store."""

from __future__ import annotations

import pytest

from benchmark.errors import BenchmarkError
from benchmark.tracking import CONFIG_HASH, PARENT, RUN_TYPE, Tracker


@pytest.mark.parametrize("value", ["it's", 'say "hi"', "back\\slash", "pct%_", "plain"])
def test_quotes_and_specials_in_a_searched_value_find_exactly_their_run(value, store):
    tracker = Tracker(store)
    experiment = tracker.client.create_experiment("forecast-benchmark/x")
    for config in (value, "other"):
        tracker.client.create_run(experiment, tags={RUN_TYPE: PARENT, CONFIG_HASH: config})
    assert tracker.latest_parent(experiment, value).tags[CONFIG_HASH] == value
    with pytest.raises(BenchmarkError, match="no benchmark runs with config"):
        tracker.latest_parent(experiment, value + "x")


def test_a_value_with_both_quotes_is_one_line_not_an_mlflow_traceback(store):
    tracker = Tracker(store)
    experiment = tracker.client.create_experiment("forecast-benchmark/x")
    with pytest.raises(BenchmarkError, match="both kinds of quote"):
        tracker.latest_parent(experiment, "it's \"quoted\"")


def test_a_panel_is_every_dataset_its_invocation_ran_in_any_experiment_latest_first_never_older_calls(store):
    """`report` rebuilds what one `run` covered: parents sharing its invocation id, whether each series has its
    own experiment or all share one (`--experiment`); an earlier call of the same command is not pulled in."""
    from benchmark.tracking import COMMAND, INVOCATION

    tracker = Tracker(store)
    shared = tracker.client.create_experiment("mine")
    other = tracker.client.create_experiment("forecast-benchmark/wti")

    def parent(experiment, dataset, invocation):
        run = tracker.client.create_run(experiment, tags={RUN_TYPE: PARENT, CONFIG_HASH: dataset + invocation,
                                                          COMMAND: "python -m benchmark run --dataset prices",
                                                          INVOCATION: invocation})
        tracker.client.log_param(run.info.run_id, "dataset", dataset)
        return run.info.run_id

    parent(shared, "msft", "old")  # an earlier call of the same command
    parent(shared, "msft", "new")
    parent(shared, "vix", "new")
    parent(other, "wti", "new")
    last = tracker.latest_parent(shared)
    members = tracker.panel(shared, last)
    assert [(e, r.params["dataset"]) for e, r in members] == [(shared, "msft"), (shared, "vix"), (other, "wti")]
    assert all(r.tags[INVOCATION] == "new" for _, r in members)


def test_an_experiment_another_client_created_first_is_used_not_an_error(monkeypatch, store):
    """Several clients on a fresh server: one looks, another creates, the first's create is refused by MLflow
    (RESOURCE_ALREADY_EXISTS); the experiment is then the other's, not a traceback."""
    tracker = Tracker(store)
    other = Tracker(tracker.uri)
    real = tracker.client.get_experiment_by_name
    calls = []

    def racing_lookup(name):
        calls.append(name)
        if len(calls) == 1:  # our first look sees nothing, then the other client creates it
            other.client.create_experiment(name)
            return None
        return real(name)

    monkeypatch.setattr(tracker.client, "get_experiment_by_name", racing_lookup)
    experiment = tracker.experiment("forecast-benchmark/raced")
    assert experiment == real("forecast-benchmark/raced").experiment_id and len(calls) == 2
