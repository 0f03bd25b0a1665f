"""Keras backends (`--backend`): TensorFlow (the default) or JAX (the `jax` extra).

Keras reads its backend once, at its first import, from `KERAS_BACKEND`; so the backend is chosen for a whole
process before anything imports Keras: by the runner for its own process, and by `executors.init_worker` in
every worker before the worker's first trial. A process whose Keras already runs another backend is refused with
one line, never silently trained on the wrong one.

What holds under both backends (tested): seeded weights and dropout (Keras seeds both through
`keras.utils.set_random_seed` and the model's SeedGenerators), single-threaded workers, and the compiled-model
reuse across seeds (`training._seeded_model` copies a fresh build's state into a compiled model, which both
backends' compiled train steps then read). The numbers differ between backends (different random streams and
kernels), so a backend other than TensorFlow is its own experiment (config hash).
"""

from __future__ import annotations

import contextlib
import importlib.util
import os
import sys

from benchmark.errors import BenchmarkError

BACKENDS = ("tensorflow", "jax")
DEFAULT = "tensorflow"
_INSTALL = {"jax": "pip install 'forecast-benchmark[jax]'", "tensorflow": "pip install forecast-benchmark"}
_READY: set[str] = set()


def available(backend: str) -> bool:
    return importlib.util.find_spec(backend) is not None


def check(backend: str) -> None:
    """Refuse, in one line, a backend that is unknown or not installed."""
    if backend not in BACKENDS:
        raise BenchmarkError(f"unknown backend '{backend}' (known: {', '.join(BACKENDS)})")
    if not available(backend):
        raise BenchmarkError(f"--backend {backend} needs {backend}, which is not installed: {_INSTALL[backend]}")


def active() -> str | None:
    """The backend this process's Keras runs (None before Keras is imported)."""
    if "keras" not in sys.modules:
        return None
    import keras

    return keras.config.backend()


def select(backend: str, threads: int | None = None) -> None:
    """Choose the backend (and, for a worker, its thread count) for this process, before Keras is imported."""
    check(backend)
    current = active()
    if current is not None and current != backend:
        raise BenchmarkError(f"Keras is already running the {current} backend in this process; --backend {backend} "
                             f"needs a new process (or KERAS_BACKEND={backend} set before Keras is imported)")
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # Keras imports TensorFlow's data tools under JAX too
    if threads is not None:
        # TensorFlow reads these when it initialises; XLA (JAX's CPU compiler) reads its flags when JAX starts.
        os.environ["TF_NUM_INTRAOP_THREADS"] = str(threads)
        os.environ["TF_NUM_INTEROP_THREADS"] = str(threads)
        if threads == 1:  # Eigen's thread pool off; XLA's own compute threads are not limited by any flag
            flags = os.environ.get("XLA_FLAGS", "")
            extra = "--xla_cpu_multi_thread_eigen=false"
            if extra not in flags:
                os.environ["XLA_FLAGS"] = f"{flags} {extra}".strip()


def configure(backend: str = DEFAULT) -> None:
    """Once per process, before any model is built: select the backend, then make it deterministic and quiet."""
    if backend in _READY:
        return
    select(backend)
    if backend == "tensorflow":
        configure_tensorflow()
    else:
        import jax  # noqa: F401  (JAX on CPU is deterministic for a fixed program and seed)
        import keras

        if keras.config.backend() != backend:  # KERAS_BACKEND was overridden by a keras.json or an earlier import
            raise BenchmarkError(f"Keras started with the {keras.config.backend()} backend, not {backend}")
    _READY.add(backend)


_TF_READY = False


@contextlib.contextmanager
def _quiet_stderr():
    """Silence file descriptor 2 (where C++ libraries write) for the duration of the block."""
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def configure_tensorflow() -> None:
    """Once per process, before any model is built: deterministic ops and quiet logs.

    Thread counts come from TF_NUM_INTRAOP_THREADS / TF_NUM_INTEROP_THREADS, which the worker pool sets before
    TensorFlow is first imported.
    """
    global _TF_READY
    if _TF_READY:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    with _quiet_stderr():  # TensorFlow's C++ start-up lines ignore TF_CPP_MIN_LOG_LEVEL; Python errors still raise
        import tensorflow as tf

    tf.get_logger().setLevel("ERROR")  # per-model predict tracing warnings are expected: one model per trial
    tf.config.experimental.enable_op_determinism()
    _TF_READY = True
