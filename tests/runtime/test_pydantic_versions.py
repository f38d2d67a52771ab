"""Row building works, and stays fast, on the oldest and the newest pydantic allowed.

The row maker sets a model instance's state itself (see ``runtime/rows.py``),
which depends on how pydantic lays instances out. This test installs the oldest
pydantic the package's dependency allows and the newest release on the index,
each into its own directory (cached between runs), and runs ``test_rows.py``
under each in a subprocess: a pydantic whose layout moved fails
``test_plain_models_take_the_fast_path_on_this_pydantic``; one whose behaviour
differs fails the comparisons with validated models.

Needs the package index the first time (and once per run for "newest"). Without
one it skips, saying why — except under ``CI``, where it fails.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ROWS_TESTS = "tests/runtime/test_rows.py"
CACHE = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    / "multica-db"
    / "test-pydantic"
)
PIP_TIMEOUT = 240


def _requirement() -> str:
    """The package's own pydantic requirement, e.g. ``pydantic>=2.7,<3``."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    return next(d for d in project["dependencies"] if re.match(r"pydantic\b", d))


def _oldest(requirement: str) -> str:
    found = re.search(r">=\s*([0-9][0-9.]*)", requirement)
    assert found, f"no lower bound in {requirement!r}"
    return found.group(1)


def _unavailable(why: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(why)
    pytest.skip(why)


def _pip(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", *args]
    try:
        return subprocess.run(cmd, capture_output=True, text=True, timeout=PIP_TIMEOUT, check=False)
    except subprocess.TimeoutExpired:
        _unavailable(f"pip did not answer within {PIP_TIMEOUT} s: {' '.join(args[:3])}")
        raise  # unreachable: _unavailable raises


def _newest(requirement: str) -> str:
    """The newest release the requirement allows, as the index says today."""
    done = _pip(
        "install", "--dry-run", "--quiet", "--ignore-installed", "--only-binary", ":all:",
        "--report", "-", requirement,
    )  # fmt: skip
    if done.returncode != 0:
        _unavailable(f"no package index to resolve {requirement!r}: {done.stderr.strip()[-300:]}")
    report = json.loads(done.stdout)
    return next(
        item["metadata"]["version"]
        for item in report["install"]
        if item["metadata"]["name"].lower() == "pydantic"
    )


def _installed(version: str) -> Path:
    """A directory holding ``pydantic==version`` and its dependencies (made once)."""
    target = CACHE / version
    if (target / ".complete").is_file():
        return target
    CACHE.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}-", dir=CACHE))
    try:
        done = _pip(
            "install", "--quiet", "--only-binary", ":all:", "--target", str(staging),
            f"pydantic=={version}",
        )  # fmt: skip
        if done.returncode != 0:
            _unavailable(f"cannot install pydantic=={version}: {done.stderr.strip()[-300:]}")
        (staging / ".complete").write_text(version, encoding="utf-8")
        with contextlib.suppress(OSError):  # another run finished first: use its copy
            staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _run_under(target: Path, version: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(target), str(ROOT)])}
    probe = subprocess.run(
        [sys.executable, "-c", "import pydantic; print(pydantic.VERSION)"],
        capture_output=True, text=True, env=env, check=True, timeout=60,
    )  # fmt: skip
    assert probe.stdout.strip() == version  # the installed copy shadows the venv's
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", ROWS_TESTS],
        capture_output=True, text=True, env=env, cwd=ROOT, check=False, timeout=240,
    )  # fmt: skip
    assert done.returncode == 0, f"row tests under pydantic {version}:\n{done.stdout}{done.stderr}"
    assert re.search(r"\b\d+ passed\b", done.stdout), done.stdout


@pytest.mark.timeout(600)
@pytest.mark.parametrize("which", ["oldest", "newest"])
def test_row_building_under_the_oldest_and_newest_pydantic(which: str) -> None:
    requirement = _requirement()
    version = _oldest(requirement) if which == "oldest" else _newest(requirement)
    if which == "oldest" and not re.fullmatch(r"\d+\.\d+\.\d+", version):
        version += ".0"  # ">=2.7" allows 2.7.0, the true oldest
    _run_under(_installed(version), version)
