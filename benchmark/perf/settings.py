"""What the harness measures: the grids, the probes and their sizes (the full run and the quick CI version)."""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field

MODELS = ("mlp", "rnn", "lstm", "gru")
# What a harness run measures (`perf --only`): the grids, the probes and the default run.
PARTS = ("full", "short", "scaling", "unroll", "backends", "default", "panel", "floor")
TUTORIAL_TEST = 60  # the classic protocol: test = final 60 days, window 60
LOOKBACK = 60
# Names a migrated empty MLflow store each run probe copies instead of creating its own (the test suite sets it for
# the quick form; the report then says the run walls leave out creating the store).
EMPTY_STORE_ENV = "BENCHMARK_PERF_EMPTY_STORE"


@dataclass(frozen=True)
class Grid:
    """One measured grid: its trials, and how many interleaved repeats of its variants."""

    seeds: tuple[int, ...]
    epochs: int
    repeats: int

    def describe(self, models: tuple[str, ...]) -> str:
        seeds = f"{len(self.seeds)} seed{'s' if len(self.seeds) > 1 else ''}"
        return f"{len(models)} models × {seeds} × {self.epochs} epochs"

    def title(self, models: tuple[str, ...]) -> str:
        classic = len(models) == len(MODELS) and len(self.seeds) == 5 and self.epochs == 50
        return f"{'full classic' if classic else 'throughput'} grid ({self.describe(models)})"


@dataclass(frozen=True)
class PerfConfig:
    points: int = 2820  # the msft tail: 2,700 training windows of 60 steps, as in the classic tutorial
    models: tuple[str, ...] = MODELS
    # The throughput target's grid: the full classic grid, plain sequential against the suite's best setting.
    full: Grid | None = Grid(seeds=(0, 1, 2, 3, 4), epochs=50, repeats=2)
    # Per-trial overhead, memory and --jobs 1 against --jobs N: a short grid, repeated more often.
    short: Grid = Grid(seeds=(0, 1), epochs=5, repeats=3)
    best_jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    # Scaling note: LSTM epoch cost against training windows (at window 60) and window length (at 2,000 windows).
    scaling_windows: tuple[int, ...] = (1000, 2000, 4000)
    scaling_lookbacks: tuple[int, ...] = (30, 60, 120)
    scaling_epochs: int = 3  # the median of epochs 2 and 3
    # ...and against the series of a global network's panel: the first 1, 2, ... of these bundled series, each
    # re-split at the panel's cut-off as `--training global` does (default preset), its training windows stacked
    scaling_panel: tuple[str, ...] = ("msft", "nasdaq", "sp500", "vix", "wti")
    scaling_seeds: int = 4  # the suite's LSTM trained for seeds 0, 1, ... one after the other in one process
    probe_epochs: int = 4  # epochs of the unroll and backend probes (the median of epochs 2..n)
    unroll_models: tuple[str, ...] = ("rnn", "lstm", "gru")
    kernel_models: tuple[str, ...] = ("lstm",)  # timed on the fused kernel (`--kernel fused`) beside the loop
    backends: tuple[str, ...] = ("tensorflow", "jax", "torch")  # the plain reference under each Keras backend
    # The suite's `--backend` choices timed on the full grid and the default run (those installed at run time).
    suite_backends: tuple[str, ...] = ("tensorflow", "jax")
    # The default run as a user runs it: `run --models all` (default preset: early stopping, the validation year),
    # 5 seeds on the whole msft series, once per suite backend. None: not measured. Keys: seeds, and optionally
    # models (default all), epochs, test_size, val_size and data ("prices": the harness's short CSV, not msft).
    default_run: dict | None = field(default_factory=lambda: {"seeds": 5})
    # The backends the default run is measured under (None: every suite backend).
    default_backends: tuple[str, ...] | None = None
    # The default run again with these --quantiles (TensorFlow), right after its plain reference, `quantile_repeats`
    # interleaved pairs: the cost of interval forecasts. Empty: not measured.
    default_quantiles: tuple[float, ...] = (0.05, 0.1, 0.5, 0.9, 0.95)
    quantile_repeats: int = 2
    # `--training global` against the same panel's local runs: `run --dataset D --models M --seeds S` (every
    # series' own networks, in one command) and right after it the same with `--training global` (those again,
    # plus one network per architecture and seed trained across the series), `panel_repeats` interleaved pairs,
    # TensorFlow, the best --jobs. Keys: datasets, models, seeds, and optionally epochs, test_size, val_size.
    # None: not measured.
    panel_run: dict | None = field(default_factory=lambda: {"datasets": "prices", "models": "lstm", "seeds": 1})
    panel_repeats: int = 1
    # The full grid and the default run also under `--speed fastest` (each network on its model file's FASTEST).
    speed_variants: bool = True
    parts: tuple[str, ...] = PARTS  # the parts measured (`--only`); the report says "not measured" for the others

    def to_dict(self) -> dict:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, values: dict) -> PerfConfig:
        """The inverse of `to_dict` after a JSON round trip (lists back to tuples)."""
        def grid(g: dict | None) -> Grid | None:
            return None if g is None else Grid(tuple(g["seeds"]), g["epochs"], g["repeats"])

        plain = {k: tuple(v) if isinstance(v, list) else v for k, v in values.items() if k not in ("full", "short")}
        plain.setdefault("suite_backends", ("tensorflow",))  # records from before the backend switch
        plain.setdefault("default_run", None)
        plain.setdefault("default_quantiles", ())  # records from before interval forecasts
        plain.setdefault("quantile_repeats", 0)
        plain.setdefault("kernel_models", ())  # records from before the fused kernel
        plain.setdefault("panel_run", None)  # records from before global training
        plain.setdefault("speed_variants", False)  # records from before --speed fastest
        plain.setdefault("panel_repeats", 0)
        plain.setdefault("scaling_panel", ())  # records from before the panel and seed scaling rows
        plain.setdefault("scaling_seeds", 0)
        plain.setdefault("parts", tuple(p for p in PARTS if p not in ("panel", "floor")))
        return cls(**plain, full=grid(values["full"]), short=grid(values["short"]))

    def variants(self, grid: str) -> dict[str, int]:
        """variant name -> --jobs (0 for the plain reference); the full grid compares plain with the best --jobs
        under each suite backend, the short grid --jobs 1 and the best under TensorFlow."""
        best = {f"suite --jobs {self.best_jobs}": self.best_jobs}
        if grid == "full":
            others = {f"suite {b} --jobs {self.best_jobs}": self.best_jobs for b in self.suite_backends
                      if b != "tensorflow"}
            fastest = {f"suite fastest --jobs {self.best_jobs}": self.best_jobs} if self.speed_variants else {}
            return {"plain": 0, **best, **others, **fastest}
        return {"plain": 0, "suite --jobs 1": 1, **best}

    @staticmethod
    def backend_of(variant: str) -> str:
        """The Keras backend a variant runs ("suite jax --jobs 2" -> jax; plain, unnamed and "suite fastest" ->
        tensorflow, the run's backend: under --speed fastest each network names its own)."""
        parts = variant.split()
        return parts[1] if len(parts) == 4 and parts[1] != "fastest" else "tensorflow"

    @staticmethod
    def speed_of(variant: str) -> str:
        """The `--speed` a variant runs ("suite fastest --jobs 2", "default fastest" -> fastest)."""
        return "fastest" if "fastest" in variant.split() else "default"

    def scaling_cases(self) -> list[tuple[int, int]]:
        """(training windows, window length): the windows at length 60, then the lengths at the middle count."""
        middle = self.scaling_windows[len(self.scaling_windows) // 2]
        cases = [(n, LOOKBACK) for n in self.scaling_windows]
        cases += [(middle, w) for w in self.scaling_lookbacks if w != LOOKBACK]
        return list(dict.fromkeys(cases))


# The quick form runs every variant and probe once, small: two architectures (a feed-forward and a recurrent one).
QUICK = PerfConfig(points=400, models=("mlp", "lstm"), full=Grid(seeds=(0,), epochs=3, repeats=1),
                   short=Grid(seeds=(0,), epochs=2, repeats=1),
                   scaling_windows=(200, 400), scaling_lookbacks=(20, 40), scaling_panel=("vix", "random_walk"),
                   scaling_seeds=2, probe_epochs=2, unroll_models=("rnn",),
                   backends=("tensorflow",), default_backends=("tensorflow",), quantile_repeats=1,
                   default_run={"seeds": 1, "epochs": 2, "test_size": 40, "val_size": 40, "data": "prices",
                                "models": "mlp,lstm"},
                   panel_run={"datasets": "vix,random_walk", "models": "mlp", "seeds": 1, "epochs": 2, "test_size": 40,
                              "val_size": 40})


def parse_parts(text: str | None) -> tuple[str, ...]:
    """`--only default,unroll` -> those parts, in the harness's order; None: every part."""
    from benchmark.errors import BenchmarkError

    if text is None:
        return PARTS
    asked = [p.strip() for p in text.split(",") if p.strip()]
    unknown = [p for p in asked if p not in PARTS]
    if not asked or unknown:
        raise BenchmarkError(f"--only takes a comma list of {', '.join(PARTS)}, got {text!r}")
    return tuple(p for p in PARTS if p in asked)


def configure(quick: bool, repeats: int | None = None, epochs: int | None = None, seeds: int | None = None,
              grid_repeats: int | None = None, only: str | None = None) -> tuple[PerfConfig, str]:
    """The configuration `python -m benchmark perf` asks for, and that command line (for the report)."""
    from benchmark.errors import BenchmarkError

    template = os.environ.get(EMPTY_STORE_ENV)
    if template and not os.path.isfile(template):
        raise BenchmarkError(f"${EMPTY_STORE_ENV} names {template!r}, which is not a file (a migrated empty MLflow "
                             "SQLite store); unset it to let each run create its store")
    config = dataclasses.replace(QUICK if quick else PerfConfig(), parts=parse_parts(only))
    short = {k: v for k, v in {"repeats": repeats, "epochs": epochs}.items() if v}
    if seeds:
        short["seeds"] = tuple(range(seeds))
    changes: dict = {"short": dataclasses.replace(config.short, **short)}
    if grid_repeats is not None:  # 0 skips the full grid
        changes["full"] = dataclasses.replace(config.full, repeats=grid_repeats) if grid_repeats else None
    config = dataclasses.replace(config, **changes)
    flags = {**{k: v if k != "seeds" else len(v) for k, v in short.items()}, "grid-repeats": grid_repeats,
             "only": ",".join(config.parts) if only is not None else None}
    command = "python -m benchmark perf" + (" --quick" if quick else "") + "".join(
        f" --{k} {v}" for k, v in flags.items() if v is not None)
    return config, command
