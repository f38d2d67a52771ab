"""Watch mode: how long after a save the generated code is current, on the 878-query corpus.

``multica-db watch`` runs as a user would run it, in the corpus (see make_corpus.py),
against the external server. Each sample saves a file and reads the watcher's output
until the line for that change arrives (the line is printed after the files are
written); the time from the save to that line is the sample:

* one query file edited (a query appended to it): until its generated module holds the new
  function (polled every millisecond) — target ≤ 150 ms (median) — and until the watcher's
  line for it (printed after the project's cache files are also written);
* a schema change (a migration adding a column, then removing it again) — target ≤ 3 s.

Baseline in the same run: ``sqlc generate`` of the whole corpus (it has no watch mode:
its user re-runs it on every save).

Usage: ``python benches/watch_bench.py [--quick]``.
"""

from __future__ import annotations

import argparse
import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, PG_URL, Row, machine, save, table

BIN = Path(sys.executable).parent
SQLC = str(BIN / "sqlc") if (BIN / "sqlc").exists() else "sqlc"
DEADLINE = 120.0


class Watcher:
    """``multica-db watch`` in the corpus, its output lines on a queue."""

    def __init__(self, project: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen(
            [
                str(BIN / "multica-db"),
                "watch",
                "--sqlc-config",
                "sqlc.yaml",
                "--out",
                "py/corpus_db",
            ],
            cwd=project,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        self.lines: queue.Queue[tuple[float, str]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.put((time.perf_counter(), line.rstrip("\n")))

    def until(self, predicate: str) -> tuple[float, str]:
        """The next line containing ``predicate``, with the time it arrived."""
        deadline = time.monotonic() + DEADLINE
        while True:
            try:
                at, line = self.lines.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise SystemExit(f"watch printed no line with {predicate!r}") from None
            if line.startswith("error"):
                raise SystemExit(f"watch reported an error: {line}")
            if predicate in line:
                return at, line

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(DEADLINE)


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    args = ap.parse_args(argv)
    edits, schema_runs, sqlc_runs = (5, 2, 2) if args.quick else (15, 5, 5)

    import make_corpus

    corpus = HERE / "corpus"
    make_corpus.build(corpus)
    env = {**os.environ, "MULTICA_DB_ANALYZER_URL": PG_URL}
    env.pop("MULTICA_DB_NO_CACHE", None)

    sqlc = Row("sqlc generate (whole corpus, per save)", [])
    for _ in range(sqlc_runs):
        t = time.perf_counter()
        subprocess.run([SQLC, "generate"], cwd=corpus, check=True, capture_output=True)
        sqlc.samples.append(time.perf_counter() - t)

    edited = sorted((corpus / "queries").glob("*.sql"))[0]
    original = edited.read_text()
    migration = corpus / "migrations" / "999_watch_bench.up.sql"
    schema_dir = migration.parent
    if not schema_dir.is_dir():
        raise SystemExit(f"{schema_dir} is not the corpus's migrations directory")
    edit = Row("watch: 1 query file saved → its module rewritten", [], note="target ≤ 150 ms")
    line = Row("watch: 1 query file saved → its line printed", [], note="after the cache writes")
    schema = Row("watch: schema changed → regenerated", [], note="target ≤ 3 s")
    watcher = Watcher(corpus, env)
    try:
        watcher.until("watching")
        module = corpus / "py" / "corpus_db" / "queries" / f"{edited.stem}.py"
        for i in range(edits):
            edited.write_text(original + f"\n-- name: WatchBench{i} :one\nSELECT {i} AS n;\n")
            saved = time.perf_counter()
            written = _until_contains(module, f"def watch_bench{i}(")
            at, _ = watcher.until(f"{edited.name}: ")
            edit.samples.append(written - saved)
            line.samples.append(at - saved)
        for i in range(schema_runs):
            for text in (
                f"ALTER TABLE {_table(corpus)} ADD COLUMN watch_bench_{i} integer;\n",
                None,
            ):
                if text is None:
                    migration.unlink()
                else:
                    migration.write_text(text)
                saved = time.perf_counter()
                at, _ = watcher.until("schema database rebuilt")
                schema.samples.append(at - saved)
    finally:
        watcher.stop()
        edited.write_text(original)
        migration.unlink(missing_ok=True)
    rows = [sqlc, edit, line, schema]
    text = table("Watch mode: 878-query corpus, external server", rows, baseline=sqlc.label)
    print(text, flush=True)
    save("watch", {"machine": machine(), "rows": rows})
    return text


def _until_contains(path: Path, text: str) -> float:
    """When ``path`` first holds ``text`` (polled every millisecond)."""
    deadline = time.monotonic() + DEADLINE
    while True:
        try:
            if text in path.read_text():
                return time.perf_counter()
        except OSError:
            pass  # between the writer's rename steps
        if time.monotonic() > deadline:
            raise SystemExit(f"{path} never held {text!r}")
        time.sleep(0.001)


def _table(corpus: Path) -> str:
    """A table the corpus's first migration creates."""
    for path in sorted((corpus / "migrations").glob("*.up.sql")):
        text = path.read_text()
        if "CREATE TABLE " in text:
            return text.split("CREATE TABLE ", 1)[1].split("(", 1)[0].strip()
    raise SystemExit("the corpus creates no table")


if __name__ == "__main__":
    main()
