"""One measured child process: `python -m benchmark.perf.child --job JOB.json --result RESULT.json`.

The parent writes the job (a JSON object: "probe" plus that probe's arguments) and reads the result the child
writes; stdout and stderr carry only logs. Every measurement runs in its own fresh process, so each pays its
own imports and start-up, as a user's run does.
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

STARTED = time.perf_counter()  # before the measured code's imports: TensorFlow's import is part of a run


def run(job: dict):
    """The job's measurement: "grid" (one variant's run), "default" (the default run), "panel" (a panel's local
    or global run), "floor" (the arithmetic floor), "scaling" or "unroll"."""
    from benchmark.perf import measure

    probe = job["probe"]
    if probe == "grid":
        return measure.grid(job["variant"], job["csv"], job["models"], job["seeds"], job["epochs"], job["jobs"],
                            started=STARTED, backend=job.get("backend", "tensorflow"),
                            speed=job.get("speed", "default"))
    if probe == "default":
        return measure.default_run(job, started=STARTED)
    if probe == "panel":
        return measure.panel_run(job, started=STARTED)
    if probe == "floor":
        return measure.floor_probe(job["models"], job["windows"])
    if probe == "scaling":
        rows = measure.scaling([tuple(case) for case in job["cases"]], job["epochs"])
        rows += measure.panel_scaling(job.get("panel", []), job["epochs"])
        return rows + measure.seed_scaling(job.get("csv"), job.get("seeds", 0), job["epochs"])
    if probe == "unroll":
        return measure.unroll_probe(job["csv"], job["models"], job["epochs"], tuple(job.get("kernel_models", ())))
    raise ValueError(f"unknown probe {probe!r}")


def main(argv: list[str] | None = None) -> None:
    from benchmark.files import atomic_write

    parser = argparse.ArgumentParser(prog="python -m benchmark.perf.child")
    parser.add_argument("--job", required=True, type=Path, help="the job description (JSON) the parent wrote")
    parser.add_argument("--result", required=True, type=Path, help="where to write the result (JSON)")
    args = parser.parse_args(argv)
    text = json.dumps(run(json.loads(args.job.read_text())), allow_nan=False)
    atomic_write(args.result, lambda p: p.write_text(text))


if __name__ == "__main__":
    main()
