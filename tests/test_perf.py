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
    assert "## Targets (ratios from this run)" in text
    for variant in ("plain", "suite --jobs 1", "suite --jobs "):
        assert f"| {variant}" in text
    for model in ("mlp", "rnn", "lstm", "gru"):
        assert sum(line.startswith(f"| {model} ") for line in text.splitlines()) == 3  # one row per variant
    assert "s / epoch" in text and "peak RSS" in text
    assert "## Scaling" in text and "training windows" in text and "window length" in text


def test_perf_rejects_bad_arguments(tmp_path):
    out = subprocess.run(benchmark_command("perf", "--repeats", "0"), cwd=tmp_path, capture_output=True, text=True,
                         timeout=60)
    assert out.returncode == 2 and out.stderr.strip() == "error: --repeats must be at least 1"
