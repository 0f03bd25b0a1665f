"""Bad input of every kind is one line, exit code 2, before any work, and nothing is created; valid trials always
give a leaderboard; stores shared by several processes stay sound."""

from __future__ import annotations

import contextlib
import errno
import os
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import benchmark
from benchmark.errors import BenchmarkError
from benchmark.files import atomic_write
from tests.conftest import TINY_ARGS, baseline_count, benchmark_command, trial_statuses


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(benchmark_command(*args), capture_output=True, text=True, cwd=cwd, timeout=300)


def assert_one_line(out: subprocess.CompletedProcess, expected: str) -> None:
    assert out.returncode == 2, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and expected in lines[0], out.stderr


BAD_URIS = {
    "empty": ("", "tracking URI is empty"),
    "relative sqlite path": ("sqlite:///relative.db", "needs an absolute path"),
    "no sqlite path": ("sqlite:///", "needs an absolute path"),
    "malformed host": ("http://[::1", "malformed tracking URI"),
}


@pytest.mark.parametrize("case", BAD_URIS)
def test_bad_tracking_uris_are_refused_and_create_nothing(case, tmp_path):
    uri, expected = BAD_URIS[case]
    assert_one_line(run("run", "--tracking-uri", uri, "--results-dir", "out", cwd=tmp_path), expected)
    assert list(tmp_path.iterdir()) == []  # no relative.db, no mlflow.db, no results folder


def test_unusable_store_files_are_named(tmp_path):
    folder = tmp_path / "store.db"
    folder.mkdir()
    assert_one_line(run("run", "--tracking-uri", f"sqlite:///{folder}", cwd=tmp_path), "is a folder")
    text = tmp_path / "text.db"
    text.write_text("this is not a database\n" * 10)
    assert_one_line(run("report", "--tracking-uri", f"sqlite:///{text}", cwd=tmp_path), "not a SQLite database")
    broken = tmp_path / "broken.db"
    broken.write_bytes(b"SQLite format 3\x00" + b"\x00" * 84 + b"\xff" * 300)  # a header, then garbage
    out = run("report", "--tracking-uri", f"sqlite:///{broken}", cwd=tmp_path)
    assert_one_line(out, "is unusable")
    assert "mlflow db upgrade" in out.stderr


def test_report_on_a_mistyped_store_path_creates_nothing(tmp_path):
    missing = tmp_path / "typo.db"
    assert_one_line(run("report", "--tracking-uri", f"sqlite:///{missing}", "--results-dir", str(tmp_path / "r"),
                        cwd=tmp_path), "no tracking store")
    assert not missing.exists() and not (tmp_path / "r").exists()


@pytest.mark.parametrize(("args", "expected"), [
    (["--learning-rate", "nan"], "--learning-rate must be a finite number"),
    (["--learning-rate", "inf"], "--learning-rate must be a finite number"),
    (["--set", "units=abc"], "'abc' is not an integer"),
    (["--set", "lstm.dropout=high"], "'high' is not a number"),
])
def test_values_that_used_to_fail_later_are_refused_up_front(args, expected, tmp_path):
    assert_one_line(run("run", *args, "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}", cwd=tmp_path), expected)
    assert not (tmp_path / "m.db").exists() and not (tmp_path / "results").exists()


def test_an_empty_data_path_is_named(tmp_path):
    assert_one_line(run("run", "--data", "", cwd=tmp_path), "--data is empty")


def test_an_empty_sweep_list_is_refused(tmp_path):
    config = tmp_path / "exp.toml"
    config.write_text("[sweep]\nunits = []\n")
    assert_one_line(run("run", "--config", str(config), "--tracking-uri", f"sqlite:///{tmp_path / 'm.db'}",
                        cwd=tmp_path), "needs at least one value")


def test_a_full_disk_is_one_line_and_the_old_file_stays_whole(tmp_path):
    target = tmp_path / "LEADERBOARD.md"
    target.write_text("the previous leaderboard\n")

    def full(path: Path) -> None:
        path.write_text("half of a")
        raise OSError(errno.ENOSPC, "No space left on device")

    with pytest.raises(BenchmarkError, match="No space left on device") as info:
        atomic_write(target, full)
    assert "\n" not in str(info.value)
    assert target.read_text() == "the previous leaderboard\n"
    assert [p.name for p in tmp_path.iterdir()] == ["LEADERBOARD.md"]


def write_series(path: Path, values: np.ndarray) -> Path:
    dates = pd.bdate_range("2020-01-01", periods=len(values))
    pd.DataFrame({"Date": dates.strftime("%Y-%m-%d"), "Close": values}).to_csv(path, index=False)
    return path


@pytest.mark.slow
@pytest.mark.parametrize("case", ["short test period", "constant series", "one seed, one model"])
def test_the_leaderboard_never_crashes_on_valid_trials(case, tmp_path, store):
    from benchmark import cli

    rng = np.random.default_rng(0)
    values, extra = 100 + np.cumsum(rng.normal(0, 1, 200)), []
    if case == "short test period":
        extra = ["--test-size", "8", "--val-size", "20"]
    elif case == "constant series":
        values = np.full(200, 42.0)
    models = ["--models", "mlp"] if case != "one seed, one model" else ["--models", "mlp", "--seeds", "1"]
    csv = write_series(tmp_path / "prices.csv", values)
    args = ["run", "--data", str(csv), *models, "--tracking-uri", store,
            "--results-dir", str(tmp_path / "out"), *TINY_ARGS, *extra]
    # On a constant series of 42 Theta's trend term explodes (about 38,700): that trial fails with its reason
    # (exit 1, a failed trial) instead of entering the leaderboard as FINISHED; every other row is kept.
    assert cli.main(args) == (cli.EXIT_FAILED_TRIALS if case == "constant series" else 0)
    text = (tmp_path / "out" / "LEADERBOARD.md").read_text()
    assert "**Verdict.**" in text and "| naive" in text
    if case == "constant series":
        failed = text.split("Failed trials (not averaged in)", 1)[1]
        assert "| theta " in failed and "ranges outside the values observed before them" in failed


@pytest.mark.slow
def test_processes_creating_one_fresh_store_at_once_all_succeed(tmp_path):
    """Five pairs of processes open the same new SQLite store at the same moment (a shared start time)."""
    code = ("import sys, time; from benchmark.tracking import Tracker; start = float(sys.argv[2]); "
            "time.sleep(max(0, start - time.time())); Tracker(sys.argv[1]).ensure_store(); "
            "Tracker(sys.argv[1]).experiment('shared')")
    start = str(time.time() + 10)  # all ten interpreters are up and waiting by then
    procs = [(tmp_path / f"pair{pair}.db", subprocess.Popen(
        [sys.executable, "-c", code, f"sqlite:///{tmp_path / f'pair{pair}.db'}", start], stderr=subprocess.PIPE,
        text=True)) for pair in range(5) for _ in range(2)]
    for _, proc in procs:
        _, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err[-2000:]
    for db in sorted({db for db, _ in procs}):
        with sqlite3.connect(db) as conn:
            assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
            assert conn.execute("SELECT COUNT(*) FROM experiments WHERE name = 'shared'").fetchone()[0] == 1
            assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0]


def children_of(pid: int) -> set[int]:
    """Processes whose parent is `pid` (from /proc)."""
    out = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.add(int(stat.parent.name))
    return out


def alive(pid: int) -> bool:
    """Running, and not a zombie waiting to be reaped."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.slow
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_no_worker_survives_a_sigkill_of_the_main_process(tmp_path, tiny_csv, store):
    import os
    import signal

    main = subprocess.Popen(benchmark_command(
        "run", "--data", str(tiny_csv), "--models", "lstm,gru", "--seeds", "4", "--epochs", "200", "--jobs", "2",
        "--window", "20", "--val-size", "40", "--test-size", "40", "--no-early-stopping",
        "--tracking-uri", store, "--results-dir", str(tmp_path / "out")),
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 180
    workers: set[int] = set()
    while len(workers) < 2 and time.monotonic() < deadline:  # the pool's two workers (and its resource tracker)
        time.sleep(1)
        workers = {p for p in children_of(main.pid)
                   if b"multiprocessing" in Path(f"/proc/{p}/cmdline").read_bytes()}
    assert len(workers) >= 2, "the worker pool did not start"
    time.sleep(5)  # training
    os.kill(main.pid, signal.SIGKILL)
    main.wait(timeout=30)
    deadline = time.monotonic() + 10
    while any(alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.5)
    survivors = [p for p in workers if alive(p)]
    for p in survivors:
        os.kill(p, signal.SIGKILL)
    assert not survivors, f"workers {survivors} outlived their parent"


@pytest.mark.slow
def test_two_identical_runs_at_once_never_train_a_trial_twice(tmp_path, tiny_csv, store):
    from benchmark import tracking

    args = ["run", "--data", str(tiny_csv), "--models", "mlp,lstm", "--seeds", "3", "--tracking-uri", store,
            "--experiment", "shared", *TINY_ARGS, "--epochs", "3", "--no-early-stopping"]
    first = subprocess.Popen(benchmark_command(*args, "--results-dir", str(tmp_path / "a")), cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(12)  # the first is training by now
    second = subprocess.Popen(benchmark_command(*args, "--results-dir", str(tmp_path / "b")), cwd=tmp_path,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    for proc in (first, second):
        _, err = proc.communicate(timeout=600)
        assert proc.returncode == 0, err[-3000:]
    c = tracking.client(store)
    experiment = c.get_experiment_by_name("shared").experiment_id
    runs = c.search_runs([experiment], "tags.run_type = 'trial'")
    finished = [(r.data.params["model"], r.data.params["seed"]) for r in runs if r.info.status == "FINISHED"]
    assert sorted(finished) == sorted(set(finished)) and len(finished) == 2 * 3 + baseline_count()
    assert not [r for r in runs if r.data.tags.get("failure_reason", "").startswith("stale")]
    # Each waited for the other's trials before writing: both boards hold every trial, none "still running".
    for folder in ("a", "b"):
        board = (tmp_path / folder / "LEADERBOARD.md").read_text()
        assert "still running" not in board
        table = pd.read_csv(tmp_path / folder / "leaderboard.csv")
        assert set(table.loc[table["row"] == "seeds", "seeds"]) == {3}, folder


@pytest.mark.slow
def test_a_run_that_starts_while_another_trains_its_last_trial_waits_for_it(tmp_path, tiny_csv, store, capsys):
    """The second invocation finds nothing left to train (the baselines finished, the MLP is being trained by the
    first): it waits for that trial before it writes its leaderboard, which then holds it."""
    from benchmark import cli

    args = ["run", "--data", str(tiny_csv), "--models", "mlp", "--seeds", "1", "--tracking-uri", store,
            *TINY_ARGS, "--epochs", "100", "--no-early-stopping"]
    first = subprocess.Popen(benchmark_command(*args, "--results-dir", str(tmp_path / "a")), cwd=tmp_path,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 240
    while not (trial_statuses(store).query("model == 'mlp'")["status"] == "RUNNING").any():
        assert first.poll() is None and time.monotonic() < deadline, first.communicate()
        time.sleep(0.2)
    assert cli.main([*args, "--results-dir", str(tmp_path / "b")]) == 0
    assert "waiting for 1 trial(s) another invocation is training" in capsys.readouterr().err
    _, err = first.communicate(timeout=60)
    assert first.returncode == 0, err[-3000:]
    board = (tmp_path / "b" / "LEADERBOARD.md").read_text()
    assert "still running" not in board and "| mlp " in board


@pytest.mark.slow
def test_the_verdict_declared_by_the_first_run_cannot_be_changed_later(tmp_path, tiny_csv, store):
    from benchmark import cli

    base = ["run", "--data", str(tiny_csv), "--models", "mlp", "--seeds", "1", "--tracking-uri",
            store, "--results-dir", str(tmp_path / "out"), *TINY_ARGS]
    assert cli.main(base) == 0
    out = run(*base, "--alpha", "0.1", cwd=tmp_path)
    assert_one_line(out, "was declared with alpha=0.05 by its first run")
    assert cli.main([*base, "--metric", "mae"]) == 0  # the same declaration again is a resume


@contextlib.contextmanager
def small_disk(path: Path, size: str):
    """A tmpfs of `size` mounted at `path` (needs the privilege to mount: skipped where the test may not)."""
    path.mkdir()
    mounted = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], capture_output=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], capture_output=True)


@pytest.mark.slow
def test_a_read_only_store_and_a_full_disk_are_one_line_each(tiny_csv, tmp_path, capsys):
    """The machine failing, not the input: a store on a file system remounted read-only (run and report refused
    before any work; load still reads it), then the same file system full while `report` logs its artifacts."""
    from benchmark import cli

    args = ["--models", "mlp", "--seeds", "1", *TINY_ARGS]
    with small_disk(tmp_path / "disk", "60m") as folder:
        store = f"sqlite:///{folder / 'm.db'}"
        # In its own process, so that no open handle of this one keeps the file system from turning read-only.
        made = subprocess.run(benchmark_command("run", "--data", str(tiny_csv), *args, "--tracking-uri", store,
                                                "--results-dir", str(tmp_path / "out")), capture_output=True)
        assert made.returncode == 0, made.stderr[-2000:]
        assert subprocess.run(["mount", "-o", "remount,ro", str(folder)]).returncode == 0
        for command in (["report"], ["run", "--data", str(tiny_csv), *args]):
            code = cli.main([*command, "--tracking-uri", store, "--results-dir", str(tmp_path / "out2")])
            err = capsys.readouterr().err
            assert code == 2 and len(err.strip().splitlines()) == 1 and "not writable" in err, (command, err)
            assert not (tmp_path / "out2").exists()
        assert len(benchmark.load(tracking_uri=store).table) > 0  # reading a read-only store still works
        assert subprocess.run(["mount", "-o", "remount,rw", str(folder)]).returncode == 0
        free = os.statvfs(folder)
        (folder / "filler").write_bytes(b"\0" * (free.f_bavail * free.f_frsize - 16_384))  # the disk is full now
        capsys.readouterr()
        code = cli.main(["report", "--tracking-uri", store, "--results-dir", str(tmp_path / "out3")])
        err = capsys.readouterr().err
        assert code == 2 and "Traceback" not in err, err[-2000:]
        assert "no space left on device" in err.strip().splitlines()[-1] or "disk is full" in err, err[-500:]


def test_a_large_data_file_is_announced_before_it_is_read(tiny_csv, monkeypatch, capsys):
    from benchmark.config import experiment
    from benchmark.execution import runner

    config = experiment.resolve("default", data=str(tiny_csv))
    runner.announce_large_data(config)
    assert capsys.readouterr().err == ""  # a small file: nothing to say
    monkeypatch.setattr(runner, "LARGE_FILE", 1)
    runner.announce_large_data(config)
    assert capsys.readouterr().err.startswith(f"reading {tiny_csv} (0 MB) and cutting its windows")
