"""The Keras backend switch (benchmark/models/backends.py, `--backend`): JAX reproducible and close to TensorFlow, and a
missing or clashing backend refused in one line."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmark.config.experiment import resolve
from benchmark.errors import BenchmarkError
from benchmark.models import backends
from benchmark.tracking import BACKEND
from tests.conftest import TINY_ARGS, benchmark_command

needs_jax = pytest.mark.skipif(not backends.available("jax"), reason="JAX is not installed (the jax extra)")


def _run(tmp_path: Path, csv, name: str, *extra: str, env: dict | None = None) -> subprocess.CompletedProcess:
    """`python -m benchmark run` in a fresh process (Keras picks its backend once per process)."""
    args = ["run", "--data", str(csv), "--models", "mlp", "--tracking-uri", f"sqlite:///{tmp_path / name}.db",
            "--results-dir", str(tmp_path / f"results-{name}"), *TINY_ARGS, *extra]
    return subprocess.run(benchmark_command(*args), capture_output=True, text=True, timeout=600, cwd=tmp_path,
                          env=env)


def _mlp_maes(tmp_path: Path, name: str, backend: str) -> dict[str, float]:
    """The MLP's test MAE per seed, after checking every trial and the parent recorded `backend`."""
    from benchmark.tracking import Tracker

    tracker = Tracker(f"sqlite:///{tmp_path / name}.db")
    experiment = tracker.find_experiment()
    parent = tracker.latest_parent(experiment)
    runs = tracker.trials(experiment, parent.tags["config_hash"], status="FINISHED")
    assert {r.params["backend"] for r in runs} == {parent.tags[BACKEND]} == {backend}
    return {r.params["seed"]: r.metrics["mae"] for r in runs if r.model == "mlp"}


def test_a_backend_other_than_tensorflow_is_its_own_experiment():
    default = resolve("default")
    assert resolve("default", backend="tensorflow").config_hash == default.config_hash
    assert resolve("default", backend="jax").config_hash != default.config_hash


def test_backend_jax_without_jax_installed_is_one_line_and_exit_2(tmp_path, tiny_csv):
    """JAX hidden from a fresh process (as if never installed): one line naming the extra, nothing written."""
    hide = tmp_path / "hide"
    hide.mkdir()
    (hide / "sitecustomize.py").write_text("import sys\nsys.modules['jax'] = None  # as if not installed\n")
    import os

    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(hide), *sys.path]))
    out = _run(tmp_path, tiny_csv, "nojax", "--backend", "jax", env=env)
    assert out.returncode == 2
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and "--backend jax needs jax" in lines[0] and "forecast-benchmark[jax]" in lines[0]
    assert not (tmp_path / "nojax.db").exists() and not (tmp_path / "results-nojax").exists()


def test_a_process_already_running_another_backend_is_refused():
    import keras

    other = "jax" if keras.config.backend() == "tensorflow" else "tensorflow"
    if not backends.available(other):
        pytest.skip(f"{other} is not installed")
    with pytest.raises(BenchmarkError, match=f"already running the {keras.config.backend()} backend"):
        backends.select(other)


@needs_jax
@pytest.mark.slow
def test_jax_trials_are_reproducible_and_compiled_models_are_reused_exactly(tmp_path, tiny_csv, new_store):
    """Seeds 0 and 1 in one process (seed 1 reuses seed 0's compiled model) against seed 1 alone in another."""
    new_store(tmp_path / "both.db"), new_store(tmp_path / "alone.db")
    both = _run(tmp_path, tiny_csv, "both", "--backend", "jax", "--seeds", "0,1", "--epochs", "3")
    assert both.returncode == 0, both.stderr[-2000:]
    alone = _run(tmp_path, tiny_csv, "alone", "--backend", "jax", "--seeds", "1,", "--epochs", "3")
    assert alone.returncode == 0, alone.stderr[-2000:]
    assert _mlp_maes(tmp_path, "alone", "jax")["1"] == _mlp_maes(tmp_path, "both", "jax")["1"]


@needs_jax
@pytest.mark.slow
def test_jax_and_tensorflow_agree_within_seed_noise_but_not_bit_for_bit(tmp_path, tiny_csv, new_store):
    """Different random streams and kernels, the same model and data: the mean MAE over 3 seeds of 5 epochs
    differs by less than 15% (measured: 1-7% on this series), and the numbers are not identical."""
    seeds = ("--seeds", "3", "--epochs", "5")
    for backend in ("tensorflow", "jax"):
        new_store(tmp_path / f"{backend}.db")
        out = _run(tmp_path, tiny_csv, backend, "--backend", backend, *seeds)
        assert out.returncode == 0, out.stderr[-2000:]
    tf, jax = _mlp_maes(tmp_path, "tensorflow", "tensorflow"), _mlp_maes(tmp_path, "jax", "jax")
    assert len(tf) == len(jax) == 3
    assert tf != jax
    mean_tf, mean_jax = sum(tf.values()) / 3, sum(jax.values()) / 3
    assert abs(mean_jax - mean_tf) <= 0.15 * mean_tf


@needs_jax
def test_a_single_threaded_jax_worker_gets_single_threaded_xla(tmp_path):
    """What init_worker does for `--jobs 2` on two cores, in a fresh process: Eigen's thread pool is turned off
    in JAX's CPU compiler before JAX starts, and Keras runs JAX. (XLA's own threads have no such switch.)"""
    code = ("import os\nfrom benchmark.models import backends\nbackends.select('jax', threads=1)\n"
            "backends.configure('jax')\nimport keras\n"
            "print(keras.config.backend(), os.environ['XLA_FLAGS'], os.environ['TF_NUM_INTRAOP_THREADS'])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert out.returncode == 0, out.stderr[-2000:]
    backend, *flags, tf_threads = out.stdout.split()
    assert backend == "jax" and tf_threads == "1"
    assert "--xla_cpu_multi_thread_eigen=false" in flags
