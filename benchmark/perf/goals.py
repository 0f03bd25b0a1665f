"""The performance targets, defined once as data: the report's targets table is generated from `GOALS`."""

from __future__ import annotations

from dataclasses import dataclass

from benchmark.execution.runner import WORKER_MEMORY


@dataclass(frozen=True)
class Goal:
    """One target: `quantity` (computed by `render.quantities`) compared against `limit` in `direction`."""

    description: str  # the row's label; {grid} and {best_jobs} are filled in from the run
    quantity: str
    limit: float | str  # a number, or the name of a machine fact stored with the run (e.g. its memory)
    unit: str = ""
    direction: str = "at most"  # or "at least"
    digits: int = 3  # decimals of the measured value
    per_repeat: bool = True  # one value per repeat, shown as median (min–max); else the one largest value

    def bound(self, machine: dict) -> float:
        return float(machine[self.limit] if isinstance(self.limit, str) else self.limit)

    def met(self, value: float, machine: dict) -> bool:
        bound = self.bound(machine)
        return value <= bound if self.direction == "at most" else value >= bound


GOALS: tuple[Goal, ...] = (
    Goal("suite `--jobs 1` wall per trial / plain reference (short grid)", "per_trial_ratio", 1.05),
    Goal("{grid}, suite `--jobs {best_jobs}` / plain sequential", "grid_ratio", 0.67),
    Goal("{grid}, fastest suite setting ({fastest}) / plain sequential", "fastest_grid_ratio", 0.40),
    # What `--jobs auto` budgets per worker, so meeting it means the memory cap never starves a worker.
    Goal("default run with `--quantiles` / without (TensorFlow, interleaved pairs)", "quantile_ratio", 1.10),
    Goal("peak RSS per worker", "worker_rss_mb", WORKER_MEMORY / 2**20, unit="MB", digits=0, per_repeat=False),
    Goal("whole run at `--jobs {best_jobs}`: main + workers", "run_gb", "memory_gb", unit="GB", digits=1,
         per_repeat=False),
)
