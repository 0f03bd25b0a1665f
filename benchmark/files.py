"""Where the bundled folders are, and writing output files so that readers never see half of one."""

from __future__ import annotations

import os
import subprocess
import tempfile
from collections.abc import Callable
from pathlib import Path

from benchmark.errors import BenchmarkError

# In a source checkout, the folder that holds the package, models/, datasets/ and experiments/.
PROJECT_ROOT = Path(__file__).resolve().parent.parent


def git_commit() -> str:
    """The source checkout's commit; "unknown" for an installed package (which has no checkout)."""
    if not (PROJECT_ROOT / ".git").exists():
        return "unknown"
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True,
                             timeout=5)
        return out.stdout.strip() or "unknown"
    except (OSError, subprocess.SubprocessError):
        return "unknown"


def bundled(name: str) -> Path:
    """The bundled `models` or `datasets` folder: inside the installed package (a wheel carries them as
    benchmark/bundled_NAME), else beside the package in a source checkout (the repository keeps them there)."""
    installed = Path(__file__).resolve().parent / f"bundled_{name}"
    return installed if installed.is_dir() else PROJECT_ROOT / name


def atomic_write(path: Path, write: Callable[[Path], None]) -> None:
    """Write through a temporary file in the same folder, then rename: readers never see half a file."""
    path = Path(path)
    tmp = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=path.suffix)
        os.close(fd)
        write(Path(tmp))
        os.chmod(tmp, 0o644)  # mkstemp makes 0600; a report is meant to be read
        os.replace(tmp, path)
    except OSError as exc:  # a full disk, a vanished folder: one line, and the old file (if any) left whole
        raise BenchmarkError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)


def check_writable(folder: Path) -> None:
    """Prove files can be written in `folder` without creating it yet (nothing is made before every input is
    checked): a probe file in the folder, or in its nearest existing ancestor (os.access lies to root)."""
    existing = folder
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    try:
        if not existing.is_dir():
            raise NotADirectoryError(20, "not a folder", str(existing))
        with tempfile.TemporaryFile(dir=existing):
            pass
    except OSError as exc:
        raise BenchmarkError(f"results folder {folder} is not writable ({exc.strerror or exc})") from None
