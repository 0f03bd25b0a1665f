"""`python -m benchmark perf`: the suite against the classic tutorial's plain Keras loop, side by side.

measure (harness.py runs each variant in a fresh `benchmark.perf.child` process: measure.py) -> store the raw
timings as JSON (store.py) -> render PERFORMANCE.md from the stored data (render.py, goals from goals.py).
Heavy modules are imported inside the functions, so the child processes start from a light package.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

__all__ = ["main", "render_file"]


def main(quick: bool, output: Path | None, repeats: int | None = None, epochs: int | None = None,
         seeds: int | None = None, grid_repeats: int | None = None, only: str | None = None) -> str:
    """Measure, store the raw results beside `output` (perf.json), write the report to `output`; its text.

    With `output` None nothing is written (print only). Each finished measurement is journaled beside `output`
    (perf.journal.json) until the report is written, so rerunning the command after an interruption resumes.
    """
    from benchmark.files import atomic_write
    from benchmark.perf import harness, store
    from benchmark.perf.render import render
    from benchmark.perf.settings import configure

    config, command = configure(quick, repeats, epochs, seeds, grid_repeats, only)
    config = harness.resolved(config)
    # refused before any work if it belongs to another command or machine
    journal = store.Journal(store.journal_path(output) if output is not None else None,
                            store.Journal.header_of(config, command))
    with tempfile.TemporaryDirectory() as tmp:
        record = harness.collect(config, command, Path(tmp), lambda s: print(s, file=sys.stderr, flush=True),
                                 journal)
    text = store.dumps(record)
    # Rendered from the JSON text, not the in-memory record: what is stored is exactly what the report shows.
    report = render(store.loads(text))
    if output is not None:
        output = Path(output)
        atomic_write(store.json_path(output), lambda p: p.write_text(text))
        atomic_write(output, lambda p: p.write_text(report))
    journal.finish()
    return report


def render_file(json_path: str | Path) -> str:
    """The report from a stored `perf.json`, without measuring (no CLI involved)."""
    from benchmark.perf.render import render_file as render_stored

    return render_stored(json_path)
