"""The one owner of MLflow: where the store is, the benchmark's experiments, the life of parent and trial runs,
every query the suite asks, and every tag name. No other module of the package imports `mlflow` or writes a
filter string; they ask a `Tracker` questions in the problem's words ("finished trials of this config").

Everything goes through `MlflowClient` with explicit run ids (no fluent active-run state), so the same code logs
from the driver, from worker processes and against a remote `mlflow server`.
"""

from __future__ import annotations

import contextlib
import errno
import os
import platform
import socket
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

from benchmark.errors import BenchmarkError
from benchmark.files import git_commit
from benchmark.tracking.params import TrialParams, seed_text

EXPERIMENT_PREFIX = "forecast-benchmark"
EXPERIMENT_GUIDE = (
    "Parent runs are invocations; child runs are (model, seed) trials. Compare `mae`/`rmse` in the runs table, "
    "group by the `model` param to average over seeds. The generated leaderboard states significance vs naive."
)

# Tag names: the store's vocabulary, written and read only here.
RUN_TYPE = "run_type"
PARENT, TRIAL = "parent", "trial"  # values of RUN_TYPE
CONFIG_HASH = "config_hash"
BACKEND = "benchmark.backend"  # the Keras backend the trials ran on
MODEL_HASH = "model_hash"
SWEEP_ID = "sweep_id"
FAILURE_REASON = "failure_reason"
STAGE = "stage"
COMMAND = "benchmark.command"
INVOCATION = "benchmark.invocation"  # one id per `run` / `benchmark.run` call, on every parent it starts
VERSION_PREFIX = "benchmark.version."
PARENT_RUN_ID = "mlflow.parentRunId"
NOTE = "mlflow.note.content"

OWNER = "benchmark.owner"  # host:pid:process start, of the process that created the run
HEARTBEAT = "benchmark.heartbeat"  # unix seconds, refreshed while a trial trains
TRIAL_KEY = "trial_key"  # model|seed|model hash: one trial of one configuration
HEARTBEAT_EVERY = 30.0
STALE_AFTER = 600.0  # a run on another host with no heartbeat for this long is taken as dead

# Run states, as MLflow names them.
RUNNING, FINISHED, FAILED, KILLED = "RUNNING", "FINISHED", "FAILED", "KILLED"

PREDICTIONS = "predictions.csv"  # each finished trial's scored test points
FORECAST_FIGURE = "forecast.png"  # each finished trial's forecast plot, drawn at report time
MAX_BATCH = 1000  # the REST API takes at most 1000 metrics per batch


# A server that dies mid-run must be noticed within a bounded time: MLflow's defaults retry each request for
# minutes (7 retries, doubling back-off, 120 s timeouts). These give up after about half a minute.
HTTP_SETTINGS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "3", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
                 "MLFLOW_HTTP_REQUEST_TIMEOUT": "20"}


def bound_http_waits() -> None:
    """Apply HTTP_SETTINGS where the user has not set them (inherited by worker processes)."""
    for key, value in HTTP_SETTINGS.items():
        os.environ.setdefault(key, value)


def default_tracking_uri() -> str:
    """`MLFLOW_TRACKING_URI` if set, else `./mlflow.db` in the current folder, as `mlflow` itself does (made
    absolute here, once, so worker processes in other folders write to the same file)."""
    return os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{Path.cwd() / 'mlflow.db'}"


def is_remote(uri: str) -> bool:
    return urlparse(uri).scheme in ("http", "https", "databricks")


def _sqlite_path(uri: str) -> Path | None:
    return Path(uri.removeprefix("sqlite:///")) if uri.startswith("sqlite:///") else None


def check_reachable(uri: str, timeout: float = 5.0, must_exist: bool = False, writes: bool = True) -> None:
    """Fail before any work when the store cannot be used: a malformed URI, an unreachable server, a SQLite path
    that is relative, a folder, not a database or in an unwritable folder. `must_exist`: reading a store never
    creates one (`report`, `load`). `writes`: the command writes to the store (`run`, `report`; not `load`, `ui`),
    so a read-only store is refused here, before any work."""
    if not uri or not uri.strip():
        raise BenchmarkError("the tracking URI is empty: give sqlite:///ABSOLUTE/PATH.db or http://HOST:PORT")
    try:
        parsed = urlparse(uri)
        parsed.port  # noqa: B018 - parses the port: 'http://[::1' and 'http://h:x' fail here
    except ValueError as exc:
        raise BenchmarkError(f"malformed tracking URI '{uri}' ({exc})") from None
    if parsed.scheme in ("http", "https"):
        if not parsed.hostname:
            raise BenchmarkError(f"malformed tracking URI '{uri}': no host")
        try:
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).read()
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise BenchmarkError(f"tracking server {uri} is unreachable ({exc})") from None
        return
    path = _sqlite_path(uri)
    if path is None:
        raise BenchmarkError(f"unsupported tracking URI '{uri}': use sqlite:///ABSOLUTE/PATH.db or http://HOST:PORT")
    if not str(path) or not path.is_absolute():
        raise BenchmarkError(f"tracking URI '{uri}' needs an absolute path: sqlite:////ABSOLUTE/PATH.db (four "
                             "slashes) or leave --tracking-uri out for ./mlflow.db")
    if path.is_dir():
        raise BenchmarkError(f"tracking store {path} is a folder, not a database file")
    if path.exists():
        try:
            with path.open("rb") as f:
                header = f.read(16)
        except OSError as exc:
            raise BenchmarkError(f"tracking store {path} cannot be read ({exc.strerror or exc})") from None
        if header and header != b"SQLite format 3\x00":
            raise BenchmarkError(f"tracking store {path} is not a SQLite database: move it away or give another "
                                 "--tracking-uri")
        if writes and header:
            _check_writable_store(path)
    elif must_exist:
        raise BenchmarkError(f"no tracking store at {path}: check --tracking-uri (nothing was created)")
    if writes and (not path.parent.is_dir() or not os.access(path.parent, os.W_OK)):
        raise BenchmarkError(f"tracking store folder {path.parent} does not exist or is not writable")


def _check_writable_store(path: Path) -> None:
    """A write lock taken and released at once (nothing written): a read-only file, folder or file system fails
    here, before any work, instead of deep inside MLflow after training."""
    import sqlite3

    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        if not any(word in str(exc).lower() for word in ("readonly", "read-only", "unable to open", "permission")):
            return  # a damaged file: opening it as a store names that (`Tracker.check_store`)
        raise BenchmarkError(f"tracking store {path} cannot be written ({exc}): make it writable, or give another "
                             "--tracking-uri (load and ui only read it; run and report write to it)") from None


ENVIRONMENT_ERRORS = {errno.ENOSPC: "no space left on device", errno.EDQUOT: "disk quota exceeded",
                      errno.EROFS: "read-only file system", errno.EACCES: "permission denied",
                      errno.EPERM: "operation not permitted"}
_SQLITE_ENVIRONMENT = ("database or disk is full", "readonly database", "unable to open database file",
                       "disk i/o error")


def environment_error(exc: BaseException) -> str | None:
    """One line for a failure of the machine rather than of the input (a full disk, a read-only or unreadable file,
    anywhere in the exception's chain, MLflow's and SQLite's wrappings included); None for anything else."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, OSError) and exc.errno in ENVIRONMENT_ERRORS:
            target = getattr(exc, "filename2", None) or getattr(exc, "filename", None)  # a copy's destination
            where = f": {target}" if target else ""
            return f"{ENVIRONMENT_ERRORS[exc.errno]}{where}"
        text = str(exc).lower()
        for phrase in _SQLITE_ENVIRONMENT:
            if phrase in text:
                return f"the tracking store failed: {phrase}"
        exc = exc.__cause__ or exc.__context__
    return None


@contextlib.contextmanager
def store_lock(uri: str):
    """An exclusive lock across processes on this host for a SQLite store (a `.lock` file beside it): creating
    or migrating the schema, and claiming a trial, happen under it. Servers serialise their own writes."""
    path = _sqlite_path(uri)
    if path is None:
        yield
        return
    import fcntl

    with open(path.with_name(path.name + ".lock"), "a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def client(uri: str):
    """A raw `MlflowClient` (for tests that inspect the store as MLflow sees it)."""
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def experiment_name(dataset: str) -> str:
    return f"{EXPERIMENT_PREFIX}/{dataset}"


def environment_tags(backend: str = "tensorflow") -> dict[str, str]:
    """Versions, commit, CPU and Keras backend: what decides whether two runs' numbers may be compared bit for
    bit."""
    from importlib.metadata import PackageNotFoundError, version

    tags = {"benchmark.cpu": platform.processor() or platform.machine(),
            "benchmark.python": platform.python_version(),
            "benchmark.onednn": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "default"),
            "benchmark.git_commit": git_commit(), BACKEND: backend}
    packages = ("tensorflow", "keras", "mlflow", "numpy", "pandas", "scikit-learn", "statsmodels")
    for package in (*packages, "jax", "jaxlib") if backend == "jax" else packages:
        with contextlib.suppress(PackageNotFoundError):
            tags[f"{VERSION_PREFIX}{package}"] = version(package)
    return tags


def _process_start(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (/proc), to tell a live pid from a reused one."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19]
    except (OSError, IndexError):
        return None


def this_owner() -> str:
    pid = os.getpid()
    return f"{socket.gethostname()}:{pid}:{_process_start(pid) or 'unknown'}"


def owner_alive(tags: Mapping[str, str], now: float | None = None) -> bool:
    """Whether the process that owns a RUNNING run still lives: on this host its pid runs with the same start
    time (a reused pid does not count); on another host its heartbeat is recent. Runs without an owner (older
    versions) count as dead."""
    owner = tags.get(OWNER)
    if not owner:
        return False
    host, pid, started = owner.rsplit(":", 2)
    if host == socket.gethostname() and started != "unknown":
        return _process_start(int(pid)) == started
    beat = float(tags.get(HEARTBEAT) or 0)
    return (now or time.time()) - beat < STALE_AFTER


@dataclass(frozen=True)
class DataInput:
    """One dataset a run used, as MLflow records it (the runs table's Dataset column)."""

    name: str
    digest: str
    source: str
    context: str  # the part it played: training, validation or testing
    profile: Mapping[str, object]


@dataclass(frozen=True)
class StoredRun:
    """A run as the store holds it, in plain Python values."""

    run_id: str
    status: str
    start_time: int
    end_time: int | None
    params: Mapping[str, str]
    metrics: Mapping[str, float]
    tags: Mapping[str, str]

    @property
    def model(self) -> str | None:
        return self.params.get("model")

    @property
    def seed(self) -> str | None:
        return self.params.get("seed")

    @property
    def trial(self) -> TrialParams:
        """A trial run's params, typed (`benchmark.tracking.params`)."""
        return TrialParams.from_params(self.params)

    @property
    def key(self) -> tuple[str | None, str | None, str]:
        """(model, seed, model hash): what identifies a trial within one configuration."""
        return self.model, self.seed, self.tags.get(MODEL_HASH, "")

    @property
    def failure_reason(self) -> str:
        return self.tags.get(FAILURE_REASON, "")

    @property
    def config_hash(self) -> str:
        return self.tags.get(CONFIG_HASH, "")

    @property
    def command(self) -> str:
        """The command line of a parent run (the invocation)."""
        return self.tags.get(COMMAND, "")

    @property
    def versions(self) -> dict[str, str]:
        return {k.removeprefix(VERSION_PREFIX): v for k, v in self.tags.items() if k.startswith(VERSION_PREFIX)}


def _stored(run) -> StoredRun:
    return StoredRun(run.info.run_id, run.info.status, run.info.start_time, run.info.end_time,
                     dict(run.data.params), dict(run.data.metrics), dict(run.data.tags))


class Tracker:
    """One tracking store (a SQLite file or a server), in the benchmark's words."""

    def __init__(self, uri: str):
        self.uri = uri
        self._client = None

    @property
    def client(self):
        if self._client is None:
            self._client = client(self.uri)
        return self._client

    # ------------------------------------------------------------ store and experiments

    def ensure_store(self) -> None:
        """Create or open the store's schema under a lock across processes (two processes creating one SQLite
        store at once corrupt it); a corrupt or half-migrated store is one clear error."""
        with store_lock(self.uri):
            self.check_store()

    def check_store(self) -> None:
        """Open the store (creating a missing SQLite schema); any failure becomes one line saying how to recover."""
        try:
            self.client.search_experiments(max_results=1)
        except Exception as exc:  # noqa: BLE001 - sqlite, alembic and MLflow errors all mean "unusable store"
            if is_remote(self.uri):
                raise BenchmarkError(f"tracking server {self.uri} failed ({_first_line(exc)})") from None
            path = _sqlite_path(self.uri)
            raise BenchmarkError(
                f"tracking store {path} is unusable ({_first_line(exc)}): if it is only out of date run `mlflow db "
                f"upgrade {self.uri}`; otherwise move it away and rerun (or give another --tracking-uri)") from None

    def experiment(self, name: str, about: str = "") -> str:
        """The experiment's id, created with a description (`about`: what it compares, then how to read the
        runs) and, for SQLite stores, a local artifact folder."""
        with store_lock(self.uri):  # two invocations starting together must not both create it
            found = self.client.get_experiment_by_name(name)
            if found is not None:
                if found.lifecycle_stage == "deleted":
                    raise BenchmarkError(f"experiment '{name}' is deleted in {self.uri}; restore it or use "
                                         "--experiment")
                return found.experiment_id
            db = _sqlite_path(self.uri)
            artifact_location = (db.parent / "mlartifacts").as_uri() if db is not None else None
            try:
                return self.client.create_experiment(name, artifact_location=artifact_location,
                                                     tags={NOTE: f"{about} {EXPERIMENT_GUIDE}".strip()})
            except Exception:
                # create-or-get: on a server the lock above is this host's only, and another client may have
                # created it between our look and our create (MLflow's RESOURCE_ALREADY_EXISTS)
                found = self.client.get_experiment_by_name(name)
                if found is None:
                    raise
                return found.experiment_id

    def find_experiment(self, name: str | None = None) -> str | None:
        """An existing experiment's id by name, or the most recently updated benchmark experiment (None if none)."""
        if name:
            found = self.client.get_experiment_by_name(name)
            return None if found is None else found.experiment_id
        found = self.client.search_experiments(filter_string=f"name LIKE '{EXPERIMENT_PREFIX}/%'",
                                               order_by=["last_update_time DESC"], max_results=1)
        return found[0].experiment_id if found else None

    def answers(self, timeout: float = 10.0) -> bool:
        """Whether the store responds now (a server's /health; a SQLite file is always there)."""
        if not is_remote(self.uri):
            return True
        try:
            urllib.request.urlopen(self.uri.rstrip("/") + "/health", timeout=timeout).read()
            return True
        except (urllib.error.URLError, OSError, ValueError):
            return False

    # ------------------------------------------------------------ run lifecycle

    def start_parent(self, experiment_id: str, name: str, config_hash: str, sweep_id: str, command: str,
                     environment: Mapping[str, str], params: Mapping[str, object], config_json: str) -> str:
        """The invocation's parent run, with its params and the resolved config as `config.json`."""
        tags = {RUN_TYPE: PARENT, CONFIG_HASH: config_hash, COMMAND: command, SWEEP_ID: sweep_id,
                OWNER: this_owner(), HEARTBEAT: str(time.time()), **environment}
        run_id = self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id
        self.log_params(run_id, params)
        self.log_text(run_id, "config.json", config_json)
        return run_id

    def claim_trial(self, experiment_id: str, parent_run_id: str, name: str, *, model: str, seed: int | None,
                    config_hash: str, model_hash: str, sweep_id: str, description: str,
                    environment: Mapping[str, str], force: bool = False) -> str | None:
        """A trial's run, RUNNING and owned by this process, unless the trial is already FINISHED or RUNNING in a
        live process (another invocation of the same configuration; `force` retrains a finished one): then None,
        and nothing is created. On a SQLite store the check and the creation happen under the store's lock, so
        two invocations never train the same trial; through a server the window between them is one request."""
        key = f"{model}|{seed_text(seed)}|{model_hash}"
        with store_lock(self.uri):
            query = f"{_tag(CONFIG_HASH, config_hash)} AND {_tag(TRIAL_KEY, key)}"
            for run in self._search(experiment_id, query):
                if (run.status == FINISHED and not force) or (run.status == RUNNING and owner_alive(run.tags)):
                    return None
            tags = {PARENT_RUN_ID: parent_run_id, RUN_TYPE: TRIAL, SWEEP_ID: sweep_id, CONFIG_HASH: config_hash,
                    MODEL_HASH: model_hash, TRIAL_KEY: key, NOTE: description, OWNER: this_owner(),
                    HEARTBEAT: str(time.time()), **environment}
            return self.client.create_run(experiment_id, run_name=name, tags=tags).info.run_id

    @contextlib.contextmanager
    def heartbeat(self, run_id: str, every: float = HEARTBEAT_EVERY):
        """Refresh the run's heartbeat while the block runs, so other hosts can tell it is alive."""
        stop = threading.Event()

        def beat() -> None:
            while not stop.wait(every):
                with contextlib.suppress(Exception):  # a missed beat is not worth failing a trial for
                    self.client.set_tag(run_id, HEARTBEAT, str(time.time()))

        thread = threading.Thread(target=beat, name="heartbeat", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()

    def log_params(self, run_id: str, params: Mapping[str, object]) -> None:
        from mlflow.entities import Param

        self.client.log_batch(run_id, params=[Param(k, str(v)) for k, v in params.items()])

    def log_data_inputs(self, run_id: str, inputs: Iterable[DataInput]) -> None:
        import json

        from mlflow.entities import Dataset, DatasetInput, InputTag

        datasets = [DatasetInput(Dataset(d.name, d.digest, "local", json.dumps({"uri": d.source}),
                                         profile=json.dumps(d.profile)), [InputTag("mlflow.data.context", d.context)])
                    for d in inputs]
        for attempt in range(3):  # workers logging the same dataset at once race on its first insert: retry
            try:
                self.client.log_inputs(run_id, datasets=datasets)
                return
            except Exception as exc:  # noqa: BLE001 - MlflowException or the store's IntegrityError
                if "UNIQUE constraint" not in str(exc) or attempt == 2:
                    raise
                time.sleep(0.2 * (attempt + 1))

    def log_metrics(self, run_id: str, summary: Mapping[str, float],
                    curves: Mapping[str, Iterable[float]] | None = None) -> None:
        """Summary metrics (step 0) and per-epoch curves (step = epoch, from 1), batched."""
        from mlflow.entities import Metric

        entries = [Metric(k, float(v), 0, 0) for k, v in summary.items()]
        for key, values in (curves or {}).items():
            entries += [Metric(key, float(v), 0, epoch) for epoch, v in enumerate(values, start=1)]
        for start in range(0, len(entries), MAX_BATCH):
            self.client.log_batch(run_id, metrics=entries[start:start + MAX_BATCH])

    def log_files(self, run_id: str, writers: Mapping[str, Callable[[Path], None]],
                  artifact_path: str | None = None) -> None:
        """Artifacts written by `writers` (file name -> function writing that file)."""
        with self._artifacts(), tempfile.TemporaryDirectory() as tmp:
            for name, write in writers.items():
                write(Path(tmp) / name)
            self.client.log_artifacts(run_id, tmp, artifact_path)

    @contextlib.contextmanager
    def _artifacts(self):
        """A full disk or a read-only artifact folder while logging artifacts is one line naming the store."""
        try:
            yield
        except OSError as exc:
            problem = environment_error(exc)
            if problem is None:
                raise
            raise BenchmarkError(f"cannot log artifacts to the tracking store {self.uri}: {problem}") from None

    def log_text(self, run_id: str, name: str, text: str) -> None:
        self.log_files(run_id, {name: lambda path: path.write_text(text)})

    def log_existing(self, run_id: str, paths: Iterable[Path], artifact_path: str) -> None:
        with self._artifacts():
            for path in paths:
                self.client.log_artifact(run_id, str(path), artifact_path)

    def set_stage(self, run_id: str, stage: str) -> None:
        self.client.set_tag(run_id, STAGE, stage)

    def finish(self, run_id: str) -> None:
        self.client.set_terminated(run_id, FINISHED)

    def fail(self, run_id: str, reason: str) -> None:
        self._end(run_id, FAILED, reason)

    def kill(self, run_id: str, reason: str) -> None:
        self._end(run_id, KILLED, reason)

    def _end(self, run_id: str, status: str, reason: str | None) -> None:
        if reason is not None:
            self.client.set_tag(run_id, FAILURE_REASON, reason)
        self.client.set_terminated(run_id, status)

    def end_parent(self, run_id: str, status: str) -> None:
        self.client.set_terminated(run_id, status)

    def mark_stale(self, experiment_id: str, config_hash: str) -> int:
        """Runs left RUNNING by a process that is provably gone (SIGKILL, power loss) are marked KILLED so their
        trials rerun; runs of a live process (another invocation at work) are left alone."""
        stale = [r for r in self.trials(experiment_id, config_hash, RUNNING) if not owner_alive(r.tags)]
        for run in stale:
            self.kill(run.run_id, "stale: its process ended before the trial finished")
        for run in self._search(experiment_id, f"{_tag(RUN_TYPE, PARENT)} AND {_tag(CONFIG_HASH, config_hash)} "
                                               f"AND attributes.status = '{RUNNING}'"):
            if not owner_alive(run.tags):
                self.end_parent(run.run_id, KILLED)  # the dead invocation itself
        return len(stale)

    def running_elsewhere(self, experiment_id: str, config_hash: str) -> set[tuple]:
        """(model, seed, model hash) of trials RUNNING in a live process: another invocation is training them."""
        return {tuple(r.tags.get(TRIAL_KEY, "||").split("|")) for r in self.trials(experiment_id, config_hash,
                                                                                     RUNNING)
                if owner_alive(r.tags)}

    def close_unfinished(self, experiment_id: str, parent_run_id: str, status: str, reason: str) -> None:
        """Trial runs of this invocation still RUNNING (interrupted, or their worker died) get a final status."""
        for run in self._search(experiment_id, f"{_tag(PARENT_RUN_ID, parent_run_id)} AND "
                                               f"attributes.status = '{RUNNING}'"):
            self._end(run.run_id, status, reason)

    # ------------------------------------------------------------ queries

    def _search(self, experiment_id: str, query: str, order_by: list[str] | None = None,
                max_results: int | None = None) -> list[StoredRun]:
        runs, token = [], None
        while True:
            page = self.client.search_runs([experiment_id], query, order_by=order_by,
                                           max_results=min(max_results or 1000, 1000), page_token=token)
            runs += [_stored(r) for r in page]
            token = page.token
            if not token or (max_results and len(runs) >= max_results):
                return runs[:max_results] if max_results else runs

    def trials(self, experiment_id: str, config_hash: str, status: str | None = None) -> list[StoredRun]:
        """All trial runs of one configuration, optionally only those with the given status."""
        query = f"{_tag(RUN_TYPE, TRIAL)} AND {_tag(CONFIG_HASH, config_hash)}"
        if status:
            query += f" AND attributes.status = '{status}'"
        return self._search(experiment_id, query)

    def finished_keys(self, experiment_id: str, config_hash: str) -> set[tuple]:
        """(model, seed, model hash) of every finished trial of a configuration: what a rerun skips."""
        return {run.key for run in self.trials(experiment_id, config_hash, FINISHED)}

    def running_trials(self, experiment_id: str, parent_run_id: str, model: str, seed: int | None,
                       max_results: int = 100) -> list[StoredRun]:
        """This invocation's runs of one trial that are still RUNNING."""
        query = (f"{_tag(PARENT_RUN_ID, parent_run_id)} AND params.model = {_literal(model)} AND "
                 f"params.seed = {_literal(seed_text(seed))} AND attributes.status = '{RUNNING}'")
        return self._search(experiment_id, query, max_results=max_results)

    def latest_parent(self, experiment_id: str, config_hash: str | None = None) -> StoredRun:
        query = _tag(RUN_TYPE, PARENT) + (f" AND {_tag(CONFIG_HASH, config_hash)}" if config_hash else "")
        runs = self._search(experiment_id, query, order_by=["attributes.start_time DESC"], max_results=1)
        if not runs:
            raise BenchmarkError(f"no benchmark runs{' with config ' + config_hash if config_hash else ''} "
                                 f"in experiment {experiment_id} of {self.uri}")
        return runs[0]

    def panel(self, experiment_id: str, parent: StoredRun) -> list[tuple[str, StoredRun]]:
        """(experiment id, latest parent) of every dataset the parent's invocation covered, in the order they ran:
        the parents tagged with the same invocation id, in any benchmark experiment or this one (a `--dataset
        prices` run writes one experiment per series, or all into one with `--experiment`); for stores from before
        the id, the latest parents that ran the same command. Just this one when neither is searchable."""
        invocation, command = parent.tags.get(INVOCATION, ""), parent.tags.get(COMMAND, "")
        try:
            query = _tag(RUN_TYPE, PARENT) + (f" AND {_tag(INVOCATION, invocation)}" if invocation else
                                              f" AND {_tag(COMMAND, command)}" if command else "")
        except BenchmarkError:  # a command with both kinds of quote
            return [(experiment_id, parent)]
        if not (invocation or command):
            return [(experiment_id, parent)]
        experiments = dict.fromkeys([experiment_id, *(e.experiment_id for e in self.client.search_experiments(
            filter_string=f"name LIKE '{EXPERIMENT_PREFIX}/%'"))])
        latest: dict[tuple[str, str], StoredRun] = {}
        for experiment in experiments:
            for run in self._search(experiment, query, order_by=["attributes.start_time DESC"]):
                if not invocation and run.run_id != parent.run_id and self._search(
                        experiment, _tag(RUN_TYPE, PARENT), order_by=["attributes.start_time DESC"],
                        max_results=1)[0].run_id != run.run_id:
                    continue  # by command: only a dataset whose latest run this was
                latest.setdefault((experiment, run.params.get("dataset", "")), run)
        found = sorted(latest.items(), key=lambda item: item[1].start_time)
        if len(found) < 2:
            return [(experiment_id, parent)]
        return [(experiment, run) for (experiment, _), run in found]

    def first_parent(self, experiment_id: str, config_hash: str) -> StoredRun | None:
        """The configuration's first invocation (what it declared holds for every later one)."""
        runs = self._search(experiment_id, f"{_tag(RUN_TYPE, PARENT)} AND {_tag(CONFIG_HASH, config_hash)}",
                            order_by=["attributes.start_time ASC"], max_results=1)
        return runs[0] if runs else None

    def sweep_hashes(self, experiment_id: str, parent: StoredRun) -> list[str]:
        """The config hashes of every grid point of the parent's sweep (just its own outside sweeps)."""
        sweep_id = parent.tags.get(SWEEP_ID)
        if not sweep_id:
            return [parent.config_hash]
        runs = self._search(experiment_id, f"{_tag(RUN_TYPE, PARENT)} AND {_tag(SWEEP_ID, sweep_id)}",
                            order_by=["attributes.start_time ASC"])
        return list(dict.fromkeys(r.config_hash for r in runs))

    def predictions(self, run_id: str):
        """A finished trial's scored test points (its `predictions.csv`) as a DataFrame."""
        import pandas as pd

        with tempfile.TemporaryDirectory() as tmp:
            return pd.read_csv(self.client.download_artifacts(run_id, PREDICTIONS, dst_path=tmp))

    def metric_history(self, run_id: str, key: str) -> list[tuple[int, float]]:
        """(step, value) of a per-epoch metric, in step order."""
        return sorted((m.step, m.value) for m in self.client.get_metric_history(run_id, key))

    def has_artifact(self, run_id: str, name: str) -> bool:
        return any(f.path == name for f in self.client.list_artifacts(run_id))


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__


def _tag(name: str, value: str) -> str:
    """A filter on a tag's value."""
    return f"tags.{name} = {_literal(value)}"


def _literal(value: str) -> str:
    """A string constant for an MLflow filter, the one escaping rule for every value that reaches one: MLflow's
    parser has no escape inside quotes, so a value is wrapped in the quote it does not contain."""
    value = str(value)
    if "'" not in value:
        return f"'{value}'"
    if '"' not in value:
        return f'"{value}"'
    raise BenchmarkError(f"cannot search the tracking store for {value!r}: MLflow filters cannot hold a value with "
                         "both kinds of quote; rename it")
