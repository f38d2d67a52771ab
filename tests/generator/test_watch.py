"""``multica-db watch``: saves regenerate, errors are reported without exiting, Ctrl-C stops.

Every wait is on a condition (a line printed, a file's content) with a generous
deadline, never a fixed sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from multica_db_codegen import watch
from multica_db_codegen.project import Flags
from multica_db_codegen.runner import Runner

QUERIES = "-- name: GetAuthor :one\nSELECT id, name FROM author WHERE id = $1;\n"
DEADLINE = 60.0


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + DEADLINE
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.02)  # polling the condition


class Watcher:
    """``watch.run`` in a thread, its lines collected."""

    def __init__(self, root: Path, analyzer_url: str) -> None:
        self.root = root
        self.lines: list[str] = []
        self.stop = threading.Event()
        runner = Runner(Flags(cwd=root, database_url=analyzer_url))
        self.thread = threading.Thread(
            target=watch.run,
            args=(runner,),
            kwargs={
                "root": runner.project.root,
                "echo": self.lines.append,
                "stop": self.stop,
            },
            daemon=True,
        )

    def printed(self, text: str, after: int = 0) -> Callable[[], bool]:
        return lambda: any(text in line for line in self.lines[after:])


@pytest.fixture
def watcher(project: Callable[..., Path], analyzer_url: str) -> Iterator[Watcher]:
    w = Watcher(project(QUERIES), analyzer_url)
    w.thread.start()
    wait_for(w.printed("watching"), "the watcher to start")
    try:
        yield w
    finally:
        w.stop.set()
        w.thread.join(DEADLINE)
        assert not w.thread.is_alive()
        assert w.lines[-1] == "stopped"


def module(root: Path) -> Path:
    return root / "out" / "pkg" / "queries" / "authors.py"


def test_saving_a_query_file_regenerates_its_module(watcher: Watcher) -> None:
    root = watcher.root
    assert "def get_author(" in module(root).read_text()
    assert watcher.lines[0].startswith("generate: ")
    (root / "queries" / "authors.sql").write_text(
        QUERIES + "\n-- name: ListAuthors :many\nSELECT id, bio FROM author ORDER BY id;\n"
    )
    wait_for(lambda: "def list_authors(" in module(root).read_text(), "the regenerated module")
    wait_for(watcher.printed("queries/authors.sql: 2 file(s) written"), "the change's line")
    line = next(x for x in watcher.lines if x.startswith("queries/authors.sql"))
    assert "queries/authors.py" in line
    assert line.endswith((" ms", " s"))


def test_an_error_is_reported_and_watching_goes_on(watcher: Watcher) -> None:
    root = watcher.root
    before = module(root).read_text()
    (root / "queries" / "authors.sql").write_text(
        "-- name: GetAuthor :one\nSELECT id, nmae FROM author WHERE id = $1;\n"
    )
    wait_for(watcher.printed("1 error(s), nothing written"), "the error")
    error = next(x for x in watcher.lines if x.startswith("error: "))
    assert 'authors.sql:2:12: query GetAuthor: column "nmae" does not exist' in error
    assert module(root).read_text() == before
    (root / "queries" / "authors.sql").write_text(
        "-- name: GetAuthor :one\nSELECT id, bio FROM author WHERE id = $1;\n"
    )
    wait_for(lambda: "bio" in module(root).read_text(), "the fixed query's module")


def test_a_schema_change_rebuilds_the_schema_database(watcher: Watcher) -> None:
    root = watcher.root
    (root / "schema" / "002_nick.up.sql").write_text("ALTER TABLE author ADD COLUMN nick text;\n")
    wait_for(watcher.printed("schema database rebuilt"), "the schema change's line")
    models = root / "out" / "pkg" / "models.py"
    wait_for(lambda: "nick: str | None" in models.read_text(), "the new column in models")
    mark = len(watcher.lines)
    (root / "queries" / "authors.sql").write_text(
        "-- name: GetNick :one\nSELECT nick FROM author WHERE id = $1;\n"
    )
    wait_for(lambda: "def get_nick(" in module(root).read_text(), "a query using the new column")
    assert not any(x.startswith("error") for x in watcher.lines[mark:])


def test_a_config_change_regenerates(watcher: Watcher) -> None:
    root = watcher.root
    pyproject = root / "pyproject.toml"
    pyproject.write_text(pyproject.read_text() + '\n[tool.multica-db.rename]\nauthor = "Writer"\n')
    models = root / "out" / "pkg" / "models.py"
    wait_for(lambda: "class Writer(" in models.read_text(), "the renamed model")
    wait_for(watcher.printed("pyproject.toml: "), "the config change's line")


def test_ctrl_c_stops_cleanly(project: Callable[..., Path], analyzer_url: str) -> None:
    root = project(QUERIES)
    env = {**os.environ, "MULTICA_DB_ANALYZER_URL": analyzer_url}
    proc = subprocess.Popen(
        [sys.executable, "-c", "from multica_db_codegen.cli import main; main()", "watch"],
        cwd=root,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # Ctrl-C must reach it as in a terminal, whatever this test runner ignores.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    assert proc.stdout is not None
    lines: list[str] = []

    def read() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            lines.append(line)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        wait_for(lambda: any("watching" in x for x in lines), "the watcher to start")
        proc.send_signal(signal.SIGINT)
        assert proc.wait(DEADLINE) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    reader.join(DEADLINE)
    assert lines[-1].strip() == "stopped"
    assert not any("Traceback" in x for x in lines)


def test_a_config_naming_another_query_folder_is_followed(
    project: Callable[..., Path], analyzer_url: str
) -> None:
    root = project(QUERIES)
    w = Watcher(root, analyzer_url)
    w.thread.start()
    try:
        wait_for(w.printed("watching 3 path(s)"), "the watcher to start")
        (root / "more").mkdir()
        (root / "more" / "extra.sql").write_text(
            "-- name: CountAuthors :one\nSELECT count(*) FROM author;\n"
        )
        pyproject = root / "pyproject.toml"
        pyproject.write_text(pyproject.read_text().replace('"queries"]', '"queries", "more"]'))
        extra = root / "out" / "pkg" / "queries" / "extra.py"
        wait_for(lambda: extra.is_file() and "def count_authors(" in extra.read_text(), "extra.py")
        wait_for(w.printed("watching 4 path(s)"), "the new folder to be watched")
        (root / "more" / "extra.sql").write_text(
            "-- name: CountBios :one\nSELECT count(bio) FROM author;\n"
        )
        wait_for(lambda: "def count_bios(" in extra.read_text(), "a save in the new folder")
    finally:
        w.stop.set()
        w.thread.join(DEADLINE)
    assert not w.thread.is_alive()
