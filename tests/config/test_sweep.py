"""Sweeps: grid expansion and precedence, key checks, per-point hashes and resume, choice on validation only."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from benchmark import cli
from benchmark.config import sweep
from benchmark.errors import BenchmarkError
from tests.conftest import TINY_ARGS, baseline_count


def parse(*argv: str):
    return cli.configs_from_args(cli.build_parser().parse_args(["run", *argv]))


def test_a_two_by_two_grid_gives_four_configurations_with_their_own_hashes():
    points = parse("--models", "lstm,gru", "--set", "units=32,64", "--set", "optimizer=adam,rmsprop", "--seeds", "3")
    assert len(points) == 4
    assert len({p.config_hash for p in points}) == 4 and len({p.sweep_id for p in points}) == 1
    assert {(dict(p.overrides)["units"], p.optimizer) for p in points} == {
        (32, "adam"), (32, "rmsprop"), (64, "adam"), (64, "rmsprop")}
    assert all(p.seeds == (0, 1, 2) for p in points)


def test_sweep_table_in_the_file_and_set_on_the_command_line_overrides_it(tmp_path):
    path = tmp_path / "sweep.toml"
    path.write_text('models = "lstm"\n[sweep]\nunits = [16, 32]\nlearning_rate = [1e-3, 3e-4]\n')
    assert len(parse("--config", str(path))) == 4
    points = parse("--config", str(path), "--set", "units=8")
    assert len(points) == 2 and {dict(p.overrides)["units"] for p in points} == {8}
    assert {p.learning_rate for p in points} == {1e-3, 3e-4}


def test_a_single_value_is_an_override_not_a_grid():
    (point,) = parse("--models", "mlp", "--set", "mlp.activation=tanh", "--set", "batch_size=32")
    assert point.overrides == (("mlp.activation", "tanh"),) and point.batch_size == 32


@pytest.mark.parametrize(("args", "message"), [
    (["--models", "lstm", "--set", "colour=red"], "--set colour: unknown setting or hyper-parameter"),
    (["--models", "lstm", "--set", "lstm.colour=1"], "model 'lstm' has no hyper-parameter 'colour'"),
    (["--models", "lstm,mlp", "--set", "activation=tanh"], "model(s) lstm have no hyper-parameter 'activation'"),
    (["--models", "lstm", "--set", "gru.units=8"], "'gru' is not one of the selected networks"),
    (["--models", "lstm", "--set", "units"], "--set takes KEY=VALUE"),
    (["--models", "lstm", "--preset", "classic", "--set", "units=8,16"], "a sweep chooses on validation data"),
])
def test_bad_sweep_keys_are_clear_errors(args, message):
    with pytest.raises(BenchmarkError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(*args)


def test_overrides_broadcast_to_layers_and_a_named_model_wins():
    overrides = (("units", 64), ("lstm.units", 16), ("layers", 3))
    assert sweep.apply_overrides("gru", {"units": (50, 100), "dropout": 0.2}, overrides) == {
        "units": (64, 64), "dropout": 0.2, "layers": 3}
    assert sweep.apply_overrides("lstm", {"units": (50, 100), "dropout": 0.2}, overrides)["units"] == (16, 16)


@settings(max_examples=100, deadline=None)
@given(val=st.lists(st.floats(0.1, 10), min_size=12, max_size=12),
       test_a=st.lists(st.floats(0.1, 10), min_size=12, max_size=12),
       test_b=st.lists(st.floats(0.1, 10), min_size=12, max_size=12))
def test_selection_depends_on_validation_only(val, test_a, test_b):
    frame = pd.DataFrame({"model": ["lstm"] * 6 + ["gru"] * 6, "point": ["a", "a", "b", "b", "c", "c"] * 2,
                          "val_mae": val})
    chosen_a = sweep.select(frame.assign(mae=test_a))
    chosen_b = sweep.select(frame.assign(mae=test_b))
    pd.testing.assert_frame_equal(chosen_a, chosen_b)
    means = frame.groupby(["model", "point"])["val_mae"].mean()
    for row in chosen_a.itertuples():
        assert row.val_mae == means[row.model].min()


def test_sensitivity_is_the_spread_of_mean_test_mae_over_points():
    frame = pd.DataFrame({"model": ["mlp"] * 6, "point": ["a", "a", "b", "b", "c", "c"],
                          "mae": [1.0, 3.0, 4.0, 4.0, 0.5, 1.5]})
    row = sweep.sensitivity(frame).iloc[0]
    assert (row["min"], row["median"], row["max"], row["points"]) == (1.0, 2.0, 4.0, 3)


def sweep_run(csv, store: str, out, *extra: str) -> int:
    return cli.main(["run", "--data", str(csv), "--models", "mlp,rnn", "--seeds", "2", "--set", "units=4,8",
                     "--tracking-uri", store, "--results-dir", str(out), *TINY_ARGS, "--epochs", "2", *extra])


@pytest.mark.slow
def test_sweep_end_to_end_resume_report_and_test_targets_never_choose(tiny_csv, tmp_path, capsys, new_store):
    store = new_store(tmp_path / "m.db")
    assert sweep_run(tiny_csv, store, tmp_path / "a") == 0
    text = (tmp_path / "a" / "LEADERBOARD.md").read_text()
    assert "## Sweep: each architecture at the configuration with the best mean validation MAE" in text
    assert "## Sensitivity: test MAE over the grid" in text
    assert "mlp [units=" in text and "rnn [units=" in text
    capsys.readouterr()

    assert sweep_run(tiny_csv, store, tmp_path / "b") == 0  # every point resumes: nothing trains again
    err = capsys.readouterr().err
    assert err.count(f"resume: {4 + baseline_count()} finished trial(s)") == 2 and ": FINISHED" not in err
    assert cli.main(["report", "--tracking-uri", store, "--results-dir", str(tmp_path / "c")]) == 0
    assert (tmp_path / "c" / "LEADERBOARD.md").read_text() == (tmp_path / "b" / "LEADERBOARD.md").read_text()

    # The same series with different test targets: the configurations chosen do not change.
    source = pd.read_csv(tiny_csv)
    source.loc[source.index[-40:], "Close"] = np.linspace(50, 150, 40)
    changed = tmp_path / "tiny.csv"
    source.to_csv(changed, index=False)
    assert sweep_run(changed, new_store(tmp_path / "m2.db"), tmp_path / "d") in (0, 1)
    def chosen(markdown: str) -> set[str]:
        return set(re.findall(r"\| (\w+ \[units=\d+\])", markdown))

    assert len(chosen(text)) == 2
    assert chosen((tmp_path / "d" / "LEADERBOARD.md").read_text()) == chosen(text)


@pytest.mark.slow
def test_optuna_search_on_validation_then_final_training_under_all_seeds(tiny_csv, tmp_path, store):
    pytest.importorskip("optuna")
    from benchmark import tracking

    code = cli.main(["run", "--data", str(tiny_csv), "--models", "mlp", "--seeds", "2", "--search", "optuna",
                     "--trials", "3", "--set", "units=4,8,16", "--set", "learning_rate=1e-3,1e-2",
                     "--tracking-uri", store, "--results-dir", str(tmp_path / "out"), *TINY_ARGS, "--epochs", "2"])
    assert code == 0
    c = tracking.client(store)
    experiment = c.get_experiment_by_name("forecast-benchmark/tiny").experiment_id
    parents = c.search_runs([experiment], "tags.run_type = 'parent'")
    search_parents = [p for p in parents if "search:" in p.info.run_name]
    assert len(search_parents) == 3  # every optuna trial is logged as a run of its own
    runs = c.search_runs([experiment], "tags.run_type = 'trial' AND params.model = 'mlp'")
    search = [r for r in runs if r.data.tags.get("stage") == "search"]
    final = [r for r in runs if r.data.tags.get("stage") != "search"]
    assert 1 <= len(search) <= 3 and all("val_mae" in r.data.metrics and "mae" not in r.data.metrics
                                         for r in search)  # validation only: the test period is not scored
    assert sorted(r.data.params["seed"] for r in final) == ["0", "1"] and all("mae" in r.data.metrics for r in final)
    best = min(search, key=lambda r: r.data.metrics["val_mae"])
    assert {k: v for k, v in final[0].data.params.items() if k.startswith("sweep.")} == {
        k: v for k, v in best.data.params.items() if k.startswith("sweep.")}
    text = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert re.search(r"\| mlp \[learning_rate=[0-9.e-]+, units=\d+\]", text)
