"""Where trials run: in this process, in a local pool of worker processes, or on a Dask cluster.

Every executor runs the same pure `run_trial(spec)` and yields `TrialResult`s as trials finish. A worker that
dies mid-trial fails that trial with the reason (the local pool first gives the trials it took down one more
attempt, alone, since it cannot tell which one killed it); trials that had not started yet still run. A rerun of
the same command retries what did not finish.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool

from benchmark.errors import BenchmarkError
from benchmark.evaluation.trial import TrialResult, TrialSpec
from benchmark.execution.recording import run_trial
from benchmark.models import backends, registry
from benchmark.tracking import Tracker

LOST = "worker process died during the trial"


def die_with_parent(parent: int) -> None:
    """A worker must never outlive the process that started it (a SIGKILLed run would leave workers training and
    logging for nobody): on Linux the kernel kills it when its parent dies (PR_SET_PDEATHSIG); elsewhere, and as
    a second guard, a watchdog thread exits when the parent is gone."""
    if sys.platform.startswith("linux"):
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # 1 = PR_SET_PDEATHSIG
    if os.getppid() != parent:  # the parent died before the guard was set
        os._exit(1)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(1.0)
        os._exit(1)

    threading.Thread(target=watch, name="parent-watchdog", daemon=True).start()


def init_worker(threads: int, parent: int | None = None, backend: str = backends.DEFAULT) -> None:
    """Tie the worker's life to its parent's, choose its Keras backend and thread counts (both must be in the
    environment before Keras and its backend initialise), then import and configure them once, so no trial pays
    for it."""
    if parent is not None:
        die_with_parent(parent)
    # Ctrl-C reaches every process of the terminal's group: the parent alone handles it (it stops the pool and
    # marks the runs), so a worker never prints a traceback of its own.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    backends.select(backend, threads)
    backends.configure(backend)


def threads_per_worker(jobs: int) -> int:
    return max(1, (os.cpu_count() or 1) // jobs)


def _running(spec: TrialSpec, max_results: int = 100) -> list:
    """This invocation's run of the trial, if it was created and is still RUNNING."""
    return Tracker(spec.tracking_uri).running_trials(spec.experiment_id, spec.parent_run_id, spec.row, spec.seed,
                                                     max_results)


def settle_lost(spec: TrialSpec, reason: str = LOST) -> TrialResult:
    """A trial whose worker vanished: its run (if it was created) is marked FAILED with the reason."""
    tracker, run_id = Tracker(spec.tracking_uri), ""
    for run in _running(spec):
        run_id = run.run_id
        tracker.fail(run_id, reason)
    return TrialResult(spec.row, spec.seed, run_id, "FAILED", error=reason, parent_run_id=spec.parent_run_id)


def _started(spec: TrialSpec) -> bool:
    """Whether the trial created its run (and so may have been what killed its worker)."""
    return bool(_running(spec, max_results=1))


STARTUP_ATTEMPTS = 2  # pools in a row whose workers all die before any trial starts: then the run stops


def by_backend(specs: list[TrialSpec]) -> dict[str, list[TrialSpec]]:
    """The trials grouped by the Keras backend they run on (one under `--speed fastest` may differ from the
    run's), each group in schedule order; baselines run on the run's backend."""
    groups: dict[str, list[TrialSpec]] = {}
    for spec in specs:
        groups.setdefault(spec.config.backend, []).append(spec)
    return groups


def run_local(specs: list[TrialSpec], jobs: int) -> Iterator[TrialResult]:
    """jobs=1: one trial after another in this process (TensorFlow imported once); else a spawn pool. A process
    runs one Keras backend, so trials on another backend than this process's (`--speed fastest`) get workers of
    their own, one backend per pool, one pool after the other."""
    groups = by_backend(specs)
    if not groups:  # nothing to run (a rerun of finished work)
        return
    here = backends.active() or next(iter(groups))
    for backend, group in groups.items():
        if jobs <= 1 and backend == here:
            yield from _in_process(group)
        else:
            yield from _in_pools(group, max(1, jobs))


def _in_process(specs: list[TrialSpec]) -> Iterator[TrialResult]:
    if any(registry.get(spec.model).adapter.needs_keras for spec in specs):
        backends.configure(specs[0].config.backend)  # once, before the first trial's clock starts
    for spec in specs:
        yield run_trial(spec)


def _in_pools(specs: list[TrialSpec], jobs: int) -> Iterator[TrialResult]:
    """A spawn pool of `jobs` workers on the specs' backend.

    When a worker dies, the pool takes every running trial down with it and cannot tell which one killed it.
    Those trials get their runs marked FAILED and one more attempt, alone in a one-worker pool, where a death is
    unambiguous: a trial lost there fails for good. Trials that never started simply run in the next pool.
    """
    if len(specs) == 1 and jobs > 1 and backends.active() in (None, specs[0].config.backend):
        yield from _in_process(specs)  # one trial: no pool to start
        return
    queue, suspects, barren = list(specs), [], 0
    while queue:
        before = len(queue)
        queue, lost = yield from _pool_round(queue, jobs)
        for spec in lost:
            settle_lost(spec, f"{LOST}; retried alone")
        suspects += lost
        barren = barren + 1 if queue and len(queue) == before else 0  # no trial started, none finished
        if barren >= STARTUP_ATTEMPTS:
            raise BenchmarkError(
                f"worker processes died while starting, {barren} pools in a row, before any trial began (their "
                "error is printed above); a script that calls benchmark.run needs `if __name__ == \"__main__\":`")
    while suspects:
        suspects, lost = yield from _pool_round(suspects, 1)
        for spec in lost:
            yield settle_lost(spec)


def _pool_round(specs: list[TrialSpec], jobs: int):
    """Run specs in one pool; return (trials that never started, trials lost with a dying worker)."""
    context = multiprocessing.get_context("spawn")
    pool = ProcessPoolExecutor(jobs, mp_context=context, initializer=init_worker,
                               initargs=(threads_per_worker(jobs), os.getpid(), specs[0].config.backend))
    futures = {pool.submit(run_trial, spec): spec for spec in specs}
    broken: list[TrialSpec] = []
    try:
        pending = set(futures)
        while pending:
            done, pending = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                try:
                    yield future.result()
                except BrokenProcessPool:
                    broken.append(futures[future])
    except BaseException:
        _stop(pool)
        raise
    pool.shutdown(wait=True)
    lost = [spec for spec in broken if _started(spec)]
    return [spec for spec in broken if spec not in lost], lost


def _stop(pool: ProcessPoolExecutor) -> None:
    """Stop at once: cancel what is queued and end the workers (their runs are marked by the runner)."""
    processes = list(getattr(pool, "_processes", {}).values())
    pool.shutdown(wait=False, cancel_futures=True)
    for process in processes:
        if process.is_alive():
            process.terminate()
    for process in processes:
        process.join(timeout=10)


def run_dask(specs: list[TrialSpec], scheduler: str | None, jobs: int) -> Iterator[TrialResult]:
    """Submit every trial to a Dask cluster (or a LocalCluster sized to this machine when no scheduler is given)."""
    try:
        import dask
        from distributed import Client, LocalCluster, as_completed
    except ImportError:
        raise BenchmarkError("--executor dask needs the dask extra: pip install -e '.[dask]'") from None
    cluster = None
    # A lost worker fails its trial instead of being silently retried elsewhere (a rerun retries it).
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        if scheduler is None:
            workers = max(1, jobs)
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                   dashboard_address=None, host="127.0.0.1")
            address = cluster.scheduler_address
        else:
            address = scheduler
        try:
            client = Client(address, timeout="20s")
        except OSError as exc:
            if cluster is not None:
                cluster.close()
            raise BenchmarkError(f"cannot reach the Dask scheduler at {address} ({exc})") from None
    try:
        threads = threads_per_worker(jobs) if cluster is not None else 0
        if threads:
            client.run(init_worker, threads, None, specs[0].config.backend)
        attempts = dict.fromkeys(specs, 0)

        def submit(spec: TrialSpec):
            attempts[spec] += 1
            key = f"trial-{spec.row}-{spec.seed}-{spec.parent_run_id}-{attempts[spec]}"
            future = client.submit(run_trial, spec, key=key, pure=False)
            futures[future] = spec
            return future

        futures: dict = {}
        running = as_completed([submit(spec) for spec in specs])
        for future in running:
            spec = futures.pop(future)
            if future.status == "finished":
                yield future.result()
            elif _started(spec) or attempts[spec] >= 3:
                yield settle_lost(spec, f"{LOST} ({type(future.exception()).__name__})")
            else:  # queued on the dead worker but never started: run it elsewhere
                running.add(submit(spec))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
