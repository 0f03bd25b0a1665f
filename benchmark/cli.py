"""Command line: `python -m benchmark run|list|datasets|report|compare|calibrate|perf|ui`.

User mistakes (BenchmarkError) become one line on stderr and exit code 2; heavy imports (TensorFlow, MLflow)
happen only in the commands that need them, so `--help` and bad arguments answer at once.
"""

from __future__ import annotations

import argparse
import os
import shlex
import signal
import sys

from benchmark.errors import BenchmarkError

EXIT_FAILED_TRIALS = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line naming the problem (exit code 2)."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"{self.prog}: error: {message} (see --help)\n")


def _add_run_arguments(p: argparse.ArgumentParser) -> None:
    from benchmark.config import settings

    p.add_argument("--config", metavar="FILE.toml", help="experiment file; flags given here override its keys")
    settings.add_arguments(p)
    p.add_argument("--set", action="append", metavar="KEY=V1,V2", dest="set_values",
                   help="a setting or hyper-parameter, one value or a grid (repeatable): units=32,64, "
                        "lstm.units=64, optimizer=adam,rmsprop, learning_rate=1e-3,3e-4, layers=1,2")


def _command_line(args: argparse.Namespace) -> str:
    """The command as the user typed it (for the pages that say what made them)."""
    return "python -m benchmark " + shlex.join(sys.argv[1:] if args.argv is None else args.argv)


def build_parser() -> argparse.ArgumentParser:
    from benchmark.config import settings

    parser = _Parser(prog="python -m benchmark", description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    p_run = sub.add_parser("run", help="train every model under every seed and log to MLflow")
    _add_run_arguments(p_run)
    p_run.set_defaults(func=cmd_run)
    p_list = sub.add_parser("list", help="list the registered models and baselines")
    p_list.set_defaults(func=cmd_list)
    p_data = sub.add_parser("datasets", help="list the bundled and calibration datasets")
    p_data.set_defaults(func=cmd_datasets)
    commands = {
        "report": ("rebuild the leaderboard and figures from the tracking store alone", cmd_report),
        "compare": ("two boards of the same models under two implementations: does each network's mean metric "
                    "over seeds differ, or is it equivalent?", cmd_compare),
        "calibrate": ("measure the verdicts' false-positive rate and power on simulated series (writes "
                      "CALIBRATION.md)", cmd_calibrate),
        "perf": ("measure the suite against the plain Keras loop (writes PERFORMANCE.md)", cmd_perf),
        "ui": ("start the MLflow UI on 127.0.0.1 and print the runs view's address", cmd_ui),
    }
    for name, (about, func) in commands.items():
        command = sub.add_parser(name, help=about)
        settings.add_command_options(command, name)
        command.set_defaults(func=func)
    return parser


def configs_from_args(args: argparse.Namespace) -> list:
    """Every configuration to run: one per dataset, times every grid point of a sweep."""
    from benchmark.config import sweep

    bases, grid = plan_from_args(args)
    return [point for base in bases for point in sweep.expand(base, grid)]


def plan_from_args(args: argparse.Namespace) -> tuple[list, dict]:
    """One resolved config per dataset (preset values < experiment file < flags given on the command line), and
    the sweep grid."""
    from benchmark import api
    from benchmark.config import settings

    return api.plan(settings.given(args), args.config, args.set_values or [])


def cmd_run(args: argparse.Namespace) -> int:
    from benchmark import api

    bases, grid = plan_from_args(args)
    command = _command_line(args)
    outcomes, written = api.execute(bases, grid, command)
    if written is not None:
        _summarise(written, bases[0].results_dir)
    failed = [f for o in outcomes for f in o.failed]
    for f in failed:
        print(f"failed: {f.model} seed {f.seed}: {f.error}", file=sys.stderr)
    return EXIT_FAILED_TRIALS if failed else 0


def cmd_report(args: argparse.Namespace) -> int:
    from benchmark import tracking
    from benchmark.render import report

    if not args.results_dir.strip():
        raise BenchmarkError("--results-dir is empty: name a folder (default: results)")
    uri = tracking.default_tracking_uri() if args.tracking_uri is None else args.tracking_uri
    tracking.check_reachable(uri, must_exist=True)  # a mistyped path must not become an empty store
    tracking.Tracker(uri).check_store()
    experiment_id = report.resolve_experiment(uri, args.experiment)
    parent = report.latest_parent(uri, experiment_id, args.config_hash)  # a sweep point brings its whole sweep
    # every series the parent's invocation covered (a panel run), unless one configuration was named
    members = [(experiment_id, parent)] if args.config_hash else tracking.Tracker(uri).panel(experiment_id, parent)
    entries = [(uri, member, report.sweep_hashes(uri, member, run)) for member, run in members]
    report.check_not_narrower(args.results_dir, [run.params.get("dataset", "") for _, run in members])
    written = report.write_report(entries, args.results_dir)
    _summarise(written, args.results_dir)
    return 0


def _summarise(written, results_dir: str) -> None:
    """Each dataset's summary table and verdict on stdout, and where the files are."""
    from benchmark.render import report

    for section in written.sections:
        if len(written.sections) > 1:
            print(f"\n== {section.results.meta.dataset} ==")
        report.print_summary(section.table, section.results)
    print(f"\nleaderboard: {results_dir}/LEADERBOARD.md  (figures in {results_dir}/figures/)")


def cmd_list(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from benchmark.models import registry

    rows = [(s.name, s.kind, s.description, ", ".join(f"{k}={v}" for k, v in s.defaults.items()) or "-")
            for s in registry.registry().values()]
    print(tabulate(rows, headers=["model", "kind", "description", "defaults"]))
    for name, reason in registry.broken().items():
        print(f"broken: {name}: {reason}", file=sys.stderr)
    return 0


def cmd_datasets(args: argparse.Namespace) -> int:
    from tabulate import tabulate

    from benchmark.data import catalog

    rows = []
    for name, info in catalog.available().items():
        series = catalog.load(name)
        d = series.describe()
        rows.append((name, info.kind, ", ".join(info.groups), d["length"], d["start"], d["end"], info.description))
    print(tabulate(rows, headers=["dataset", "kind", "groups", "points", "start", "end", "description"]))
    for group, members in catalog.groups().items():
        print(f"\n--dataset {group}: {', '.join(members)}")
    return 0


def cmd_calibrate(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark.config import settings
    from benchmark.execution import calibration, interval_calibration, procedures
    from benchmark.files import atomic_write
    from benchmark.models import registry
    from benchmark.render.calibration import render_calibration

    settings.check_command_options(args, "calibrate")
    models = tuple(m for m in registry.select(args.models) if registry.get(m).stochastic)
    designs = list(calibration.designs(models, args.replications, args.network_replications, args.seeds,
                                       args.epochs, args.length, args.test_size, args.metric, args.statistical))
    if args.output != "-":
        from benchmark.files import check_writable

        if Path(args.output).is_dir() or not Path(args.output).name:
            raise BenchmarkError(f"--output {args.output!r} is a folder: name the report file (e.g. CALIBRATION.md)")
        check_writable(Path(args.output).parent)
    if args.losses is not None and args.loss_draws:
        procedures.real_losses(args.losses, args.metric)  # refused before any work, naming the problem
    os.environ.setdefault("TF_NUM_INTRAOP_THREADS", "1")
    rates = []
    for design in designs:
        rates += calibration.calibrate(design, progress=lambda s: print(s, file=sys.stderr, flush=True))
    command = _command_line(args)
    boundary = calibration.boundary_size(2000, args.test_size, 5, "absolute" if args.metric == "mae" else "squared",
                                         designs[0].config.alpha)
    measured = procedures.calibrate_procedures(
        args.loss_draws, args.test_size, designs[0].config.alpha, designs[0].config.equivalence_margin, args.metric,
        args.losses, progress=lambda s: print(s, file=sys.stderr, flush=True)) if args.loss_draws else []
    intervals = interval_calibration.measure_intervals(
        args.interval_draws, args.test_size, designs[0].config.alpha,
        progress=lambda s: print(s, file=sys.stderr, flush=True)) if args.interval_draws else []
    text = render_calibration(rates, command, designs, calibration.PROCESSES, boundary, measured, intervals)
    if args.output == "-":
        print(text, end="")
    else:
        atomic_write(Path(args.output), lambda p: p.write_text(text))
        print(f"calibration: {args.output}")
    return 0


def cmd_compare(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark.config import settings
    from benchmark.files import atomic_write
    from benchmark.render import boards

    settings.check_command_options(args, "compare")
    for flag in ("base", "other"):
        if not getattr(args, flag):
            raise BenchmarkError(f"--{flag} is required: name a results folder or its leaderboard.csv")
    command = _command_line(args)
    page = boards.compare_files(args.base, args.other, args.metric, args.equivalence_margin, args.alpha, command)
    if args.output:
        atomic_write(Path(args.output), lambda p: p.write_text(page))
    print(page, end="")
    return 0


def cmd_perf(args: argparse.Namespace) -> int:
    from pathlib import Path

    from benchmark import perf
    from benchmark.config import settings

    settings.check_command_options(args, "perf")
    output = None if args.output == "-" else Path(args.output)
    print(perf.main(args.quick, output, args.repeats, args.epochs, args.seeds, args.grid_repeats, args.only), end="")
    return 0


def cmd_ui(args: argparse.Namespace) -> int:
    from benchmark.config import settings
    from benchmark.tracking import ui

    settings.check_command_options(args, "ui")
    return ui.serve(args.tracking_uri, args.port, args.experiment)


INTERRUPTED = {  # what an interruption leaves, per command: `run` and `perf` resume
    "run": "finished trials are kept; rerun the same command to resume",
    "compare": "nothing was written (the page is written whole or not at all)",
    "report": "the leaderboard files are as they were (each is written whole or not at all); rerun to rebuild",
    "calibrate": "nothing was written; calibrate starts over when rerun (its draws are seeded: same numbers)",
    "perf": "finished measurements are kept beside the report (perf.journal.json); rerun the same command to resume",
}


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = argv
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")  # before TensorFlow is first imported
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    from benchmark.tracking import bound_http_waits, environment_error

    bound_http_waits()
    signal.signal(signal.SIGTERM, _raise_interrupt)  # SIGTERM stops as cleanly as Ctrl-C
    try:
        return args.func(args)
    except BenchmarkError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print(f"interrupted: {INTERRUPTED.get(args.command, 'nothing was written')}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:  # noqa: BLE001 - the machine failing (full disk, read-only store) is one line
        problem = environment_error(exc)
        if problem is None:
            raise
        print(f"error: {problem} ({INTERRUPTED.get(args.command, 'nothing was written')})", file=sys.stderr)
        return EXIT_USAGE
