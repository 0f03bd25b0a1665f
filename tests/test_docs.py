"""The documentation (README.md, CONTRIBUTING.md, docs/*.md): every example executed the way a user runs it, every
quote found in the committed file it quotes, every relative link alive, the README short and linking every page,
and every declared part of the package described.

Conventions the pages follow (CONTRIBUTING.md, "Documentation"):

- fenced blocks are labelled `bash`/`sh` (run with `bash -euo pipefail` from a fresh empty folder), `python` (saved
  as `script.py` in a fresh empty folder and run with this interpreter in a new process) or `text` (layout and
  output, never commands). Children run without `MLFLOW_TRACKING_URI`, so each writes its own `./mlflow.db`, and
  with the checkout's root on `PYTHONPATH`, as code run by a contributor from it (`tests.model_checker` imports);
- a block of `pip install ...` lines is not run: CI runs the README's install-and-test command as `.ci/run`, which
  must hold the same command;
- a long real run is preceded by `<!-- docs-test: smoke N -->`: it runs N seconds (N <= 40) in its own process
  group, must not have failed by then, and is stopped with SIGTERM to the group;
- a `python` block whose first line is `# PATH` of a file in the repository shows that file and must equal it;
- a blockquote quotes a committed file: the paragraph right before it links that file, and the quote appears in
  it, whitespace-normalised.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import time
import tomllib
from dataclasses import dataclass
from pathlib import Path

import pytest

from benchmark import PROJECT_ROOT

README = PROJECT_ROOT / "README.md"
CONTRIBUTING = PROJECT_ROOT / "CONTRIBUTING.md"
DOCS = sorted((PROJECT_ROOT / "docs").glob("*.md"))
PAGES = [README, CONTRIBUTING, *DOCS]
ARCHITECTURE_MAP = PROJECT_ROOT / "docs" / "architecture.toml"

SHELL_LABELS = {"bash", "sh"}
LABELS = SHELL_LABELS | {"python", "text"}
SMOKE = re.compile(r"<!--\s*docs-test:\s*smoke\s+(\d+)\s*-->")
LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")
INLINE_CODE = re.compile(r"`[^`]*`")
MAX_SMOKE_SECONDS = 40
README_LIMIT = 15_000


def rel(path: Path) -> str:
    return path.relative_to(PROJECT_ROOT).as_posix()


@dataclass(frozen=True)
class Block:
    """One fenced code block of a page."""

    page: Path
    number: int  # 1-based among the page's fenced blocks
    label: str
    code: str
    smoke: int | None  # seconds, from a `<!-- docs-test: smoke N -->` right before the fence

    @property
    def id(self) -> str:
        return f"{rel(self.page)}:{self.number}"

    @property
    def commands(self) -> list[str]:
        """The block's lines that are not blank or comments."""
        return [line.strip() for line in self.code.splitlines() if line.strip() and not line.strip().startswith("#")]

    @property
    def kind(self) -> str:
        """install (not run), shell, python or text."""
        if self.label in SHELL_LABELS:
            return "install" if all(c.startswith("pip install ") for c in self.commands) else "shell"
        return self.label


def split_page(path: Path) -> tuple[list[Block], list[tuple[int, str]]]:
    """The page's fenced blocks, and its other lines (number, text) in order."""
    lines = path.read_text().splitlines()
    blocks, prose, i = [], [], 0
    while i < len(lines):
        line = lines[i]
        if not line.lstrip().startswith("```"):
            prose.append((i, line))
            i += 1
            continue
        indent = len(line) - len(line.lstrip())
        info = line.strip()[3:].split()
        end = next((j for j in range(i + 1, len(lines)) if lines[j].strip() == "```"), None)
        assert end is not None, f"{rel(path)}:{i + 1}: unclosed code fence"
        previous = next((lines[j] for j in range(i - 1, -1, -1) if lines[j].strip()), "")
        smoke = SMOKE.fullmatch(previous.strip())
        code = "".join(body[indent:] + "\n" for body in lines[i + 1:end])
        blocks.append(Block(path, len(blocks) + 1, info[0] if info else "", code,
                            int(smoke.group(1)) if smoke else None))
        i = end + 1
    return blocks, prose


BLOCKS = [block for page in PAGES for block in split_page(page)[0]]


def blocks_of(*kinds: str, smoke: bool = False) -> list:
    return [pytest.param(b, id=b.id) for b in BLOCKS if b.kind in kinds and (b.smoke is not None) == smoke]


def child_environment() -> dict[str, str]:
    """The user's environment, less anything that would point the examples at another store or models folder."""
    env = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "FORECAST_BENCHMARK_MODELS")}
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(PROJECT_ROOT), env.get("PYTHONPATH")) if p)
    return env


def command_for(block: Block, folder: Path) -> list[str]:
    """How a user runs the block, from `folder` (a fresh empty folder)."""
    if block.kind == "python":
        (folder / "script.py").write_text(block.code)
        return [sys.executable, "script.py"]
    return ["bash", "-euo", "pipefail", "-c", block.code]


def tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else "..." + text[-limit:]


# ---------------------------------------------------------------- the blocks themselves

def test_every_fenced_block_says_what_it_is():
    """bash/sh and python blocks are run; text blocks are layout or output. Anything else would escape the test."""
    unlabelled = {b.id: b.label for b in BLOCKS if b.label not in LABELS}
    assert unlabelled == {}, f"label every block {sorted(LABELS)} (console sessions: a bash block of commands, " \
                             "a text block of output)"
    assert all(b.smoke is None or b.kind in ("shell", "python") for b in BLOCKS)


def test_the_readme_s_install_and_test_command_is_what_ci_runs():
    """Install blocks are not run here; CI runs the README's install-and-test command as written in `.ci/run`."""
    ci = [line.strip() for line in (PROJECT_ROOT / ".ci" / "run").read_text().splitlines()
          if line.strip().startswith("pip install ")]
    assert len(ci) == 1, ci
    installs = [b for b in BLOCKS if b.kind == "install"]
    readme = [c for b in installs if b.page == README for c in b.commands if "pytest" in c]
    assert readme == ci
    elsewhere = {b.id: c for b in installs for c in b.commands if "pytest" in c and c != ci[0]}
    assert elsewhere == {}, f"every install-and-test command must be .ci/run's: {ci[0]}"


def test_smoke_runs_are_short():
    smokes = {b.id: b.smoke for b in BLOCKS if b.smoke is not None}
    assert smokes and all(0 < n <= MAX_SMOKE_SECONDS for n in smokes.values()), smokes


@pytest.mark.parametrize("block", [pytest.param(b, id=b.id) for b in BLOCKS if b.kind == "python"
                                   and b.code.startswith("# ")
                                   and (PROJECT_ROOT / b.code.splitlines()[0][2:].strip()).is_file()])
def test_a_block_showing_a_repository_file_equals_it(block):
    first, _, rest = block.code.partition("\n")
    assert rest == (PROJECT_ROOT / first[2:].strip()).read_text(), f"{block.id} differs from {first[2:]}"


@pytest.mark.slow
@pytest.mark.parametrize("block", blocks_of("shell", "python"))
def test_the_example_runs_as_written(block, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    out = subprocess.run(command_for(block, folder), cwd=folder, env=child_environment(), capture_output=True,
                         text=True, timeout=600)
    assert out.returncode == 0, f"{block.id} exited {out.returncode}:\n{block.code}\n{tail(out.stdout + out.stderr)}"


def group_members(group: int) -> list[int]:
    """The live (not zombie) processes of a process group, from /proc; where there is none, killpg's answer."""
    proc = Path("/proc")
    if not (proc / "self" / "stat").is_file():
        try:
            os.killpg(group, 0)
        except ProcessLookupError:
            return []
        return [group]
    members = []
    for stat in proc.glob("[0-9]*/stat"):
        try:
            state, _ppid, pgrp = stat.read_text().rsplit(")", 1)[1].split()[:3]
        except (OSError, IndexError, ValueError):
            continue  # ended while we looked
        if state != "Z" and int(pgrp) == group:
            members.append(int(stat.parent.name))
    return members


def stop_group(process: subprocess.Popen, grace: float = 60.0) -> None:
    """SIGTERM to the process group the example started, then wait for all of it; SIGKILL what outlives the grace."""
    group = process.pid  # start_new_session: the leader's pid is the group's id
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while process.poll() is None or group_members(group):
        if time.monotonic() > deadline:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, signal.SIGKILL)
            break
        time.sleep(0.5)
    process.wait(timeout=30)


@pytest.mark.slow
@pytest.mark.parametrize("block", blocks_of("shell", "python", smoke=True))
def test_the_long_run_starts_and_has_not_failed_after_its_smoke_seconds(block, tmp_path):
    folder = tmp_path / "work"
    folder.mkdir()
    log = tmp_path / "output.txt"
    with open(log, "w") as output:
        process = subprocess.Popen(command_for(block, folder), cwd=folder, env=child_environment(), stdout=output,
                                   stderr=subprocess.STDOUT, start_new_session=True)
        try:
            deadline = time.monotonic() + block.smoke
            while time.monotonic() < deadline and process.poll() is None:
                time.sleep(0.5)
            code = process.poll()
        finally:
            stop_group(process)
    assert code in (None, 0), f"{block.id} exited {code} within {block.smoke} s:\n{tail(log.read_text())}"


# ---------------------------------------------------------------- quotes, links, size, the architecture

def normalised(text: str) -> str:
    return " ".join(text.split())


def quotes(page: Path) -> list[tuple[int, str, list[str]]]:
    """(line, quoted text, link targets of the paragraph right before it) for every blockquote outside code."""
    _, prose = split_page(page)
    found, i = [], 0
    while i < len(prose):
        number, line = prose[i]
        if not line.startswith(">"):
            i += 1
            continue
        start = i
        while i < len(prose) and prose[i][1].startswith(">") and prose[i][0] == number + (i - start):
            i += 1
        text = normalised(" ".join(re.sub(r"^> ?", "", t) for _, t in prose[start:i]))
        before = [t for _, t in prose[:start]]
        while before and not before[-1].strip():
            before.pop()
        paragraph = []
        while before and before[-1].strip():
            paragraph.insert(0, before.pop())
        targets = [t for t in LINK.findall(" ".join(paragraph)) if "://" not in t and not t.startswith("#")]
        found.append((number + 1, text, targets))
    return found


def test_every_quote_appears_in_the_committed_file_it_is_introduced_by():
    checked = {}
    for page in [README, CONTRIBUTING, *DOCS]:
        for line, text, targets in quotes(page):
            where = f"{rel(page)}:{line}"
            files = [(page.parent / t.split("#")[0]).resolve() for t in targets]
            assert files, f"{where}: a quote needs the paragraph before it to link the file it quotes"
            assert all(f.is_file() for f in files), f"{where}: {targets}"
            sources = [f for f in files if text in normalised(f.read_text())]
            assert sources, f"{where}: not found word for word in {', '.join(targets)}:\n{text}"
            checked[where] = rel(sources[0])
    assert "results/LEADERBOARD.md" in [f for w, f in checked.items() if w.startswith("README.md:")], checked


def anchors(page: Path) -> set[str]:
    """GitHub's heading anchors of a markdown page."""
    _, prose = split_page(page)
    heads = [re.sub(r"^#+\s*", "", t) for _, t in prose if re.match(r"#{1,6}\s", t)]
    return {re.sub(r"[^\w\- ]", "", h.replace("`", "").strip().lower()).replace(" ", "-") for h in heads}


def links(page: Path) -> list[str]:
    """Link and image targets outside code (fenced blocks, and inline code, which may wrap across lines)."""
    _, prose = split_page(page)
    return LINK.findall(INLINE_CODE.sub("", "\n".join(line for _, line in prose)))


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_relative_link_points_to_a_file_that_exists(page):
    broken = []
    for target in links(page):
        if "://" in target or target.startswith(("mailto:", "#")):
            continue
        path, _, anchor = target.partition("#")
        resolved = (page.parent / path).resolve()
        if not resolved.exists():
            broken.append(target)
        elif anchor and resolved.suffix == ".md" and anchor not in anchors(resolved):
            broken.append(f"{target} (no such heading)")
    assert broken == []


REPOSITORY_PATH = re.compile(r"`((?:benchmark|tests|models|results|docs|experiments|datasets|scripts)/[\w./-]+\."
                             r"(?:py|md|toml|json|csv|png))`")


@pytest.mark.parametrize("page", PAGES, ids=rel)
def test_every_file_the_prose_names_exists(page):
    """Paths in inline code (`tests/models/test_models.py`) are not links, but they must not go stale either."""
    _, prose = split_page(page)
    named = REPOSITORY_PATH.findall("\n".join(line for _, line in prose))
    assert [p for p in named if not (PROJECT_ROOT / p).exists()] == []


def test_the_readme_is_short_and_links_every_page():
    assert len(README.read_bytes()) < README_LIMIT
    linked = {(PROJECT_ROOT / t.split("#")[0]).resolve() for t in links(README) if "://" not in t}
    assert DOCS and {*DOCS, CONTRIBUTING} <= linked, sorted(rel(p) for p in {*DOCS, CONTRIBUTING} - linked)
    assert "## Use from Python" in README.read_text()


def test_the_architecture_page_describes_every_declared_part_and_the_data_flow():
    """A row of the parts table per `[parts.NAME]` of docs/architecture.toml, naming every module entry of it."""
    parts = tomllib.loads(ARCHITECTURE_MAP.read_text())["parts"]
    page = PROJECT_ROOT / "docs" / "architecture.md"
    rows = {m.group(1): line for line in page.read_text().splitlines() if (m := re.match(r"\| `([\w]+)` \|", line))}
    missing = {name: [e for e in part["modules"] if f"`{e}`" not in rows.get(name, "")]
               for name, part in parts.items()}
    assert {name: entries for name, entries in missing.items() if name not in rows or entries} == {}
    flow = next(b.code for b in split_page(page)[0] if b.label == "text")
    stages = ["file", "series (target + extra columns)", "split by time", "scaler fitted on training rows",
              "windows [n, lookback, channels]", "model adapter", "forecast table", "metrics and tests",
              "tracking store", "leaderboard and figures"]
    positions = [normalised(flow).find(s) for s in stages]
    assert -1 not in positions and positions == sorted(positions), dict(zip(stages, positions, strict=True))


NUMBER = re.compile(r"(?<![\w.])[−+-]?\d+(?:\.\d+)?(?:e[−-]?\d+)?%?(?![\w])")


def stated_numbers(text: str) -> list[str]:
    """The decimals, exponents and percentages a sentence states (plain integers are counts and names)."""
    found = [n for n in NUMBER.findall(INLINE_CODE.sub("", LINK_TEXT.sub("", text)))
             if "." in n or "e" in n or n.endswith("%")]
    return [n.replace("−", "-").lstrip("+") for n in found]


LINK_TEXT = re.compile(r"\[[^\]]*\]")  # a link's text names a file; its numbers are not claims


def result_paragraphs(page: Path) -> list[tuple[int, str, list[Path]]]:
    """(line, text, the committed results files it links) for every paragraph, list item or table row that links
    a file under results/."""
    _, prose = split_page(page)
    units, current = [], []
    for number, line in [*prose, (None, "")]:
        starts_unit = line.startswith(("- ", "|", "#")) or re.match(r"\d+\. ", line)
        if (not line.strip() or starts_unit) and current:
            units.append(current)
            current = []
        if line.strip() and not line.startswith(">"):
            current.append((number, line))
        if line.startswith(("|", "#")):
            units.append(current)
            current = []
    out = []
    for unit in filter(None, units):
        text = " ".join(t for _, t in unit)
        files = [(page.parent / t.split("#")[0]).resolve() for t in LINK.findall(text)
                 if "://" not in t and not t.startswith("#")]
        files = [f for f in files if f.is_file() and f.suffix in (".md", ".csv", ".json")
                 and (PROJECT_ROOT / "results") in f.parents]
        if files:
            out.append((unit[0][0] + 1, text, files))
    return out


def test_every_number_a_paragraph_states_beside_a_committed_result_is_in_that_file():
    """A paragraph (or list item, or table row) that links a committed result may only state decimals and
    percentages that file prints: a rerun that changes a number fails here until the prose is updated."""
    missing = []
    for page in [README, CONTRIBUTING, *DOCS]:
        for line, text, files in result_paragraphs(page):
            printed = " ".join(normalised(f.read_text()).replace("−", "-").replace("+", "") for f in files)
            for number in stated_numbers(text):
                if not re.search(rf"(?<![\d.]){re.escape(number)}(?!\d)", printed):
                    missing.append(f"{rel(page)}:{line}: {number} not in {', '.join(rel(f) for f in files)}")
    assert missing == []
