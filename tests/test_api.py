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
    with pytest.raises(BenchmarkError, match="unknown model 'prophet'"):
        benchmark.run(models=["prophet"])
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


@pytest.mark.slow
def test_a_script_without_the_main_guard_stops_with_one_clear_error(tmp_path):
    """Saved as a script and run with `python script.py` with no `if __name__ == "__main__":`, `jobs=2` used to
    spawn workers that re-ran the script and started pools of their own, forever. Each worker now refuses by
    name, and the run stops after a bounded number of pools that die before any trial starts."""
    import os
    import subprocess
    import sys

    script = tmp_path / "script.py"
    script.write_text("import benchmark\n"
                      "benchmark.run(dataset='random_walk', models=['mlp'], seeds=2, epochs=1, jobs=2,\n"
                      "              window=20, val_size=40, test_size=40, results_dir='out')\n")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    out = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode != 0
    assert 'if __name__ == "__main__":' in out.stderr.strip().splitlines()[-1]
    assert "while a worker process was importing your script" in out.stderr
    assert not (tmp_path / "out" / "LEADERBOARD.md").exists()
