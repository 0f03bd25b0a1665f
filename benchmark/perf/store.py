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
     "floor": {"matmul_gflops", "flops_per_window": {model: FLOPs}, "windows"}}  # the arithmetic floor

    measurement = {"variant", "wall", "peak_rss_mb", "worker_peak_rss_mb", "trials": [trial, ...]}
    trial = {"model", "seed", "wall", "fit", "epoch_seconds": [...]}

Only raw timings are stored; medians, ratios and verdicts are computed when rendering.
"""

from __future__ import annotations

import json
import os
import platform
import re
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from benchmark.files import atomic_write
from benchmark.perf.settings import PerfConfig

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

    def to_dict(self) -> dict:
        backends = {b: r if isinstance(r, str) else [asdict(t) for t in r] for b, r in self.backends.items()}
        return {"format": FORMAT, "date": self.date, "command": self.command, "machine": self.machine,
                "config": self.config.to_dict(),
                "grids": {"full": [asdict(m) for m in self.full], "short": [asdict(m) for m in self.short]},
                "scaling": list(self.scaling), "unroll": list(self.unroll), "backends": backends,
                "default": [asdict(m) for m in self.default], "quantiles": [asdict(m) for m in self.quantiles],
                "panel": [asdict(m) for m in self.panel], "floor": self.floor}

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
                   tuple(Measurement.from_dict(m) for m in d.get("panel", [])), d.get("floor", {}))


def machine() -> dict:
    """The facts about this machine that the report states (and the memory goal uses)."""
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return {"cores": os.cpu_count(), "cpu": platform.processor() or platform.machine(), "system": platform.system(),
            "memory_gb": memory, "python": platform.python_version()}


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
