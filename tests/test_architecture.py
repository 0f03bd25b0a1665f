"""The shape of the house, checked on the source against its declared map (docs/architecture.toml): every module
belongs to one part, no part imports what it must never import, no import cycles, models that know nothing of
the machinery around them, and one owner of MLflow."""

from __future__ import annotations

import ast
import re
import tomllib
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
    assert "benchmark.cli" in graph and "benchmark.tracking" in graph["benchmark.execution.runner"]
    assert cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


# ---------------------------------------------------------------- the declared map of the parts

MAP = PROJECT_ROOT / "docs" / "architecture.toml"


def parts() -> dict:
    return tomllib.loads(MAP.read_text())["parts"]


def matches(module: str, entry: str) -> bool:
    """`benchmark.data.*` matches the folder and its modules; other entries exactly."""
    return module == entry[:-2] or module.startswith(entry[:-1]) if entry.endswith(".*") else module == entry


def part_of(module: str, declared: dict) -> list[str]:
    return [name for name, part in declared.items() if any(matches(module, e) for e in part["modules"])]


def modules_imported(path: Path) -> set[str]:
    """What a file imports that is a module: of this package, only names that are its modules; anything else as
    written (`keras.layers`, `mlflow`)."""
    ours = {module_name(p) for p in PACKAGE.rglob("*.py")}
    return {m for m in imported(path) if m in ours or not (m == "benchmark" or m.startswith("benchmark."))}


def forbidden_imports(path: Path, never: list[str]) -> set[str]:
    """The imports of `path` that a `never` list rules out: `X.*` the modules of folder X, `X` module X and
    anything below it (`mlflow` covers `mlflow.tracking`)."""
    def ruled_out(module: str, entry: str) -> bool:
        return matches(module, entry) if entry.endswith(".*") else module == entry or module.startswith(entry + ".")

    return {m for m in modules_imported(path) if any(ruled_out(m, e) for e in never)}


def test_every_module_belongs_to_exactly_one_part():
    declared = parts()
    homes = {module_name(p): part_of(module_name(p), declared) for p in PACKAGE.rglob("*.py")}
    assert {m: h for m, h in homes.items() if len(h) != 1} == {}
    assert {h[0] for h in homes.values()} == set(declared), "a declared part with no module"


def test_no_module_imports_what_its_part_must_never_import():
    declared = parts()
    broken = {}
    for path in PACKAGE.rglob("*.py"):
        module = module_name(path)
        (home,) = part_of(module, declared)
        bad = {m for m in forbidden_imports(path, declared[home]["never"]) if home not in part_of(m, declared)}
        if bad:
            broken[module] = sorted(bad)
    assert broken == {}


def test_the_map_s_rules_catch_a_forbidden_import(tmp_path):
    """The checker itself: a results module that imports the runner inside a function is caught, and so is
    mlflow's submodule; numpy is not."""
    source = tmp_path / "leaky.py"
    source.write_text("import numpy\nimport mlflow.tracking\n\n\ndef f():\n"
                      "    from benchmark.execution import runner\n")
    expected = {"benchmark.execution", "benchmark.execution.runner", "mlflow.tracking"}
    assert forbidden_imports(source, parts()["render"]["never"]) == expected


def test_results_never_import_execution_trials_or_calibration():
    """The issue's "never", stated directly: analysis and rendering read stored results only."""
    for part in ("analysis", "render"):
        never = parts()[part]["never"]
        for forbidden in ("benchmark.execution.runner", "benchmark.execution.calibration",
                          "benchmark.evaluation.trial"):
            assert any(matches(forbidden, e) for e in never), (part, forbidden)


def test_models_know_nothing_of_tracking_execution_or_cli():
    never = tomllib.loads(MAP.read_text())["models"]["never"]
    for forbidden in ("benchmark.tracking", "benchmark.execution.runner", "benchmark.cli", "mlflow"):
        assert any(matches(forbidden, e) for e in never), forbidden
    for path in MODELS.glob("*.py"):
        assert forbidden_imports(path, never) == set(), path.name


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


def test_the_tests_mirror_the_package():
    """tests/NAME/ holds the tests of benchmark/NAME/; the faces (cli, api), the architecture and the packaging are
    tested at the top."""
    test_folders = {p.parent.name for p in (PROJECT_ROOT / "tests").glob("*/test_*.py")}
    package_folders = {p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()}
    assert test_folders and test_folders <= package_folders, test_folders - package_folders
