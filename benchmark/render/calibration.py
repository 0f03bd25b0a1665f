"""CALIBRATION.md from the measured error rates of the verdict engine (computed by
`benchmark.execution.calibration`): numbers in, markdown out."""

from __future__ import annotations

from benchmark.analysis.comparison import LOSS_OF_METRIC


def render_calibration(rates: list, command: str, designs: list, processes: list, boundary=None,
                       procedures: list | None = None, intervals: list | None = None) -> str:
    """CALIBRATION.md: measured false-positive rates where persistence is optimal, power where it is not.

    `rates`, `designs`, `processes` and `boundary` are the typed outcome of `benchmark.execution.calibration`
    (passed in: rendering never imports what runs trials)."""
    from tabulate import tabulate

    def rows(null: bool) -> list[list[str]]:
        out = []
        for r in rates:
            if r.persistence_optimal != null:
                continue
            out.append([r.process, r.row, *rate_cells(r)])
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
    lines += procedure_lines(procedures or [])
    lines += interval_lines(intervals or [])
    lines += ["## Processes", ""]
    lines += [f"- `{p.name}`{' (persistence optimal)' if p.persistence_optimal else ''}: {p.description}"
              for p in processes]
    return "\n".join(lines) + "\n"


def rate_cells(share) -> list:
    """R, yes, rate and its exact 95% interval: the cells every measured rate shows."""
    low, high = share.interval
    return [share.replications, share.significant, f"{100 * share.rate:.1f}%",
            f"[{100 * low:.1f}%, {100 * high:.1f}%]"]


def family_text_for(config) -> str:
    return (f"one-sided Diebold–Mariano/HLN on {LOSS_OF_METRIC[config.metric]} error against persistence for every "
            f"other row, Holm-adjusted at α = {config.alpha:g}")


def procedure_lines(procedures: list) -> list[str]:
    """The verdict's procedures measured on daily losses (`benchmark.execution.procedures`), one table."""
    if not procedures:
        return []
    from tabulate import tabulate

    rows = []
    for r in procedures:
        rows.append([r.source, r.scenario, r.procedure, *rate_cells(r), r.nominal])
    return ["## The procedures of the verdict, measured on daily losses", "",
            "Each draw is one test period of daily losses whose truth is set: on the Gaussian and the GARCH walk, "
            "persistence's loss is the walk's daily change and each row's is persistence's times (1 − skill) times "
            "an independent log-normal factor of mean 1; on the real source, a leaderboard's committed daily "
            "losses are resampled in stationary blocks, all rows with persistence, each row re-centred to the set "
            "skill. Scenarios: `null` (every row exactly as good as persistence: a 'better' is false, intervals "
            "should cover 0), `margin` (every row better or worse by exactly the equivalence margin: an "
            "'equivalent' is false), `edge` (the first row better by 5%, the others null: power). R counts draws, "
            "or row-draws for the per-row procedures; intervals are exact (Clopper–Pearson).", "",
            tabulate(rows, headers=["source", "scenario", "procedure", "R", "yes", "rate", "95% interval (exact)",
                                    "calibrated"], tablefmt="github", disable_numparse=True), ""]


def interval_lines(intervals: list) -> list[str]:
    """The interval tests and conformal coverage measured on random walks
    (`benchmark.execution.interval_calibration`), one table."""
    if not intervals:
        return []
    from tabulate import tabulate

    rows = []
    for r in intervals:
        rows.append([r.case, f"{100 * r.interval_level:.10g}%", r.measure, *rate_cells(r), r.nominal])
    draws = max(r.replications for r in intervals if not r.measure.startswith("share"))
    return ["## The interval tests and conformal intervals, measured on random walks", "",
            f"Each of {draws} draws per case is one random walk with a validation and a test period of the test "
            "size each, forecast one step ahead by persistence (the walk is a martingale: the last value is the "
            "true median). `true quantiles`: the Gaussian walk's own (last value ± z σ), so every rejection is "
            "false (size); `20% too narrow`: those shrunk towards the median (power); `split` / `adaptive "
            "conformal`: intervals from the validation period's errors (their pooled coverage against nominal, and "
            "how often the declared test rejects them); `constant width (GARCH walk)`: split conformal intervals "
            "under clustered volatility, whose misses bunch together (the independence test's power). Tests at "
            "α = 5%, each on its own (not a family); R counts draws, or test points for the coverage rows; "
            "intervals are exact (Clopper–Pearson).", "",
            tabulate(rows, headers=["case", "interval", "measure", "R", "yes", "rate", "95% interval (exact)",
                                    "calibrated"], tablefmt="github", disable_numparse=True), ""]
