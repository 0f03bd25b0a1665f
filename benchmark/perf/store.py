"""Raw measurements as JSON (asv style: measure -> store -> render), so a report re-renders without re-measuring.

The file (`perf.json` next to the report) holds, with every duration in seconds and memory in MB:

    {"format": 1, "date": ISO time, "command": the harness's command line,
     "machine": {"cores", "cpu", "system", "memory_gb", "python"},
     "config": the PerfConfig (settings.py) as a dict,
     "grids": {"full": [measurement, ...], "short": [measurement, ...]},  # in run order (interleaved repeats)
     "scaling": [{"windows", "window", "epoch_seconds": [...]}, ...],
     "unroll": [{"model", "unroll", "epoch_seconds": [...]}, ...],
     "backends": {backend: [trial, ...] or why not measured ("not installed", "failed: ...")},
     "default": [measurement, ...],  # the default run (`run --models all`) once per suite backend, in run order
     "quantiles": [measurement, ...],  # the default run without and with --quantiles, interleaved pairs
     "panel": [measurement, ...],  # the panel's local run and its --training global run, interleaved pairs
     "floor": {"matmul_gflops", "flops_per_window": {model: FLOPs}, "windows"},  # the arithmetic floor
     "sittings": [{"date", "commit", "first", "count"}, ...]}  # more than one: an interrupted run, resumed (Journal)

    measurement = {"variant", "wall", "peak_rss_mb", "worker_peak_rss_mb", "trials": [trial, ...]}
    trial = {"model", "seed", "wall", "fit", "epoch_seconds": [...]}

Only raw timings are stored; medians, ratios and verdicts are computed when rendering.

While a harness run measures, every finished child process's result is journaled beside the report
(`perf.journal.json`, `Journal`), so the same command rerun after an interruption resumes where it stopped.
"""

from __future__ import annotations

import json
import os
import platform
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmark.errors import BenchmarkError
from benchmark.files import atomic_write, git_commit
from benchmark.perf.settings import EMPTY_STORE_ENV, PerfConfig

FORMAT = 1


@dataclass(frozen=True)
class Trial:
    """One (model, seed): its wall time, its time inside `fit` and each epoch's seconds (the first traces)."""

    model: str
    seed: int
    wall: float
    fit: float
    epoch_seconds: tuple[float, ...]

    @classmethod
    def from_dict(cls, d: dict) -> Trial:
        return cls(d["model"], d["seed"], d["wall"], d["fit"], tuple(d["epoch_seconds"]))


@dataclass(frozen=True)
class Measurement:
    """One variant's run of a grid in a fresh process: wall time, trials and peak memory."""

    variant: str
    wall: float
    trials: tuple[Trial, ...]
    peak_rss_mb: float = 0.0  # the variant's main process
    worker_peak_rss_mb: float = 0.0  # its largest child process (pool workers), 0 without any

    @classmethod
    def from_dict(cls, d: dict) -> Measurement:
        return cls(d["variant"], d["wall"], tuple(Trial.from_dict(t) for t in d["trials"]), d["peak_rss_mb"],
                   d["worker_peak_rss_mb"])


@dataclass(frozen=True)
class Record:
    """Everything one harness run measured, and where and how."""

    command: str
    machine: dict
    config: PerfConfig
    full: tuple[Measurement, ...]
    short: tuple[Measurement, ...]
    scaling: tuple[dict, ...] = ()
    unroll: tuple[dict, ...] = ()
    backends: dict = field(default_factory=dict)  # backend -> tuple[Trial, ...] or why it was not measured
    date: str = ""
    default: tuple[Measurement, ...] = ()  # variant "default BACKEND": the default run as a user runs it
    # Interleaved pairs of the TensorFlow default run without and with --quantiles (variants "default tensorflow"
    # and "default tensorflow --quantiles"); the first pair's reference is `default`'s TensorFlow run.
    quantiles: tuple[Measurement, ...] = ()
    # Interleaved pairs of the panel run (variants "panel local", then "panel global": `--training global`).
    panel: tuple[Measurement, ...] = ()
    # The arithmetic floor: {"matmul_gflops": one core's rate, "flops_per_window": {model: FLOPs}, "windows": n}
    floor: dict = field(default_factory=dict)
    # One entry per sitting of the command (an interrupted run resumed): its start, the source commit, the first
    # child process it ran (0-based, in run order) and how many it ran; one sitting when nothing was interrupted.
    sittings: tuple[dict, ...] = ()

    def to_dict(self) -> dict:
        backends = {b: r if isinstance(r, str) else [asdict(t) for t in r] for b, r in self.backends.items()}
        return {"format": FORMAT, "date": self.date, "command": self.command, "machine": self.machine,
                "config": self.config.to_dict(),
                "grids": {"full": [asdict(m) for m in self.full], "short": [asdict(m) for m in self.short]},
                "scaling": list(self.scaling), "unroll": list(self.unroll), "backends": backends,
                "default": [asdict(m) for m in self.default], "quantiles": [asdict(m) for m in self.quantiles],
                "panel": [asdict(m) for m in self.panel], "floor": self.floor, "sittings": list(self.sittings)}

    @classmethod
    def from_dict(cls, d: dict) -> Record:
        if d.get("format") != FORMAT:
            raise ValueError(f"unknown perf results format {d.get('format')!r} (expected {FORMAT})")
        backends = {b: r if isinstance(r, str) else tuple(Trial.from_dict(t) for t in r)
                    for b, r in d["backends"].items()}
        return cls(d["command"], d["machine"], PerfConfig.from_dict(d["config"]),
                   tuple(Measurement.from_dict(m) for m in d["grids"]["full"]),
                   tuple(Measurement.from_dict(m) for m in d["grids"]["short"]),
                   tuple(d["scaling"]), tuple(d["unroll"]), backends, d["date"],
                   tuple(Measurement.from_dict(m) for m in d.get("default", [])),
                   tuple(Measurement.from_dict(m) for m in d.get("quantiles", [])),
                   tuple(Measurement.from_dict(m) for m in d.get("panel", [])), d.get("floor", {}),
                   tuple(d.get("sittings", [])))


def machine() -> dict:
    """The facts about this machine that the report states (and the memory goal uses)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(), "system": platform.system(),
            "memory_gb": memory, "python": platform.python_version(),
            **({"empty_store_copied": True} if os.environ.get(EMPTY_STORE_ENV) else {})}


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


_FLAT_LIST = re.compile(r"\[([^\[\]{}]*)\]")


def dumps(record: Record) -> str:
    """Indented JSON with each list of plain values on one line (a trial's epochs stay one line in a diff)."""
    # Strict JSON (no NaN): only raw seconds are stored, so there is nothing undefined to write.
    text = json.dumps(record.to_dict(), indent=1, allow_nan=False)
    flat = _FLAT_LIST.sub(lambda m: "[" + " ".join(m.group(1).split()) + "]" if "\n" in m.group(1) else m.group(0),
                          text)
    # the plain form if flattening ever changed a value (a string in a list, say)
    return (flat if json.loads(flat) == json.loads(text) else text) + "\n"


def loads(text: str) -> Record:
    return Record.from_dict(json.loads(text))


def save(record: Record, path: Path) -> None:
    text = dumps(record)
    atomic_write(Path(path), lambda p: p.write_text(text))


def load(path: Path) -> Record:
    return loads(Path(path).read_text())


def json_path(report: Path) -> Path:
    """Where the raw results of a report go: `perf.json` in the report's folder."""
    return Path(report).with_name("perf.json")


def journal_path(report: Path) -> Path:
    """Where an unfinished run's child results wait: `perf.journal.json` in the report's folder."""
    return Path(report).with_name("perf.journal.json")


class Journal:
    """The finished child processes of one harness command, in run order, saved after each one, so that the same
    command rerun after an interruption replays them instead of measuring them again.

    A run asks its children in a fixed order (the configuration decides it), so the n-th child of a rerun is the
    n-th of the interrupted run: its job must match the journaled one exactly (paths inside the run's temporary
    folder aside), or the journal is refused. A journal written under another configuration, command or machine
    is refused by name before anything is measured. Without a path (print-only), nothing is kept.

    A part of the harness (`settings.PARTS`: a grid, a probe, the default run...) compares its children's timings
    with each other, and two sittings may run on hosts of different speed: so only the children of finished parts
    are replayed, and those of the part an interruption cut short are measured again, with the rest of that part,
    in the next sitting. Every ratio of a report compares timings from one sitting.
    """

    FOLDER = "<folder>"  # the run's temporary folder inside jobs, which differs between sittings

    def __init__(self, path: Path | None, header: dict):
        self.path = Path(path) if path is not None else None
        self.header = json.loads(json.dumps(header))  # as stored (tuples as lists), to compare with a stored one
        self.entries: list[dict] = []
        self.sittings: list[dict] = []
        self.parts: list[dict] = []  # the finished parts, in run order: {"name", "end"} (entries up to `end`)
        self.dropped = 0  # children of an unfinished part, measured again in this sitting
        if self.path is not None and self.path.is_file():
            try:
                stored = json.loads(self.path.read_text())
                differs = [k for k in self.header if stored["header"].get(k) != self.header[k]]
                entries, sittings = list(stored["entries"]), list(stored["sittings"])
                parts = [{"name": str(p["name"]), "end": int(p["end"])} for p in stored.get("parts", [])]
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                raise BenchmarkError(f"{self.path} is not a harness journal ({exc}); delete it to start "
                                     "over") from None
            if differs:
                raise BenchmarkError(f"{self.path} holds an unfinished run with another {', '.join(differs)}; "
                                     "rerun that command to finish it, or delete the file to start over")
            kept = parts[-1]["end"] if parts else 0
            self.entries, self.sittings, self.parts = entries[:kept], sittings, parts
            self.dropped = len(entries) - kept
            for sitting in reversed(self.sittings):  # the dropped children count for no sitting
                sitting["count"] = max(0, min(sitting["count"], kept - sitting["first"]))
        self.sittings.append({"date": now(), "commit": git_commit(), "first": len(self.entries), "count": 0,
                              "parts": []})
        self.position = 0

    @staticmethod
    def header_of(record_config: PerfConfig, command: str) -> dict:
        """What a journal must share with the run resuming it."""
        return {"format": FORMAT, "command": command, "config": record_config.to_dict(), "machine": machine()}

    @property
    def resumed(self) -> int:
        """How many children the interrupted sittings had finished."""
        return self.sittings[-1]["first"]

    def replay(self, key: dict) -> dict | None:
        """The journaled result of the next child if it ran already (its key must match), else None."""
        if self.position >= len(self.entries):
            return None
        entry = self.entries[self.position]
        if entry["key"] != key:
            raise BenchmarkError(f"{self.path}: child {self.position + 1} was {entry['key'].get('what')!r}, this "
                                 f"run asks {key.get('what')!r}; delete the file to start over")
        self.position += 1
        return entry["result"]

    def record(self, key: dict, result) -> None:
        """A finished child: kept, and saved at once."""
        self.entries.append({"key": key, "result": result})
        self.position += 1
        self.sittings[-1]["count"] += 1
        self._save()

    def finished_part(self, name: str) -> None:
        """Every child of part `name` has run (or was replayed): from now on they are replayed, never measured again;
        the sitting that measured them names the part."""
        if any(p["name"] == name for p in self.parts):
            return  # finished in an earlier sitting, replayed in this one
        start = self.parts[-1]["end"] if self.parts else 0
        if self.position > start and start >= self.sittings[-1]["first"]:
            self.sittings[-1]["parts"].append(name)
        self.parts.append({"name": name, "end": self.position})
        self._save()

    def _save(self) -> None:
        if self.path is not None:
            text = json.dumps({"header": self.header, "sittings": self.sittings, "parts": self.parts,
                               "entries": self.entries}, allow_nan=False)
            atomic_write(self.path, lambda p: p.write_text(text))

    def key(self, job: dict, folder: Path, what: str, env: dict) -> dict:
        """What identifies a child across sittings: its job with the temporary folder replaced, its name and its
        environment overrides."""
        text = json.dumps(job, sort_keys=True).replace(json.dumps(str(folder))[1:-1], self.FOLDER)
        return {"what": what, "job": json.loads(text), "env": dict(sorted(env.items()))}

    def finish(self) -> None:
        """The run is complete and its record written: the journal goes."""
        if self.path is not None:
            self.path.unlink(missing_ok=True)
