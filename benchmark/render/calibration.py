"""CALIBRATION.md from the measured error rates of the verdict engine (computed by
`benchmark.execution.calibration`): numbers in, markdown out."""

from __future__ import annotations

from benchmark.analysis.comparison import LOSS_OF_METRIC


def render_calibration(rates: list, command: str, designs: list, processes: list, boundary=None) -> str:
    """CALIBRATION.md: measured false-positive rates where persistence is optimal, power where it is not.

    `rates`, `designs`, `processes` and `boundary` are the typed outcome of `benchmark.execution.calibration`
    (passed in: rendering never imports what runs trials)."""
    from tabulate import tabulate

    def rows(null: bool) -> list[list[str]]:
        out = []
        for r in rates:
            if r.persistence_optimal != null:
                continue
            low, high = r.interval
            out.append([r.process, r.row, r.replications, r.significant, f"{100 * r.rate:.1f}%",
                        f"[{100 * low:.1f}%, {100 * high:.1f}%]"])
        return out

    header = ["process", "row (any row: the family)", "R", "significant", "rate", "95% interval (exact)"]
    first = designs[0].config
    lines = [
        "# Calibration: the verdict engine's measured error rates", "",
        f"Made by `{command}`. Every realization is an independent simulated series of {designs[0].length} points; "
        f"each goes through the same pipeline (lookback {first.lookback}, validation {first.val_size}, test "
        f"{first.test_size} points, `{first.scaler}` scaling), the same trials and the same verdict code as a real "
        f"run: {family_text_for(first)}. A row counts as significant when its Holm-adjusted p is below "
        f"{first.alpha:g}; 'any row' counts realizations where at least one row of the family was (the "
        "family-wise rate, what Holm controls).", "",
        "Passes (each its own declared family):", "",
    ]
    lines += [f"- R = {d.replications}: {', '.join(d.models)}"
              + (f" ({len(d.config.seeds)} seeds, at most {d.config.epochs} epochs, early stopping)"
                 if any(m not in ('naive', 'drift', 'linear') for m in d.models) else "") for d in designs]
    lines += ["", "## False-positive rate where persistence is the optimal forecast", "",
              "Every significant verdict here is wrong. The engine is calibrated when the family's rate is at or "
              f"below {first.alpha:g} within its interval.", "",
              tabulate(rows(True), headers=header, tablefmt="github", disable_numparse=True), "",
              "## Power where a learnable signal exists", "",
              "Here a significant verdict is right; the rate is the chance of detecting the signal.", "",
              tabulate(rows(False), headers=header, tablefmt="github", disable_numparse=True), ""]
    if boundary is not None:
        low, high = boundary.interval
        lines += ["## The test at the boundary of its null", "",
                  "The learners above are worse than persistence on a random walk, so their rates sit below α by "
                  "construction. Where the null holds with equality — every seed's errors drawn from exactly the "
                  f"reference's distribution ({boundary.seeds} correlated seeds, {boundary.points} points) — the "
                  f"one-sided seed-averaged test rejected in {boundary.significant} of {boundary.replications} draws: "
                  f"{100 * boundary.rate:.1f}% [{100 * low:.1f}%, {100 * high:.1f}%] at α = {boundary.alpha:g} "
                  "(uncorrected: one test).", ""]
    lines += ["## Processes", ""]
    lines += [f"- `{p.name}`{' (persistence optimal)' if p.persistence_optimal else ''}: {p.description}"
              for p in processes]
    return "\n".join(lines) + "\n"


def family_text_for(config) -> str:
    return (f"one-sided Diebold–Mariano/HLN on {LOSS_OF_METRIC[config.metric]} error against persistence for every "
            f"other row, Holm-adjusted at α = {config.alpha:g}")
