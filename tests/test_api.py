"""The Python API: `benchmark.run` / `benchmark.load`, and the README's example run as written."""

from __future__ import annotations

import re

import pandas as pd
import pytest

import benchmark
from benchmark import PROJECT_ROOT, cli
from benchmark.data.series import load_csv
from benchmark.errors import BenchmarkError
from benchmark.execution import runner


def readme_example() -> str:
    text = (PROJECT_ROOT / "README.md").read_text()
    section = text.split("## Use from Python", 1)[1]
    return re.search(r"```python\n(.*?)```", section, re.S).group(1)


@pytest.mark.slow
def test_the_readme_example_runs_and_load_reads_the_same_results(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    namespace: dict = {}
    exec(readme_example(), namespace)  # noqa: S102 - the documented example, as written
    results = namespace["results"]
    assert set(results.table["model"]) >= {"mlp", "mlp (ensemble)", "naive", "drift", "linear"}
    assert "Holm-adjusted" in results.verdict and results.verdict in results.to_markdown()
    assert {"model", "seed", "date", "actual", "predicted"} <= set(results.predictions.columns)
    assert {"seed_distribution", "forecasts", "pvalues"} <= set(results.figures)
    assert (tmp_path / "mlflow.db").is_file() and (tmp_path / "results-notebook" / "LEADERBOARD.md").is_file()
    loaded = benchmark.load(experiment="forecast-benchmark/random_walk")
    pd.testing.assert_frame_equal(loaded.table, results.table)
    assert loaded.to_markdown() == results.to_markdown()


def test_mistakes_raise_the_cli_s_one_line_messages(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(BenchmarkError, match="unknown model 'transformer'"):
        benchmark.run(models=["transformer"])
    with pytest.raises(BenchmarkError, match="unknown setting"):
        benchmark.run(colour="red")
    with pytest.raises(BenchmarkError, match="--epochs must be at least 1"):
        benchmark.run(epochs=0)
    assert not (tmp_path / "mlflow.db").exists()


def test_data_on_the_command_line_replaces_the_files_dataset(tiny_csv):
    """The tutorial reader's "classic protocol on my own CSV": the file names msft, the flag names the CSV."""
    args = cli.build_parser().parse_args(["run", "--config", str(PROJECT_ROOT / "experiments" / "classic.toml"),
                                          "--data", str(tiny_csv)])
    (config,) = cli.configs_from_args(args)
    checked = runner.check_inputs(config)
    assert (checked.preset, checked.test_size, checked.data) == ("classic", 60, str(tiny_csv))
    assert checked.data_checksum == load_csv(tiny_csv).checksum
    args = cli.build_parser().parse_args(["run", "--config", str(PROJECT_ROOT / "experiments" / "classic.toml"),
                                          "--dataset", "random_walk"])
    (config,) = cli.configs_from_args(args)
    assert (config.dataset, config.data) == ("random_walk", None)
