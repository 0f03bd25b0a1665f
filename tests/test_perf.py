"""The performance harness in its quick form: it runs every variant and writes the report (no timing asserts)."""

from __future__ import annotations

import subprocess

import pytest

from tests.conftest import benchmark_command


@pytest.mark.slow
def test_quick_harness_writes_the_table(tmp_path):
    output = tmp_path / "PERFORMANCE.md"
    out = subprocess.run(benchmark_command("perf", "--quick", "--output", str(output)), cwd=tmp_path,
                         capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    text = output.read_text()
    assert text.strip() == out.stdout.strip()
    sections = {part.split("\n", 1)[0]: part for part in text.split("\n## ")[1:]}
    targets = sections["Targets (ratios from this run)"]
    for row in ("suite `--jobs 1` wall per trial", "throughput grid (4 models × 1 seed × 3 epochs)",
                "peak RSS per worker", "whole run at `--jobs"):
        assert sum(row in line and line.count("|") == 5 for line in targets.splitlines()) == 1, row
    full = next(v for k, v in sections.items() if k.startswith("Throughput grid"))
    short = next(v for k, v in sections.items() if k.startswith("Short grid"))
    for model in ("mlp", "rnn", "lstm", "gru"):
        assert sum(line.startswith(f"| {model} ") for line in full.splitlines()) == 2  # plain and the best
        assert sum(line.startswith(f"| {model} ") for line in short.splitlines()) == 3  # plain, --jobs 1, best
    for variant in ("plain", "suite --jobs 1", "suite --jobs "):
        assert f"| {variant}" in short
    assert "s / epoch" in short and "peak RSS" in short
    scaling = next(v for k, v in sections.items() if k.startswith("Scaling"))
    assert "training windows" in scaling and "window length" in scaling
    unroll = next(v for k, v in sections.items() if k.startswith("Unrolled"))
    assert sum(line.startswith("| rnn ") for line in unroll.splitlines()) == 1
    backends = next(v for k, v in sections.items() if k.startswith("Keras backends"))
    header = next(line for line in backends.splitlines() if line.startswith("| model "))
    assert header.split("|")[2].strip() == "tensorflow"

def test_perf_rejects_bad_arguments(tmp_path):
    out = subprocess.run(benchmark_command("perf", "--repeats", "0"), cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == "error: --repeats must be at least 1"
    out = subprocess.run(benchmark_command("perf", "--grid-repeats", "-1"), cwd=tmp_path, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == "error: --grid-repeats must not be negative"
