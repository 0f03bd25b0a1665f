"""Installed like a library: a wheel that carries its models and data, works from any folder and writes only
there."""

from __future__ import annotations

import os
import subprocess
import sys
import venv
from pathlib import Path

import pytest

from benchmark import PROJECT_ROOT


def files_under(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*") if p.is_file() and "__pycache__" not in p.parts}


@pytest.mark.slow
def test_the_wheel_works_from_an_empty_folder_and_writes_only_there(tmp_path):
    dist = tmp_path / "dist"
    build = subprocess.run([sys.executable, "-m", "pip", "wheel", str(PROJECT_ROOT), "--no-deps",
                            "--no-build-isolation", "-w", str(dist), "-q"], capture_output=True, text=True,
                           timeout=300)
    assert build.returncode == 0, build.stderr[-2000:]
    (wheel,) = dist.glob("forecast_benchmark-*.whl")
    env_dir = tmp_path / "venv"
    venv.EnvBuilder(system_site_packages=True, with_pip=False).create(env_dir)  # reuses the installed dependencies
    python = env_dir / "bin" / "python"
    install = subprocess.run([python, "-m", "pip", "install", "--no-deps", "--no-index", "--force-reinstall", "-q",
                              str(wheel)], capture_output=True, text=True, timeout=300)
    assert install.returncode == 0, install.stderr[-2000:]
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "PYTHONPATH")}
    where = subprocess.run([python, "-c", "import benchmark; print(benchmark.__file__)"], capture_output=True,
                           text=True, cwd=tmp_path, env=env, timeout=60)
    package = Path(where.stdout.strip()).parent
    assert package.is_relative_to(env_dir), where.stdout + where.stderr  # the wheel, not the source checkout
    before = files_under(package)
    work = tmp_path / "empty"
    work.mkdir()
    script = env_dir / "bin" / "forecast-benchmark"

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([script, *args], capture_output=True, text=True, cwd=work, env=env, timeout=600)

    listed = cli("list")
    assert listed.returncode == 0 and "lstm" in listed.stdout and "naive" in listed.stdout, listed.stderr
    datasets = cli("datasets")
    assert datasets.returncode == 0 and "msft" in datasets.stdout, datasets.stderr
    run = cli("run", "--models", "mlp", "--seeds", "1", "--epochs", "1")
    assert run.returncode == 0, run.stderr[-3000:]
    assert (work / "mlflow.db").is_file() and (work / "results" / "LEADERBOARD.md").is_file()
    assert files_under(package) == before  # nothing written inside the installed package
