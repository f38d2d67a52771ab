"""``generate --check`` on a fresh clone with no database, against ``sqlc generate``.

The projects: the synthetic corpus (878 queries, 432 migrations; make_corpus.py) and a
copy of our own ``queries/`` + migrations. Each is generated once with the analyzer
reachable (which writes the analysis snapshot), then copied as a clone would get it —
the committed files only: no ``.multica-db/cache/``, no schema database — and checked with
``MULTICA_DB_ANALYZER_URL`` pointing at a port nothing listens on:

* check, index vouches — the usual CI run: inputs hashed, the generated files' digests
  compared with the snapshot's index; nothing parsed, rendered or formatted;
* check, rendering from the snapshot — the same, with the index's renderer key changed (as
  after upgrading the generator's renderer): the snapshot is rendered, formatted and compared;
* one query edited, not regenerated — must exit 1 naming the file (checked, not timed).

Each check run follows a ``sqlc generate`` run of the same project (paired ratios), and
the clone's cache folder is removed before each run so every run is a first run.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import HERE, PG_URL, Row, machine, save, table
from generator_bench import MULTICA, SQLC, _own_project, run, snapshot_generator

UNREACHABLE = "postgresql://127.0.0.1:1/x"
SNAPSHOT = Path(".multica-db") / "snapshot"


def fresh_clone(project: Path, dest: Path) -> Path:
    """What a clone of the project holds: every file but the cache and sqlc's output."""
    shutil.rmtree(dest, ignore_errors=True)
    shutil.copytree(
        project,
        dest,
        ignore=lambda d, names: [
            n
            for n in names
            if n in ("cache", "go")
            or (Path(d) == project and (n.startswith("_") or n in ("noext", "own")))
        ],
    )
    return dest


def bench_offline(name: str, project: Path, args: list[str], runs: int) -> tuple[list[Row], str]:
    env = dict(os.environ)
    env.pop("MULTICA_DB_NO_CACHE", None)
    env["PYTHONPATH"] = str(HERE / "corpus" / "_generator")
    env["MULTICA_DB_ANALYZER_URL"] = PG_URL
    _wall, _peak, rc, err = run([MULTICA, "generate", *args], project, env)
    if rc != 0 or not (project / SNAPSHOT / "index.json").is_file():
        raise SystemExit(f"{name}: generate failed or wrote no snapshot ({rc}):\n{err}")
    clone = fresh_clone(project, HERE / "corpus" / "_clones" / project.name)
    offline = {**env, "MULTICA_DB_ANALYZER_URL": UNREACHABLE}
    check = [MULTICA, "generate", "--check", *args]
    rows = {
        k: Row(k, [])
        for k in ("sqlc generate", "check, index vouches", "check, rendering from the snapshot")
    }

    def record(label: str, cmd: list[str], environ: dict[str, str]) -> None:
        shutil.rmtree(clone / ".multica-db" / "cache", ignore_errors=True)  # a first run
        wall, peak, rc, err = run(cmd, clone, environ)
        if rc != 0:
            raise SystemExit(f"{name}: {' '.join(cmd)} failed ({rc}):\n{err}")
        rows[label].samples.append(wall)
        rows[label].peak_mb.append(peak)

    for _ in range(runs):
        shutil.rmtree(clone / "go", ignore_errors=True)
        record("sqlc generate", [SQLC, "generate"], env)
        record("check, index vouches", check, offline)
    index = clone / SNAPSHOT / "index.json"
    original = index.read_text()
    doc = json.loads(original)
    doc["renderer"] = "another renderer"
    index.write_text(json.dumps(doc))
    try:
        for _ in range(runs):
            shutil.rmtree(clone / "go", ignore_errors=True)
            record("sqlc generate", [SQLC, "generate"], env)
            record("check, rendering from the snapshot", check, offline)
    finally:
        index.write_text(original)

    edited = sorted((clone / "queries").glob("*.sql"))[0]
    edited.write_text(edited.read_text() + "\n-- name: OfflineEdit :one\nSELECT 1 AS one;\n")
    shutil.rmtree(clone / ".multica-db" / "cache", ignore_errors=True)
    _wall, _peak, rc, err = run(check, clone, offline)
    rel = edited.relative_to(clone).as_posix()
    stale_ok = rc == 1 and rel in err and "multica-db generate" in err
    rows["sqlc generate"].note = "paired: one before each check run"
    rows["check, index vouches"].note = "no database; hashing only"
    rows["check, rendering from the snapshot"].note = "no database; render + ruff + compare"
    sqlc = rows["sqlc generate"].samples
    vouched = rows["check, index vouches"].samples
    rendered = rows["check, rendering from the snapshot"].samples
    r1 = statistics.median(c / s for c, s in zip(vouched, sqlc[:runs], strict=True))
    r2 = statistics.median(c / s for c, s in zip(rendered, sqlc[runs:], strict=True))
    verdict = (
        f"- fresh clone, no database, check ≤ 0.5× sqlc: {r1:.2f}× (paired) → "
        f"{'PASS' if r1 <= 0.5 else 'FAIL'}; rendering from the snapshot: {r2:.2f}×\n"
        f"- one query edited without regenerating: exit {rc}, "
        f"{'names ' + rel if rel in err else 'does NOT name the file'} → "
        f"{'PASS' if stale_ok else 'FAIL'}\n"
    )
    return list(rows.values()), verdict


def main(argv: list[str] | None = None) -> str:
    ap = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    args = ap.parse_args(argv)
    runs = 3 if args.quick else 7

    import make_corpus

    corpus = HERE / "corpus"
    make_corpus.build(corpus)
    own = _own_project(corpus / "own")
    snapshot_generator()
    out: list[str] = []
    results: dict[str, object] = {"machine": machine()}
    for title, project, flags in [
        (
            "corpus (878 queries, 432 migrations)",
            corpus,
            ["--sqlc-config", "sqlc.yaml", "--out", "py/corpus_db"],
        ),
        ("own queries/", own, []),
    ]:
        rows, verdict = bench_offline(title, project, flags, runs)
        text = table(f"Offline check: {title}", rows, baseline="sqlc generate")
        text += "\n" + verdict
        print(text, flush=True)
        out.append(text)
        results[title] = rows
    save("offline", results)
    return "\n".join(out)


if __name__ == "__main__":
    main()
