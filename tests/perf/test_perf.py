"""The performance harness: its quick form runs every variant and writes the report (no timing asserts); the
report is a pure function of the stored JSON; the perf package stands apart from the CLI and the MLflow store."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import subprocess
from pathlib import Path

import pytest

import benchmark
from benchmark.perf.settings import EMPTY_STORE_ENV, QUICK
from tests.conftest import benchmark_command

PERF_PACKAGE = Path(benchmark.__file__).parent / "perf"


JAX = importlib.util.find_spec("jax") is not None  # CI installs it (the test extra): both backends covered


def quick_report(folder: Path, only: str, empty_store: Path) -> dict[str, str]:
    """`perf --quick --only <only>` run as a user runs it, its run probes copying the session's empty store (no
    timing is asserted, so MLflow's migrations need not run in each): the report it prints is the one it writes, its
    raw results re-render the same report, and every target has its row; the report's sections by title."""
    from benchmark.perf import render_file

    output = folder / "PERFORMANCE.md"
    out = subprocess.run(benchmark_command("perf", "--quick", "--only", only, "--output", str(output)), cwd=folder,
                         capture_output=True, text=True, timeout=900,
                         env=dict(os.environ, **{EMPTY_STORE_ENV: str(empty_store)}))
    assert out.returncode == 0, out.stderr[-3000:]
    text = output.read_text()
    assert f"Each run probe started from a copy of an empty MLflow store (`${EMPTY_STORE_ENV}`)" in text
    assert text.strip() == out.stdout.strip()
    assert render_file(folder / "perf.json") == text
    assert f"Measured only {only.replace(',', ', ')} (`--only`)" in text
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}
    from benchmark.perf.goals import GOALS

    rows = [line for line in sections["Targets (ratios from this run)"].splitlines()
            if line.startswith("| ") and not line.startswith("| target ")]
    assert len(rows) == len(GOALS) and all(line.count("|") == 5 for line in rows), rows
    return sections


def target_row(sections: dict[str, str], name: str) -> str:
    (row,) = [line for line in sections["Targets (ratios from this run)"].splitlines() if name in line]
    return row


def section(sections: dict[str, str], title: str) -> str:
    return next(v for k, v in sections.items() if k.startswith(title))


# The quick form's parts, in two real runs the suite's two workers take at once (the unroll probe and the
# arithmetic floor run in the resume test below): every variant and probe once, small, no timing asserts.
@pytest.mark.slow
def test_quick_harness_measures_the_grids_the_scaling_and_the_backends(tmp_path, empty_store):
    sections = quick_report(tmp_path, "full,short,scaling,backends", empty_store)
    for name in ("suite `--jobs 1` wall per trial", "throughput grid (2 models × 1 seed × 3 epochs), suite",
                 "fastest suite setting", "peak RSS per worker", "whole run at `--jobs"):
        assert not target_row(sections, name).endswith("| not measured |"), name
    full, short = section(sections, "Throughput grid"), section(sections, "Short grid")
    for model in QUICK.models:
        # plain, the best --jobs under each backend, and --speed fastest (which runs the MLP on JAX)
        assert sum(line.startswith(f"| {model} ") for line in full.splitlines()) == 2 + 2 * JAX
        assert sum(line.startswith(f"| {model} ") for line in short.splitlines()) == 3  # plain, --jobs 1, best
    for variant in ("plain", "suite --jobs 1", "suite --jobs "):
        assert f"| {variant}" in short
    assert "s / epoch" in short and "peak RSS" in short
    scaling = section(sections, "Scaling")
    assert "training windows" in scaling and "window length" in scaling
    assert "| vix, random_walk " in scaling and "cumulative s" in scaling  # the panel and the seeds
    if JAX:
        assert "suite jax --jobs" in full and "Faster backend per model" in full
        assert "suite fastest --jobs" in full and "`--speed fastest` against the default speed, on the full" in full
    backends = section(sections, "Keras backends")
    header = next(line for line in backends.splitlines() if line.startswith("| model "))
    assert header.split("|")[2].strip() == "tensorflow"


@pytest.mark.slow
def test_quick_harness_measures_the_default_run_and_the_panel(tmp_path, empty_store):
    sections = quick_report(tmp_path, "default,panel", empty_store)
    assert not target_row(sections, "default run with `--quantiles` / without").endswith("| not measured |")
    default = section(sections, "The default run as a user runs it")
    measured = [line.split("|")[1].strip() for line in default.splitlines()[6:] if line.startswith("| ")]
    assert measured[:1] == ["tensorflow"]  # the quick form measures the default run under TensorFlow only
    for model in QUICK.models:  # under TensorFlow, and under --speed fastest
        assert sum(line.startswith(f"| {model} ") for line in default.splitlines()) == 1 + JAX
    pairs = default.split("With `--quantiles 0.05,0.1,0.5,0.9,0.95`")[1]  # one interleaved pair, and its ratio
    assert len([line for line in pairs.splitlines() if re.match(r"\|\s+1 \|", line)]) == 1
    if JAX:
        assert "| fastest " in default and "`--speed fastest` against the default speed, in the default" in default
    panel = sections["Networks trained across the panel (`--training global`)"]
    assert len([line for line in panel.splitlines() if re.match(r"\|\s+1 \|", line)]) == 2  # walls, the mlp
    assert sum(line.split("|")[2].strip() == "mlp" for line in panel.splitlines() if line.startswith("| ")) == 1


def fake_record():
    """A Record with made-up timings in the shape the harness stores (QUICK's grids, two repeats of the short)."""
    import dataclasses

    from benchmark.perf.settings import QUICK
    from benchmark.perf.store import Measurement, Record, Trial

    config = dataclasses.replace(QUICK, best_jobs=2, short=dataclasses.replace(QUICK.short, repeats=2))

    def grid(name: str, spec, repeats: int, scale: float) -> list[Measurement]:
        out = []
        for repeat in range(repeats):
            for variant in config.variants(name):
                trials = tuple(Trial(m, s, scale * (i + 1.3) + repeat / 7, scale * (i + 1) + repeat / 9,
                                     tuple(0.1 * (i + 1) + e / 31 for e in range(spec.epochs)))
                               for i, m in enumerate(config.models) for s in spec.seeds)
                out.append(Measurement(variant, sum(t.wall for t in trials) + 2.5 + len(variant) / 3, trials,
                                       900.0 + len(variant), 450.0 * (variant != "plain") + repeat))
        return out

    machine = {"cores": 2, "cpu": "x86_64", "system": "Linux", "memory_gb": 23.4, "python": "3.11.7"}
    scaling = tuple({"windows": n, "window": w, "epoch_seconds": [1.0, n * w / 1e5, n * w / 0.9e5]}
                    for n, w in config.scaling_cases())
    scaling += ({"series": 1, "names": ["vix"], "windows": 700, "window": 60, "epoch_seconds": [2.0, 0.5, 0.5]},
                {"series": 2, "names": ["vix", "random_walk"], "windows": 1400, "window": 60,
                 "epoch_seconds": [2.0, 1.1, 1.1]},
                {"seeds": 2, "seed_walls": [2.5, 1.5]})
    unroll = tuple({"model": "rnn", "unroll": u, "epoch_seconds": [3.0 if u else 1.0, 0.1 if u else 0.25, 0.12]}
                   for u in (False, True))
    backends = {"tensorflow": grid("short", config.short, 1, 0.5)[0].trials, "jax": "not installed"}
    default = tuple(dataclasses.replace(m, variant=f"default {backend}")
                    for m, backend in zip(grid("short", config.short, 1, 1.5)[1:], ("tensorflow", "jax"), strict=True))
    own = (Trial("mlp · vix", 0, 10.0, 8.0, (2.0, 1.0, 1.0)),
           Trial("mlp · random_walk", 0, 6.0, 4.0, (2.0, 0.5, 0.5, 0.5)))
    panel = (Measurement("panel local", 100.0, own, 900.0, 450.0),
             Measurement("panel global", 130.0, (*own, Trial("mlp (global)", 0, 0.0, 9.0, (3.0, 1.5, 1.5))), 910.0,
                         460.0))
    return Record("python -m benchmark perf --quick", machine, config, tuple(grid("full", config.full, 1, 2.0)),
                  tuple(grid("short", config.short, 2, 1.0)), scaling, unroll, backends, "2025-01-01T00:00:00+00:00",
                  default, panel=panel,
                  floor={"matmul_gflops": 100.0, "flops_per_window": {"mlp": 48600, "lstm": 25272600}, "windows": 280})


def test_the_floor_counts_the_kernels_multiply_adds_per_step_and_position():
    from benchmark.models import registry
    from benchmark.models.contract import BuildOptions
    from benchmark.perf.measure import forward_flops

    def built(name):
        return registry.get(name).build((60, 1), 1, BuildOptions(), **registry.get(name).defaults)

    # LSTM 50/100 over 60 steps: (1x200 + 50x200) and (50x400 + 100x400) kernels each step, then Dense(100 -> 1)
    assert forward_flops(built("lstm")) == 2 * ((200 + 10_000) * 60 + (20_000 + 40_000) * 60 + 100) == 8_424_200
    assert forward_flops(built("mlp")) == 2 * (60 * 50 + 50 * 100 + 100)  # the flattened window: no steps
    assert forward_flops(built("gru")) == 2 * ((150 + 7_500) * 60 + (15_000 + 30_000) * 60 + 100)


def test_the_floor_section_sets_each_variant_against_the_floor():
    from benchmark.perf.render import render

    section = render(fake_record()).split("## The arithmetic floor")[1].split("\n## ")[0]
    assert "100.0 GFLOP/s (TensorFlow, one thread)" in section
    lstm = next(line for line in section.splitlines() if line.startswith("| lstm "))
    cells = [c.strip() for c in lstm.split("|")[1:-1]]
    # 25,272,600 FLOPs x 280 windows = 7.08 GFLOP per epoch, 0.0708 s at 100 GFLOP/s; fake epochs last 0.2 + e/31
    assert cells[:3] == ["lstm", "7.08", "0.0708"]
    assert cells[3].endswith("x)") and len(cells) == 3 + len(fake_record().config.variants("full"))
    assert "grid's floor on 2 cores: " in section and "x the plain loop's" in section


def test_the_panel_section_sets_each_global_network_against_its_local_ones():
    from benchmark.perf.render import render

    section = render(fake_record()).split("## Networks trained across the panel (`--training global`)")[1]
    section = section.split("\n## ")[0]
    assert "`python -m benchmark run --dataset vix,random_walk --models mlp --seeds 1 --epochs 2 --test-size 40 " \
           "--val-size 40`" in section
    rows = [[c.strip() for c in line.split("|")[1:-1]] for line in section.splitlines()
            if line.startswith("|      1 |")]
    assert [float(c) for c in rows[0]] == [1, 100, 130, 1.3, 30]
    # 9 s of global training against 8 + 4 s of the two local networks; 1.5 s / epoch against 1.0 + 0.5
    assert rows[1][1] == "mlp" and [float(c) for c in rows[1][2:]] == [0, 2, 9, 12, 0.75, 3, 3.5, 1.5, 1.5]


def test_render_file_rerenders_the_stored_json_identically(tmp_path):
    from benchmark.perf import render_file, store
    from benchmark.perf.render import render

    record = fake_record()
    path = tmp_path / "perf.json"
    store.save(record, path)
    assert store.load(path) == record  # the JSON round trip loses nothing
    text = render_file(path)
    assert text == render(record) == render_file(path)
    assert "| suite `--jobs 1` wall per trial / plain reference (short grid) |" in text
    assert "| peak RSS per worker (MB) | 451 | ≤ 1536 | met |" in text
    assert "≤ 23 (this machine)" in text and "- jax: not installed" in text
    assert "## The default run as a user runs it, per backend" in text
    assert "| suite jax --jobs 2 " in text and "Faster backend per model, in the default run: mlp: " in text
    # the fake grid's epochs are equal across variants, so --speed fastest is 1.00x the default speed
    assert "`--speed fastest` against the default speed, on the full grid (how many times shorter its epochs are): " \
           "mlp 1.00x, lstm 1.00x." in text
    assert "| suite fastest --jobs 2 " in text and "fastest (" not in text.split("Faster backend per model")[1]
    fastest = next(line for line in text.splitlines() if "fastest suite setting" in line)
    assert "`suite --jobs 2`" in fastest or "`suite jax --jobs 2`" in fastest


def test_goals_table_comes_from_the_goals_data():
    import dataclasses

    from benchmark.perf.goals import GOALS
    from benchmark.perf.render import quantities, render

    record = fake_record()
    assert {g.quantity for g in GOALS} <= set(quantities(record))
    targets = render(record).split("## Targets (ratios from this run)")[1].split("\n## ")[0]
    rows = [line for line in targets.splitlines() if line.startswith("| ") and not line.startswith("| target")]
    assert len(rows) == len(GOALS)
    skipped = dataclasses.replace(record, full=(), config=dataclasses.replace(record.config, full=None))
    text = render(skipped)
    assert "| throughput grid (not measured), suite `--jobs 2` / plain sequential | – | ≤ 0.67 | not measured |" in text
    assert "Throughput grid (" not in text


def test_perf_package_imports_neither_the_cli_nor_mlflow_nor_private_names():
    files = sorted(PERF_PACKAGE.glob("*.py"))
    assert {f.name for f in files} >= {"__init__.py", "goals.py", "measure.py", "store.py", "render.py", "child.py"}
    assert not (PERF_PACKAGE.parent / "perf.py").exists()
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                modules = [alias.name for alias in node.names]
                names = [name for module in modules for name in module.split(".")[1:]]
            elif isinstance(node, ast.ImportFrom):
                modules = [node.module or ""]
                names = [alias.name for alias in node.names]
                modules += [f"{node.module}.{name}" for name in names]  # `from benchmark import cli`
            else:
                continue
            for module in modules:
                assert module != "benchmark.cli" and not module.startswith("benchmark.cli."), (path.name, module)
                assert module.split(".")[0] != "mlflow", (path.name, module)
            if modules[0].startswith("benchmark"):
                assert not any(name.startswith("_") for name in names), (path.name, names)


def test_perf_rejects_bad_arguments(tmp_path):
    out = subprocess.run(benchmark_command("perf", "--repeats", "0"), cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == "error: --repeats must be at least 1, got 0"
    out = subprocess.run(benchmark_command("perf", "--grid-repeats", "-1"), cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == "error: --grid-repeats must be at least 0, got -1"
    missing = tmp_path / "no-such.db"
    out = subprocess.run(benchmark_command("perf", "--quick", "--output", str(tmp_path / "PERFORMANCE.md")),
                         cwd=tmp_path, capture_output=True, text=True, timeout=60,
                         env=dict(os.environ, **{EMPTY_STORE_ENV: str(missing)}))
    assert out.returncode == 2 and len(out.stderr.strip().splitlines()) == 1, out.stderr
    assert f"${EMPTY_STORE_ENV} names '{missing}', which is not a file" in out.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == []  # nothing measured, nothing written


def test_only_some_parts_are_measured_and_the_report_says_which(tmp_path):
    import dataclasses

    from benchmark.errors import BenchmarkError
    from benchmark.perf import settings
    from benchmark.perf.render import render

    config, command = settings.configure(True, only="unroll,default")
    assert config.parts == ("unroll", "default") and command == "python -m benchmark perf --quick --only unroll,default"
    with pytest.raises(BenchmarkError, match="--only takes a comma list of full, short"):
        settings.configure(True, only="grid")
    record = fake_record()
    only = dataclasses.replace(record, config=dataclasses.replace(record.config, parts=("unroll", "default")),
                               full=(), short=(), scaling=(), backends={}, panel=(), command=command)
    text = render(only)
    assert "Measured only unroll, default (`--only`); not measured: full, short, scaling, backends, panel, " \
           "floor." in text
    older = dataclasses.replace(record, config=dataclasses.replace(record.config, parts=settings.PARTS[:-2]))
    assert "Not measured (the harness had no such part when this ran): panel, floor." in render(older)
    targets = text.split("## Targets")[1].split("\n## ")[0]
    from benchmark.perf.goals import GOALS

    rows = [line for line in targets.splitlines() if line.startswith("| ") and "target" not in line]
    assert len(rows) == len(GOALS) and all(line.endswith("| not measured |") for line in rows)  # no grid, no pair
    assert "## Unrolled recurrent layers" in text and "## The default run as a user runs it" in text


@pytest.mark.parametrize("folder", ["results", "results/perf-quantiles", "results/perf-panel"])
def test_every_committed_report_is_its_perf_json_rendered(folder):
    """A committed PERFORMANCE.md is what the renderer makes of its raw timings, today's renderer included."""
    from benchmark.perf import render_file

    root = Path(benchmark.__file__).parent.parent
    assert render_file(root / folder / "perf.json") == (root / folder / "PERFORMANCE.md").read_text()


def test_the_scaling_section_adds_the_panel_and_the_seeds():
    from benchmark.perf.render import render

    section = render(fake_record()).split("## Scaling")[1].split("\n## ")[0]
    panel = [[c.strip() for c in line.split("|")[1:-1]] for line in section.splitlines() if "| vix" in line]
    assert panel[1][:3] == ["2", "vix, random_walk", "1400"] and [float(c) for c in panel[1][3:]] == [1.1, 2.2, 2]
    seeds = [[c.strip() for c in line.split("|")[1:-1]] for line in section.splitlines()[-4:] if line.startswith("|")]
    assert [[float(c) for c in row] for row in seeds[-2:]] == [[0, 2.5, 2.5], [1, 1.5, 4]]



def test_the_journal_replays_finished_children_and_refuses_another_run(tmp_path):
    from benchmark.errors import BenchmarkError
    from benchmark.perf.store import Journal

    path, folder = tmp_path / "perf.journal.json", tmp_path / "run-1"
    header = Journal.header_of(QUICK, "python -m benchmark perf --quick")
    first = Journal(path, header)
    job = {"probe": "unroll", "csv": str(folder / "prices.csv"), "models": ["rnn"]}
    key = first.key(job, folder, "unroll probe", {})
    assert key["job"]["csv"] == "<folder>/prices.csv"  # the temporary folder differs between sittings
    assert first.replay(key) is None and not first.resumed
    first.record(key, [{"model": "rnn", "epoch_seconds": [1.5, 0.5]}])
    first.finished_part("unroll")
    assert path.is_file()
    # the next sitting, in another temporary folder: the finished child is replayed, then the new ones run
    second = Journal(path, header)
    other = tmp_path / "run-2"
    assert second.resumed == 1
    assert second.replay(second.key({**job, "csv": str(other / "prices.csv")}, other, "unroll probe", {})) == \
        [{"model": "rnn", "epoch_seconds": [1.5, 0.5]}]
    assert second.replay(second.key({"probe": "floor"}, other, "floor probe", {})) is None
    second.finished_part("unroll")  # replayed: finished in the first sitting
    second.record(second.key({"probe": "floor"}, other, "floor probe", {}), {"matmul_gflops": 100.0})
    second.finished_part("floor")
    assert [s["parts"] for s in second.sittings] == [["unroll"], ["floor"]]
    assert [(s["first"], s["count"]) for s in Journal(path, header).sittings[:2]] == [(0, 1), (1, 1)]
    # a child out of order, another command, a damaged file: refused by name, the journal kept
    with pytest.raises(BenchmarkError, match=r"child 1 was 'unroll probe', this run asks 'floor probe'"):
        Journal(path, header).replay(key | {"what": "floor probe"})
    with pytest.raises(BenchmarkError, match=r"perf.journal.json holds an unfinished run with another command, "
                                             r"config; rerun that command"):
        Journal(path, Journal.header_of(QUICK.__class__(), "python -m benchmark perf"))
    second.finish()
    assert not path.exists()
    path.write_text("{not json")
    with pytest.raises(BenchmarkError, match="is not a harness journal"):
        Journal(path, header)
    assert Journal(None, header).replay(key) is None  # print-only: nothing kept


def test_a_part_an_interruption_cut_short_is_measured_again_whole(tmp_path):
    """Two sittings may run on hosts of different speed, so a part's children (whose timings its ratios compare)
    all come from one sitting: the finished children of the cut-short part are dropped, not replayed."""
    import dataclasses

    from benchmark.perf.render import render
    from benchmark.perf.store import Journal

    path, folder = tmp_path / "perf.journal.json", tmp_path / "run"
    header = Journal.header_of(QUICK, "python -m benchmark perf --quick")

    def key(journal: Journal, what: str) -> dict:
        return journal.key({"probe": "grid", "variant": what}, folder, what, {})

    first = Journal(path, header)
    for what in ("plain", "suite --jobs 2"):
        first.record(key(first, what), {"wall": 1.0})
    first.finished_part("full")
    first.record(key(first, "short plain"), {"wall": 2.0})  # then the sitting ends: the short grid is cut short
    second = Journal(path, header)
    assert second.resumed == 2 and second.dropped == 1
    assert second.replay(key(second, "plain")) == {"wall": 1.0} and second.replay(key(second, "suite --jobs 2"))
    second.finished_part("full")
    assert second.replay(key(second, "short plain")) is None  # measured again, in this sitting
    for what in ("short plain", "short suite"):
        second.record(key(second, what), {"wall": 3.0})
    second.finished_part("short")
    sittings = Journal(path, header).sittings[:2]
    assert [(s["first"], s["count"], s["parts"]) for s in sittings] == [(0, 2, ["full"]), (2, 2, ["short"])]
    text = render(dataclasses.replace(fake_record(), sittings=tuple(sittings)))
    assert "measurements 1–2 (full); 2. from" in text and "measurements 3–4 (short)." in text
    assert "so every ratio compares timings from one sitting" in text
    floor = text.split("## The arithmetic floor")[1].split("\n## ")[0]
    assert "The floor was measured in sitting" not in floor  # no sitting names the floor: nothing to say
    apart = [dict(sittings[0]), {**sittings[1], "parts": ["short", "floor"]}]
    floor = render(dataclasses.replace(fake_record(), sittings=tuple(apart))).split("## The arithmetic floor")[1]
    assert "The floor was measured in sitting 2, the full grid in sitting 1: they may have run on hosts" in floor


@pytest.mark.slow
def test_an_interrupted_harness_run_resumes_where_it_stopped(tmp_path):
    """The real command, stopped while its second child measures, then rerun: the first child's timings come from
    the journal, only the second is measured again, and the report says so."""
    import json
    import os
    import signal
    import time

    from benchmark.perf import render_file

    output = tmp_path / "PERFORMANCE.md"
    command = benchmark_command("perf", "--quick", "--only", "unroll,floor", "--output", str(output))
    journal = tmp_path / "perf.journal.json"
    first = subprocess.Popen(command, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             start_new_session=True)
    deadline = time.monotonic() + 300
    while not journal.is_file() and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(first.pid, signal.SIGTERM)  # while the floor probe, the second child, runs
    _, err = first.communicate(timeout=60)
    assert first.returncode != 0 and not output.exists(), err[-2000:]
    stored = json.loads(journal.read_text())
    assert [e["key"]["what"] for e in stored["entries"]] == ["unroll probe"]
    # another command while the journal waits: refused before any work, the journal kept
    other = subprocess.run(benchmark_command("perf", "--quick", "--only", "floor", "--output", str(output)),
                           cwd=tmp_path, capture_output=True, text=True, timeout=120)
    assert other.returncode == 2 and other.stderr.strip().startswith(f"error: {journal} holds an unfinished run "
                                                                     "with another command, config"), other.stderr
    again = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert again.returncode == 0, again.stderr[-3000:]
    assert f"resuming: 1 measurement(s) of the interrupted run are in {journal}" in again.stderr
    assert "unrolled recurrent layers ...\n    (measured in an earlier sitting: replayed from the journal)" in \
        again.stderr  # replayed, not measured again
    record = json.loads((tmp_path / "perf.json").read_text())
    assert record["unroll"] == stored["entries"][0]["result"] and record["floor"]["matmul_gflops"] > 0
    assert [(s["first"], s["count"]) for s in record["sittings"]] == [(0, 1), (1, 1)]
    assert "Measured in 2 sittings of this command" in output.read_text() and not journal.exists()
    text = output.read_text()
    assert text.strip() == again.stdout.strip() and render_file(tmp_path / "perf.json") == text
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}
    unroll = section(sections, "Unrolled")
    assert sum(line.startswith("| rnn ") for line in unroll.splitlines()) == 1
    fused = unroll.split("### The fused LSTM kernel")[1]  # the LSTM on the fused kernel beside its loop
    assert sum(line.startswith("| lstm ") for line in fused.splitlines()) == 1
    floor = sections["The arithmetic floor"]
    assert sum(line.startswith(("| mlp ", "| lstm ")) for line in floor.splitlines()) == 2
