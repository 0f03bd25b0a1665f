"""Interruption, failed trials, atomic outputs, bad results folders and large inputs, with real processes."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from benchmark import cli
from benchmark.files import atomic_write
from benchmark.models import registry
from tests.conftest import TINY_ARGS, baseline_count, benchmark_command, trial_statuses

# Long enough per trial (100 epochs, no early stop) that a signal lands mid-training, however loaded the machine.
SLOW_TRIAL = ["--window", "20", "--val-size", "40", "--test-size", "40", "--epochs", "100", "--no-early-stopping",
              "--jobs", "1"]

# The network trial that finishes before the interrupted RNN: its COST, above every network's, schedules it first,
# and its one Dense layer trains the 100 epochs in a few seconds (mostly Keras starting up), so the interrupted trial
# is the one long trial (the SimpleRNN's 100 epochs: about 10 s here).
FIRST_MODEL = '''
    """One Dense layer on the flattened window: the quick network trial the interrupted run finishes first."""
    COST = 10.0

    DEFAULTS = {}


    def build(input_shape, horizon, options):
        import keras

        inputs = keras.Input(shape=input_shape)
        return keras.Model(inputs, keras.layers.Dense(horizon)(keras.layers.Flatten()(inputs)))
    '''


@pytest.fixture
def extra_models(tmp_path, monkeypatch):
    """`extra_models({name: source})`: those model files in the registry of this process and of every child it
    starts; the folder that holds them."""
    folder = tmp_path / "extra_models"

    def install(sources: dict[str, str]) -> Path:
        folder.mkdir(exist_ok=True)
        for name, source in sources.items():
            (folder / f"{name}.py").write_text(textwrap.dedent(source))
        monkeypatch.setenv(registry.EXTRA_MODELS_ENV, str(folder))
        registry.registry.cache_clear()
        return folder

    yield install
    registry.registry.cache_clear()


@pytest.fixture
def first_model(extra_models) -> str:
    extra_models({"first": FIRST_MODEL})
    return "first"


def start_run(store: str, csv: Path, tmp_path: Path) -> tuple[subprocess.Popen, list[str]]:
    """`run --models first,rnn`: the baselines, then the quick `first` network, then a 100-epoch SimpleRNN."""
    args = ["run", "--data", str(csv), "--models", "first,rnn", "--seeds", "1", "--tracking-uri", store,
            "--results-dir", str(tmp_path / "results"), *SLOW_TRIAL]
    child = subprocess.Popen(benchmark_command(*args), cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                             text=True, preexec_fn=as_in_a_terminal)
    return child, args


def as_in_a_terminal() -> None:
    """In the child before it starts Python: Ctrl-C as a terminal's foreground job has it (default, unblocked),
    whatever the test process's dispositions; Python then raises KeyboardInterrupt on SIGINT."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})


def signal_state(pid: int) -> str:
    """The process's ignored, blocked and caught signal masks (Linux), for a failure's message."""
    try:
        return " ".join(line.replace("\t", "=") for line in Path(f"/proc/{pid}/status").read_text().splitlines()
                        if line.startswith(("SigIgn", "SigBlk", "SigCgt")))
    except OSError:
        return "unknown"


def wait_for_rnn(store: str, child: subprocess.Popen, timeout: float = 240) -> None:
    """Until the baselines and `first` finished and the RNN is training."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert child.poll() is None, child.communicate()
        runs = trial_statuses(store)
        finished = set(runs.loc[runs["status"] == "FINISHED", "model"])
        if "first" in finished and (runs.query("model == 'rnn'")["status"] == "RUNNING").any():
            time.sleep(2.0)  # well inside the running trial's fit
            return
        time.sleep(0.3)
    raise AssertionError("the run never reached the expected state")


@pytest.mark.slow
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_signal_marks_the_trial_killed_keeps_the_rest_and_rerun_resumes(signum, first_model, tiny_csv, tmp_path,
                                                                         store):
    child, args = start_run(store, tiny_csv, tmp_path)
    wait_for_rnn(store, child)
    sent, state = time.monotonic(), signal_state(child.pid)
    child.send_signal(signum)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 130, f"signal {signum} not acted on; the child's masks: {state}\n{err}"
    assert time.monotonic() - sent < 30  # stops promptly, mid-fit
    assert "rerun the same command to resume" in err
    runs = trial_statuses(store)
    assert "RUNNING" not in set(runs["status"])
    assert runs.query("status == 'KILLED'")["model"].tolist() == ["rnn"]
    finished = runs[runs["status"] == "FINISHED"]
    assert len(finished) == baseline_count() + 1 and "first" in set(finished["model"])  # they survive

    rerun = subprocess.run(benchmark_command(*args), cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr
    assert f"resume: {baseline_count() + 1} finished trial(s)" in rerun.stderr
    assert rerun.stderr.count(": FINISHED") == 1  # only the interrupted RNN was trained
    finished = trial_statuses(store).query("status == 'FINISHED'")
    assert (finished["model"] == "first").sum() == 1 and finished.query("model == 'rnn'")["seed"].tolist() == ["0"]


@pytest.mark.slow
def test_sigkill_leaves_finished_trials_and_rerun_retries_the_stale_one(first_model, tiny_csv, tmp_path, store):
    child, args = start_run(store, tiny_csv, tmp_path)
    wait_for_rnn(store, child)
    child.kill()
    child.communicate(timeout=30)
    runs = trial_statuses(store)
    assert (runs["status"] == "RUNNING").sum() == 1 and (runs["status"] == "FINISHED").sum() == baseline_count() + 1

    assert cli.main(args) == 0
    runs = trial_statuses(store)
    stale = runs[runs["status"] == "KILLED"]
    assert stale["model"].tolist() == ["rnn"] and stale["reason"].iloc[0].startswith("stale")
    assert "RUNNING" not in set(runs["status"])
    finished = runs.query("status == 'FINISHED'")
    assert (finished["model"] == "first").sum() == 1 and finished.query("model == 'rnn'")["seed"].tolist() == ["0"]


BROKEN_MODELS = {
    "broken": '''
        """Raises while building."""
        DEFAULTS = {}


        def build(input_shape, horizon, options):
            raise RuntimeError("this architecture cannot be built")
        ''',
    "diverge": '''
        """Outputs infinity, so the loss is not finite."""
        DEFAULTS = {}


        def build(input_shape, horizon, options):
            import keras

            inputs = keras.Input(shape=input_shape)
            outputs = keras.layers.Lambda(lambda x: x[:, -1, :] * float("inf"))(inputs)
            return keras.Model(inputs, keras.layers.Dense(horizon)(outputs))
        ''',
    "crash": '''
        """Kills its own worker process mid-trial."""
        import os

        DEFAULTS = {}


        def build(input_shape, horizon, options):
            os._exit(3)
        ''',
}


@pytest.fixture
def broken_models(extra_models) -> Path:
    return extra_models(BROKEN_MODELS)


@pytest.mark.slow
def test_failed_trials_are_recorded_listed_apart_and_never_averaged(broken_models, tiny_csv, tmp_path, store):
    out = tmp_path / "results"
    # Two worker processes: the crashing model takes its worker down; the other trials still run.
    code = cli.main(["run", "--data", str(tiny_csv), "--models", "mlp,broken,diverge,crash", "--seeds", "1",
                     "--tracking-uri", store, "--results-dir", str(out), *TINY_ARGS, "--jobs", "2"])
    assert code == 1  # some trials failed, after the others finished
    runs = trial_statuses(store)
    final = runs.sort_values("status").groupby("model").agg(statuses=("status", set), reasons=("reason", " | ".join))
    assert "FINISHED" in final.loc["mlp", "statuses"] and final.loc["naive", "statuses"] == {"FINISHED"}
    assert final.loc["broken", "statuses"] == {"FAILED"} and "cannot be built" in final.loc["broken", "reasons"]
    assert final.loc["diverge", "statuses"] == {"FAILED"} and "non-finite" in final.loc["diverge", "reasons"]
    # A dying worker takes the pool's running trials down: each gets one more attempt, a repeat offender fails.
    assert final.loc["crash", "statuses"] == {"FAILED"} and "worker process died" in final.loc["crash", "reasons"]
    assert (runs["model"] == "crash").sum() == 2
    text = (out / "LEADERBOARD.md").read_text()
    failed_section = text.split("Failed trials (not averaged in)")[1].split("##")[0]
    for name in ("broken", "diverge", "crash"):
        assert f"| {name} " in failed_section
    table = pd.read_csv(out / "leaderboard.csv")
    assert not set(table["model"]) & {"broken", "diverge", "crash"}


def test_atomic_write_never_leaves_a_truncated_file(tmp_path):
    target = tmp_path / "LEADERBOARD.md"
    target.write_text("complete old leaderboard\n")

    def interrupted(path: Path) -> None:
        path.write_text("half of a new")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        atomic_write(target, interrupted)
    assert target.read_text() == "complete old leaderboard\n"
    assert [p.name for p in tmp_path.iterdir()] == ["LEADERBOARD.md"]


@pytest.mark.parametrize("where", ["/proc/forecast-results", "a-file"])
def test_unwritable_results_folder_is_a_clear_error_before_training(where, tiny_csv, tmp_path):
    results = where if where.startswith("/") else str(tmp_path / where)
    if not where.startswith("/"):
        Path(results).write_text("not a folder")
    out = subprocess.run(benchmark_command("run", "--data", str(tiny_csv), "--tracking-uri",
                                           f"sqlite:///{tmp_path / 'm.db'}", "--results-dir", results, *TINY_ARGS),
                         cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert out.returncode == 2
    assert out.stderr.strip().startswith("error: results folder") and len(out.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "m.db").exists()


@pytest.mark.slow
def test_a_200000_point_series_runs_in_bounded_memory(tmp_path, store):
    n, window = 200_000, 60
    values = 100 + np.cumsum(np.random.default_rng(0).normal(0, 1, n)) * 0.01
    dates = pd.date_range("1500-01-01", periods=n, freq="D", unit="s")
    path = tmp_path / "long.csv"
    pd.DataFrame({"date": dates.strftime("%Y-%m-%d"), "close": values.round(6)}).to_csv(path, index=False)
    code = (
        "import resource, sys\n"
        "from benchmark.cli import main\n"
        f"rc = main(['run', '--data', {str(path)!r}, '--models', 'mlp', '--seeds', '1', '--epochs', '1',"
        f" '--window', '{window}', '--tracking-uri', {store!r}, '--results-dir', '{tmp_path}/r'])\n"
        "print('PEAK_RSS_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                         env=dict(os.environ))
    assert out.returncode == 0, out.stderr[-2000:]
    peak_mb = int(out.stderr.split("PEAK_RSS_KB")[1].split()[0]) / 1024
    one_copy_mb = n * window * 8 / 2**20  # one float64 copy of every window: ~92 MB
    print(f"200,000 points, window {window}: peak RSS {peak_mb:.0f} MB ({peak_mb / one_copy_mb:.1f} window copies)")
    assert peak_mb < 1024 + 16 * one_copy_mb  # TensorFlow's ~1 GB plus a bounded number of window copies
