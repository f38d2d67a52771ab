"""Where the snapshot lives, what it promises, and reading and writing it.

Layout, under ``<project root>/.multica-db/snapshot/`` (one folder per package when a
sqlc config holds several)::

    index.json                    the inputs, each file's digest, the generated files' digests
    schema.json                   every table, view, composite and enum of the schema
    queries/users.sql.json        one per query file: its path from the root, plus ``.json``

``index.json`` is what makes the offline check fast: when the current inputs are the
recorded ones, every snapshot file is the one recorded, and the generator and its
settings render what they rendered then, the generated files are current exactly when
their digests are the recorded ones — no file is parsed, rendered or formatted.
Otherwise the check renders from the snapshot files themselves (:func:`load`).

The cache folder next to it (``.multica-db/cache/``) is given a ``.gitignore`` of its
own (:func:`ignore_cache`): ``git add -A`` after ``generate`` picks up the snapshot
and the generated code, and nothing else.

This module imports only the standard library at load time; the IR is imported
when a snapshot file is actually read or written.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from multica_db_codegen import cache
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.snapshot import fingerprint
from multica_db_codegen.snapshot.jsonfile import VERSION, DocumentError, dumps, loads

if TYPE_CHECKING:
    from multica_db_codegen.analyze.ir import EnumIR, FileIR, TableIR

SNAPSHOT_DIR = os.path.join(".multica-db", "snapshot")
INDEX = "index.json"
SCHEMA = "schema.json"
QUERY_SUFFIX = ".json"
REFRESH = "`multica-db generate` (with the analyzer's PostgreSQL reachable), then commit"
GENERATED_DIRS = ("queries", "queries/aio", "runtime")  # where generate deletes strays


def snapshot_dir(root: Path, package: str | None = None) -> Path:
    """The snapshot folder of a project (``package``: one of a sqlc config's several)."""
    base = root / SNAPSHOT_DIR
    return base / package if package else base


def query_name(rel: str) -> str:
    """The snapshot file of the query file at ``rel`` (from the root): ``<rel>.json``.

    A query file outside the root (``../shared/q.sql``) keeps its path, with each ``..``
    spelled ``__up__`` so that it stays inside the snapshot folder. The index and the
    schema's file are at the top and never end in ``.sql.json``, unlike these.
    """
    parts = ["__up__" if p == ".." else p for p in rel.split("/")]
    name = "/".join(parts) + QUERY_SUFFIX
    return f"_{name}" if name in (INDEX, SCHEMA) else name  # a query file called "index"


def ignore_cache(root: Path) -> None:
    """Give ``.multica-db/cache/`` a ``.gitignore`` of ``*`` (as ``.pytest_cache`` has).

    Never raises: a read-only project only misses the convenience.
    """
    path = Path(cache.project_dir(str(root))) / ".gitignore"
    text = "# created by multica-db: the cache is per machine, never committed\n*\n"
    try:
        if cache.read_bytes(str(path)) != text.encode():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
    except OSError as exc:
        cache.log(str(root), f"cannot write {path}: {exc}")


# --- the inputs as they are now -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Inputs:
    """Everything an analysis depends on, read from disk without a database."""

    config: dict[str, list[str]]
    generator: str
    schema_files: dict[str, str]  # schema file (from the root) → digest, in applied order
    queries: dict[str, str]  # query file (from the root) → digest of its text
    schema: str = ""  # the whole schema's digest (computed from ``schema_files``)

    def __post_init__(self) -> None:
        object.__setattr__(self, "schema", fingerprint.schema_digest(self.schema_files))

    def for_query(self, rel: str) -> dict[str, Any]:
        """What one query file's snapshot records."""
        return {
            "config": self.config,
            "generator": self.generator,
            "query": self.queries[rel],
            "schema": self.schema,
        }

    def for_schema(self) -> dict[str, Any]:
        return {
            "config": self.config,
            "generator": self.generator,
            "schema": self.schema,
            "schema_files": self.schema_files,
        }


def current_inputs(
    root: Path,
    schema: Iterable[Path],
    query_files: Iterable[Path],
    texts: Mapping[Path, str],
    schema_texts: Mapping[str, str] | None = None,
) -> Inputs:
    """The inputs now. ``texts``: query files already read; ``schema_texts``: schema files
    already read, by absolute path (the rest are read here)."""
    schema = list(schema)
    queries: dict[str, str] = {}
    for p in query_files:
        text = texts.get(p)
        queries[fingerprint.relative(p, root)] = fingerprint.digest(
            text if text is not None else fingerprint.read_text(p)
        )
    return Inputs(
        config=fingerprint.config_of(schema, root),
        generator=fingerprint.generator_version(),
        schema_files=fingerprint.schema_digests(schema, root, schema_texts),
        queries=queries,
    )


# --- staleness ----------------------------------------------------------------------------


class Stale(GenerateError):
    """The snapshot does not describe the inputs as they are: what changed, and the fix."""

    def __init__(self, where: Path, reasons: list[str]) -> None:
        shown = reasons[:20]
        if len(reasons) > len(shown):
            shown.append(f"… and {len(reasons) - len(shown)} more")
        super().__init__(
            f"the analysis snapshot ({where}) is stale:\n"
            + "\n".join(f"  - {r}" for r in shown)
            + f"\nrefresh it: {REFRESH} the snapshot with the generated code"
        )
        self.reasons = reasons


class Unreadable(GenerateError):
    """A snapshot file that cannot be read (merge conflict, hand edit, another layout)."""


def _changed_files(old: Mapping[str, Any], new: Mapping[str, str], what: str) -> list[str]:
    out: list[str] = []
    for rel, d in new.items():
        if rel not in old:
            out.append(f"{what} {rel} is new since the snapshot")
        elif old[rel] != d:
            out.append(f"{what} {rel} changed since the snapshot")
    out += [f"{what} {rel} was removed since the snapshot" for rel in old if rel not in new]
    return out


def shared_reasons(recorded: Mapping[str, Any], now: Inputs) -> list[str]:
    """Why the schema, configuration or generator recorded are not the current ones."""
    reasons: list[str] = []
    if recorded.get("generator") != now.generator:
        reasons.append(
            f"the generator is {now.generator}, "
            f"the snapshot was made by {recorded.get('generator')}"
        )
    if recorded.get("config") != now.config:
        reasons.append(
            f"the configuration's schema paths are {now.config.get('schema')}, the snapshot's "
            f"were {(recorded.get('config') or {}).get('schema')}"
        )
    files = recorded.get("schema_files")
    if isinstance(files, dict):
        reasons += _changed_files(files, now.schema_files, "schema file")
    elif recorded.get("schema") != now.schema:
        reasons.append("the schema changed since the snapshot")
    return reasons


def query_reasons(recorded: Mapping[str, Any], now: Inputs, rel: str) -> list[str]:
    """Why one query file's recorded inputs are not the current ones."""
    if recorded.get("query") != now.queries.get(rel):
        return [f"query file {rel} changed since the snapshot"]
    if (recorded.get("generator"), recorded.get("config"), recorded.get("schema")) != (
        now.generator,
        now.config,
        now.schema,
    ):
        return [f"query file {rel} was analyzed against another schema or generator"]
    return []


# --- reading ------------------------------------------------------------------------------


def _read(directory: Path, name: str) -> str | None:
    data = cache.read_bytes(str(directory / name))
    return None if data is None else data.decode("utf-8", "replace")


def read_index(directory: Path) -> dict[str, Any] | None:
    """The index, None when there is none; :class:`Unreadable` when it cannot be read."""
    text = _read(directory, INDEX)
    if text is None:
        return None
    try:
        return loads(text, str(directory / INDEX))
    except DocumentError as exc:
        raise Unreadable(f"{exc}: run {REFRESH}") from None


def stale_reasons(directory: Path, index: dict[str, Any] | None, now: Inputs) -> list[str]:
    """Every input that differs from the index's (all of them when there is no snapshot)."""
    if index is None:
        return [f"there is no snapshot in {directory}"]
    inputs = index.get("inputs")
    if not isinstance(inputs, dict):
        return ["the snapshot index records no inputs"]
    reasons = shared_reasons(inputs, now)
    queries = inputs.get("queries")
    old = queries if isinstance(queries, dict) else {}
    reasons += _changed_files(old, now.queries, "query file")
    return reasons


def vouches(directory: Path, index: dict[str, Any], renderer: str, out: Path) -> bool:
    """True when the index alone proves the generated files current (no render needed).

    Its precondition — the inputs are the recorded ones — is :func:`stale_reasons` being
    empty. Then: every snapshot file has the recorded digest, the renderer and its
    settings are the recorded ones, every generated file has the recorded digest, and no
    other module sits where ``generate`` would delete one.
    """
    files = index.get("files")
    generated = index.get("generated")
    if index.get("renderer") != renderer or not isinstance(files, dict):
        return False
    if not isinstance(generated, dict):
        return False
    for name, d in files.items():
        text = _read(directory, name)
        if text is None or fingerprint.digest(text) != d:
            return False
    on_disk = {n for n in _listing(directory)}
    if on_disk != set(files):
        return False
    for rel, d in generated.items():
        try:
            text = (out / rel).read_text(encoding="utf-8")
        except (OSError, ValueError):
            return False
        if fingerprint.digest(text) != d:
            return False
    for sub in GENERATED_DIRS:
        try:
            names = os.listdir(out / sub)
        except OSError:
            continue
        if any(n.endswith(".py") and f"{sub}/{n}" not in generated for n in names):
            return False
    return True


def _listing(directory: Path) -> list[str]:
    """Every snapshot file but the index, relative to the folder, with ``/``."""
    found: list[str] = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        rel = Path(dirpath).relative_to(directory).as_posix()
        for n in sorted(filenames):
            name = n if rel == "." else f"{rel}/{n}"
            if n.endswith(".json") and name != INDEX:
                found.append(name)
    return found


@dataclass(frozen=True, slots=True)
class Loaded:
    """What the snapshot says: every listed query file's analysis, and the schema's."""

    files: dict[Path, FileIR]
    tables: tuple[TableIR, ...]
    enums: tuple[EnumIR, ...]
    warnings: tuple[str, ...]


def load(directory: Path, root: Path, query_files: Iterable[Path], now: Inputs) -> Loaded:
    """Read every snapshot file the current inputs need, checking each one's inputs.

    Raises :class:`Stale` listing every file whose recorded inputs differ (or that is
    missing), and :class:`Unreadable` for a file that cannot be read at all.
    """
    from multica_db_codegen.snapshot.document import read_query_document, read_schema_document

    reasons: list[str] = []
    files: dict[Path, FileIR] = {}
    tables: tuple[TableIR, ...] = ()
    enums: tuple[EnumIR, ...] = ()
    warnings: tuple[str, ...] = ()
    try:
        text = _read(directory, SCHEMA)
        if text is None:
            reasons.append(f"there is no schema snapshot ({directory / SCHEMA})")
        else:
            recorded, tables, enums, warnings = read_schema_document(text, str(directory / SCHEMA))
            reasons += shared_reasons(recorded, now)
        wanted: set[str] = set()
        for p in query_files:
            rel = fingerprint.relative(p, root)
            name = query_name(rel)
            wanted.add(name)
            text = _read(directory, name)
            if text is None:
                reasons.append(f"query file {rel} is not in the snapshot")
                continue
            recorded, fir = read_query_document(text, str(directory / name), str(p))
            reasons += query_reasons(recorded, now, rel)
            files[p] = fir
    except DocumentError as exc:
        raise Unreadable(f"{exc}: run {REFRESH}") from None
    reasons += [
        f"{directory / n} describes a query file that no longer exists"
        for n in _listing(directory)
        if n != SCHEMA and n not in wanted
    ]
    if reasons:
        raise Stale(directory, list(dict.fromkeys(reasons)))
    return Loaded(files, tables, enums, warnings)


# --- writing ------------------------------------------------------------------------------


def write(
    directory: Path,
    root: Path,
    now: Inputs,
    query_files: Iterable[Path],
    *,
    analysis: Callable[[Path], FileIR],
    fresh: Iterable[Path],
    schema: Callable[[], tuple[tuple[TableIR, ...], tuple[EnumIR, ...], tuple[str, ...]]],
    schema_fresh: bool,
    renderer: str,
    generated: Mapping[str, str],
) -> list[Path]:
    """Bring the snapshot up to date with a successful ``generate``; return the files written.

    A query file's snapshot is rewritten when its recorded inputs differ, or when it was
    analyzed again in this run (``fresh``: another server may have said something
    else) and the text differs; otherwise ``analysis`` is not even called. The same
    for the schema (``schema``, ``schema_fresh``). Files of query files that no longer
    exist are removed. ``generated``: every generated file (relative to the output
    directory) and its text, as written.
    """
    from multica_db_codegen.snapshot.document import schema_json

    old: dict[str, Any] | None
    try:
        old = read_index(directory)
    except Unreadable:
        old = None
    old_files = old.get("files") if old is not None else None
    old_digests: dict[str, Any] = old_files if isinstance(old_files, dict) else {}
    recorded_ok = old is not None and not shared_reasons(old.get("inputs") or {}, now)
    old_queries = (old.get("inputs") or {}).get("queries") if old is not None else None
    fresh_set = set(fresh)
    written: list[Path] = []
    digests: dict[str, str] = {}

    def keep(name: str, current: bool, compute: Callable[[], dict[str, Any]]) -> None:
        existing = _read(directory, name)
        found = None if existing is None else fingerprint.digest(existing)
        if current and found is not None and found == old_digests.get(name):
            digests[name] = found  # byte for byte what an earlier run wrote for these inputs
            return
        doc = compute()
        if existing is not None and found is not None and _same(existing, doc):
            digests[name] = found  # analyzed again, and it says the same: left as it is
            return
        text = dumps(doc)
        digests[name] = fingerprint.digest(text)
        _write_text(directory / name, text)
        written.append(directory / name)

    keep(
        SCHEMA,
        recorded_ok and not schema_fresh,
        lambda: schema_json(*schema(), now.for_schema()),
    )
    for p in query_files:
        rel = fingerprint.relative(p, root)
        unchanged = (
            recorded_ok
            and isinstance(old_queries, dict)
            and old_queries.get(rel) == now.queries[rel]
            and p not in fresh_set
        )
        keep(query_name(rel), unchanged, functools.partial(_query_text, analysis, p, rel, now))
    for name in _listing(directory):
        if name not in digests:
            (directory / name).unlink(missing_ok=True)
            written.append(directory / name)
    _prune_empty(directory)
    index = {
        "version": VERSION,
        "inputs": {**now.for_schema(), "queries": now.queries},
        "files": digests,
        "renderer": renderer,
        "generated": {rel: fingerprint.digest(t) for rel, t in sorted(generated.items())},
    }
    text = dumps(index)
    if _read(directory, INDEX) != text:
        _write_text(directory / INDEX, text)
        written.append(directory / INDEX)
    ignore_cache(root)
    return written


def _query_text(
    analysis: Callable[[Path], FileIR], p: Path, rel: str, now: Inputs
) -> dict[str, Any]:
    from multica_db_codegen.snapshot.document import query_json

    return query_json(analysis(p), rel, now.for_query(rel))


def _same(text: str, doc: dict[str, Any]) -> bool:
    """The file already holds ``doc`` (parsing it is much cheaper than laying ``doc`` out)."""
    try:
        return bool(json.loads(text) == doc)
    except ValueError:
        return False


def _write_text(path: Path, text: str) -> None:
    """Atomically: a concurrent reader sees the old file or the new one."""
    import tempfile

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _prune_empty(directory: Path) -> None:
    for dirpath, _dirs, _files in sorted(os.walk(directory), reverse=True):
        if dirpath != str(directory):
            with contextlib.suppress(OSError):
                os.rmdir(dirpath)
