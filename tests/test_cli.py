"""The command line as a user meets it: help, listings, and one-line errors with exit code 2 for bad input.

Every case runs a real `python -m benchmark` child; none of them gets far enough to import TensorFlow.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from benchmark import PROJECT_ROOT, cli
from tests.conftest import benchmark_command


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(benchmark_command(*args), cwd=cwd, capture_output=True, text=True, timeout=120)


@pytest.mark.parametrize("command", [[], ["run"], ["list"], ["datasets"], ["ui"]])
def test_help(command, tmp_path):
    out = run(*command, "--help", cwd=tmp_path)
    assert out.returncode == 0 and "usage:" in out.stdout


def test_datasets_lists_bundled_and_calibration_series(tmp_path):
    out = run("datasets", cwd=tmp_path)
    assert out.returncode == 0
    lines = {line.split()[0]: line for line in out.stdout.splitlines()[2:] if line.strip()}
    assert {"msft", "sp500", "nasdaq", "wti", "vix", "random_walk", "seasonal_ar"} <= set(lines)
    assert "--dataset prices: msft, nasdaq, sp500, vix, wti" in out.stdout
    assert "7983" in lines["msft"] and "1986-03-13" in lines["msft"] and "2017-11-10" in lines["msft"]


def test_list_shows_models_and_baselines(tmp_path):
    out = run("list", cwd=tmp_path)
    assert out.returncode == 0
    for name in ("mlp", "rnn", "lstm", "gru", "naive", "drift", "linear"):
        assert f"\n{name} " in out.stdout


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "prices.csv"
    path.write_text(text)
    return path


GOOD = "Date,Close\n" + "".join(f"2020-01-{d:02d},{100 + d}\n" for d in range(1, 29))

BAD_DATA = {
    "missing file": (None, "file not found"),
    "empty file": ("", "empty"),
    "no date column": ("When,Close\n1,2\n", "no date column"),
    "no value column": ("Date,Open\n2020-01-01,2\n", "no value column"),
    "non-numeric": (GOOD.replace(",110\n", ",abc\n"), "non-numeric"),
    "duplicate dates": (GOOD.replace("2020-01-03", "2020-01-02"), "duplicate dates"),
    "missing values": (GOOD.replace(",110\n", ",\n"), "missing values"),
    "too short": (GOOD, "series too short"),
}


@pytest.mark.parametrize("case", BAD_DATA)
def test_bad_data_is_one_line_exit_2_and_writes_nothing(case, tmp_path):
    text, expected = BAD_DATA[case]
    path = tmp_path / "prices.csv" if text is None else write(tmp_path, text)
    store = tmp_path / "mlflow.db"
    out = run("run", "--data", str(path), "--tracking-uri", f"sqlite:///{store}",
              "--results-dir", str(tmp_path / "results"), cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0] and "prices.csv" in lines[0]
    assert not store.exists() and not (tmp_path / "results").exists()


BAD_ARGS = {
    "unknown model": (["--models", "lstm,prophet"], "unknown model 'prophet'"),
    "negative epochs": (["--epochs", "-1"], "--epochs must be at least 1"),
    "zero jobs": (["--jobs", "0"], "must be at least 1 (or auto)"),
    "negative seeds": (["--seeds", "-3"], "--seeds must be at least 1"),
    "bad seed list": (["--seeds", "1,x"], "--seeds takes a count"),
    "unknown dataset": (["--dataset", "nyse"], "unknown dataset 'nyse'"),
    "unknown preset": (["--preset", "fancy"], "invalid choice: 'fancy'"),
    "window longer than series": (["--dataset", "random_walk", "--window", "5000"], "series too short"),
    "window shorter than a season": (["--dataset", "random_walk", "--lookback", "3"],
                                     "--lookback 3 is shorter than the season of seasonal_naive (season 5)"),
    "bad horizon multiple": (["--horizon", "7"], "multiple of the horizon"),
    "empty results folder": (["--results-dir", ""], "--results-dir is empty"),
    "absurd seeds": (["--seeds", "100000"], "--seeds must be at most 1000"),
    "empty dataset name": (["--dataset", ""], "--dataset needs a name"),
    "a path as a dataset name": (["--dataset", "random_walk,../../x"], "unknown dataset '../../x'"),
    "too few test origins": (["--test-size", "2"], "leaves 2 forecast origins per test period"),
    "one origin at a long horizon": (["--horizon", "30", "--test-size", "30"], "use --test-size 150 or more"),
    "unwritable store": (["--tracking-uri", "sqlite:////nonexistent/dir/m.db"], "not writable"),
    "unreachable server": (["--tracking-uri", "http://127.0.0.1:9"], "unreachable"),
    "data and dataset": (["--data", "x.csv", "--dataset", "msft"], "either --dataset or --data"),
}


@pytest.mark.parametrize("case", BAD_ARGS)
def test_bad_arguments_are_one_line_exit_2(case, tmp_path):
    args, expected = BAD_ARGS[case]
    out = run("run", *args, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}", cwd=tmp_path) if not any(
        a.startswith("--tracking-uri") for a in args) else run("run", *args, cwd=tmp_path)
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], out.stderr
    assert not (tmp_path / "m.db").exists()


def test_our_datasets_folder_never_shadows_the_datasets_library(tmp_path):
    """Run from the project folder (where `datasets/` sits on sys.path): a real `datasets` package still wins."""
    fake = tmp_path / "site" / "datasets"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("ORIGIN = 'library'\n")
    code = "import datasets, benchmark.data.catalog as c; print(datasets.ORIGIN, c.load('msft').name)"
    env = dict(os.environ, PYTHONPATH=str(fake.parent))
    out = subprocess.run([sys.executable, "-c", code], cwd=PROJECT_ROOT, capture_output=True, text=True, env=env,
                         timeout=60)
    assert out.stdout.split() == ["library", "msft"], out.stderr
    assert not (PROJECT_ROOT / "datasets" / "__init__.py").exists()


@pytest.mark.parametrize("args, expected", [
    (["ui", "--port", "-1"], "--port must be at least 1"),
    (["calibrate", "--replications", "1", "--output", "."], "is a folder: name the report file"),
    (["report", "--results-dir", ""], "--results-dir is empty"),
    (["calibrate", "--length", "2000000000"], "--length must be at most 1e+06"),
    (["ui"], "no tracking store at"),
])
def test_other_commands_check_their_options_before_any_work(args, expected, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.main(args) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and expected in err, err
    assert list(tmp_path.iterdir()) == []


def test_ui_refuses_a_port_another_program_listens_on(tmp_path, capsys, new_store):
    import socket

    from benchmark.tracking import Tracker

    store = new_store(tmp_path / "m.db")
    Tracker(store).ensure_store()
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        assert cli.main(["ui", "--tracking-uri", store, "--port", str(port)]) == 2
    assert f"port {port} on 127.0.0.1 is already in use" in capsys.readouterr().err
