"""The shape of the house, checked on the source: no import cycles, models that know nothing of the machinery
around them, and one owner of MLflow."""

from __future__ import annotations

import ast
import re
from pathlib import Path

from benchmark import PROJECT_ROOT

PACKAGE = PROJECT_ROOT / "benchmark"
MODELS = PROJECT_ROOT / "models"


def module_name(path: Path) -> str:
    parts = path.relative_to(PROJECT_ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported(path: Path) -> set[str]:
    """Every module a file imports, at any depth (function-level imports included): `from benchmark import x`
    counts as `benchmark.x` when x is a module."""
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def package_graph() -> dict[str, set[str]]:
    """module -> the package modules it imports. A submodule's import of its own parent package is left out:
    Python initialises parents first, so `from benchmark.perf import store` inside `benchmark.perf.render` is
    no cycle."""
    files = {module_name(p): p for p in PACKAGE.rglob("*.py")}
    return {name: {m for m in imported(path) if m in files and m != name and not name.startswith(m + ".")}
            for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, out = {}, {}, [], set(), []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph[node]:
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                out.append(sorted(component))

    for node in graph:
        if node not in index:
            visit(node)
    return out


def test_the_package_has_no_import_cycle():
    graph = package_graph()
    assert "benchmark.cli" in graph and "benchmark.tracking" in graph["benchmark.runner"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_models_know_nothing_of_tracking_runner_or_cli():
    forbidden = {"benchmark.tracking", "benchmark.runner", "benchmark.cli", "benchmark.recording",
                 "benchmark.executors", "benchmark.report", "mlflow"}
    for path in MODELS.glob("*.py"):
        used = {m for m in imported(path) if any(m == f or m.startswith(f + ".") for f in forbidden)}
        assert not used, f"{path.name} imports {used}"


def test_only_the_tracking_module_imports_mlflow():
    users = [module_name(p) for p in PACKAGE.rglob("*.py")
             if any(m == "mlflow" or m.startswith("mlflow.") for m in imported(p))]
    assert users == ["benchmark.tracking"]


def test_only_the_tracking_module_writes_filter_strings():
    pattern = re.compile(r"""["'](tags|params|attributes|metrics)\.[A-Za-z_`]""")
    writers = [module_name(p) for p in PACKAGE.rglob("*.py") if pattern.search(p.read_text())]
    assert writers == ["benchmark.tracking"]


def test_the_perf_harness_stands_apart():
    for path in (PACKAGE / "perf").glob("*.py"):
        assert "benchmark.cli" not in imported(path), path.name
