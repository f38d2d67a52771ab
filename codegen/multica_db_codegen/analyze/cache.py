"""Caches that make regenerating an unchanged (or slightly changed) project cheap.

Three layers, each keyed by a hash of *everything* that can change its value,
so a hit is always what a full run would produce:

* the **run**: the formatted text of every generated file, keyed by the
  generator's own source, the configuration, the pyproject (ruff settings), the
  analyzer's server and every schema and query file's path and bytes. When it
  hits, ``generate`` compares files on disk and touches neither PostgreSQL nor
  ruff — and imports neither psycopg nor pglast;
* the **analysis of each query file** (its ``FileIR``), keyed by the generator,
  the server, the schema's hash and the file's path and bytes: editing one file
  re-parses and re-describes only that file;
* the **formatted text** of each rendered module, keyed by ruff's version, the
  pyproject and the unformatted text: ruff only runs on modules that changed.

The schema itself is applied once per server into a read-only database named
after its hash (see :func:`multica_db_codegen.analyze.server.schema_database`),
built in a background thread while the query files are parsed.

Everything lives in ``<project>/.multica-db/cache/`` (gitignored) as JSON —
never pickle, so a planted cache file cannot run code. ``MULTICA_DB_NO_CACHE=1``
turns every layer off. Known limit: the server is identified by its URL (or the
embedded server's package version), not by asking it, so that the warm path
needs no connection; after upgrading PostgreSQL in place behind the same URL,
delete the cache directory.
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import hashlib
import json
import os
import sys
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported when used: the warm path should load as little as possible
    from concurrent.futures import Future, ThreadPoolExecutor

ENV_OFF = "MULTICA_DB_NO_CACHE"
ENV_URL = "MULTICA_DB_ANALYZER_URL"  # the analyzer's server (server.py reads it from here)
CACHE_DIR = Path(".multica-db") / "cache"
FORMAT = 3  # bump when the layout of the cache files changes

_PACKAGE_DIR = Path(__file__).resolve().parent.parent  # multica_db_codegen/


def user_cache_dir() -> Path:
    """The user's multica-db directory: the embedded server, the compiled templates.

    What lives here belongs to the installed generator, not to one project.
    """
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "multica-db"


def enabled() -> bool:
    return os.environ.get(ENV_OFF, "").strip().lower() in ("", "0", "false", "no")


def _sha(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        b = p.encode() if isinstance(p, str) else p
        h.update(len(b).to_bytes(8, "little"))
        h.update(b)
    return h.hexdigest()


@functools.cache
def _dist_infos() -> dict[str, Path]:
    """Normalized distribution name → its first ``.dist-info`` directory on ``sys.path``."""
    found: dict[str, Path] = {}
    for entry in sys.path:
        try:
            names = sorted(os.listdir(entry or "."))
        except OSError:
            continue
        for n in names:
            if n.endswith(".dist-info"):
                dist = n.split("-", 1)[0].lower().replace(".", "_")
                found.setdefault(dist, Path(entry or ".") / n)
    return found


def _version(dist: str) -> str:
    """The installed version of ``dist``, as importlib.metadata reports it.

    Read from its ``.dist-info/METADATA`` directly: importing importlib.metadata
    costs more than the rest of a warm run's start-up. Anything unusual falls back.
    """
    info = _dist_infos().get(dist.lower().replace("-", "_").replace(".", "_"))
    if info is not None:
        try:
            with open(info / "METADATA", encoding="utf-8") as fh:
                for line in fh:
                    if line.startswith("Version:"):
                        return line.split(":", 1)[1].strip()
                    if not line.strip():
                        break
        except OSError:
            pass
    import importlib.metadata

    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "-"


@functools.cache
def generator_hash() -> str:
    """The generator's source (every .py and template) and the libraries that shape output."""
    parts: list[str | bytes] = [f"cache-format {FORMAT}", sys.version]
    for dist in ("pglast", "ruff", "jinja2", "psycopg"):
        parts.append(f"{dist} {_version(dist)}")
    for path in sorted(_PACKAGE_DIR.rglob("*")):
        if path.is_file() and path.suffix in (".py", ".j2", ".json", ".toml", ".txt"):
            parts += [path.relative_to(_PACKAGE_DIR).as_posix(), path.read_bytes()]
    return _sha(*parts)


def tree_digest(paths: Iterable[Path]) -> str:
    """Every file named or under a named directory: relative path and bytes.

    Deliberately wider than what the stages read (all files, not only ``.sql`` up
    migrations, symlinked directories followed as rglob does): an unrelated file can only
    cause a miss, never a stale hit.
    """
    parts: list[str | bytes] = []
    for root in paths:
        parts.append(f"root {root}")
        if root.is_file():
            parts.append(root.read_bytes())
        elif root.is_dir():
            for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
                dirnames.sort()
                rel = os.path.relpath(dirpath, root)
                for name in sorted(filenames):
                    with open(os.path.join(dirpath, name), "rb") as fh:
                        parts += [f"{rel}/{name}", fh.read()]
        else:
            parts.append("missing")
    return _sha(*parts)


def server_identity(explicit_url: str | None) -> str:
    """Which PostgreSQL describes the queries, without contacting it."""
    url = explicit_url or os.environ.get(ENV_URL)
    return f"url {url}" if url else f"embedded pgserver {_version('pgserver')}"


# --- JSON codec for the IR -------------------------------------------------------------------


@functools.cache
def _ir_types() -> dict[str, type]:
    from multica_db_codegen.analyze import ir

    return {
        n: c for n, c in vars(ir).items() if isinstance(c, type) and dataclasses.is_dataclass(c)
    }


_PLAIN = (str, int, float, bool, type(None))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class _Encoder:
    """Encodes one IR tree; each distinct ``TypeRef`` is written once and referenced.

    Only exact types are accepted (no str or int subclasses such as enums), so
    decoding gives back objects equal *and* of the same types, or encoding fails
    and the file is simply not cached.
    """

    def __init__(self) -> None:
        self.types: list[Any] = []
        self._by_id: dict[int, int] = {}
        self._by_value: dict[Any, int] = {}
        self._classes = {c: n for n, c in _ir_types().items()}
        self._typeref = _ir_types().get("TypeRef")

    def __call__(self, obj: Any) -> Any:
        t = type(obj)
        if t in _PLAIN:
            return obj
        if t is tuple:
            return [self(x) for x in obj]
        if t is self._typeref:
            i = self._by_id.get(id(obj))
            if i is None:
                i = self._by_value.get(obj)
                if i is None:
                    data = self._dataclass(obj)  # nested types first: refs point backwards
                    i = self._by_value[obj] = len(self.types)
                    self.types.append(data)
                self._by_id[id(obj)] = i
            return {"$ref": i}
        if t in self._classes:
            return self._dataclass(obj)
        if t is list:
            return {"$list": [self(x) for x in obj]}
        if t is dict and all(type(k) is str for k in obj):
            return {"$dict": {k: self(v) for k, v in obj.items()}}
        raise TypeError(f"cannot cache a {t.__name__}")

    def _dataclass(self, obj: Any) -> dict[str, Any]:
        t = type(obj)
        out: dict[str, Any] = {"$": self._classes[t]}
        for name in _field_names(t):
            value = getattr(obj, name)
            out[name] = value if type(value) in _PLAIN else self(value)
        return out


def encode(obj: Any) -> Any:
    """IR dataclasses → JSON-able data that :func:`decode` turns back into equal objects."""
    enc = _Encoder()
    tree = enc(obj)
    return {"types": enc.types, "ir": tree}


def _decode(data: Any, types: list[Any]) -> Any:
    if isinstance(data, list):
        return tuple(_decode(x, types) for x in data)
    if isinstance(data, dict):
        if "$ref" in data:
            return types[data["$ref"]]
        if "$list" in data:
            return [_decode(x, types) for x in data["$list"]]
        if "$dict" in data:
            return {k: _decode(v, types) for k, v in data["$dict"].items()}
        cls = _ir_types()[data["$"]]
        return cls(**{k: _decode(v, types) for k, v in data.items() if k != "$"})
    return data


def decode(data: Any) -> Any:
    types: list[Any] = []
    for t in data["types"]:
        types.append(_decode(t, types))
    return _decode(data["ir"], types)


# --- files -----------------------------------------------------------------------------------


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _write_json(path: Path, data: Any) -> None:
    """Atomically (concurrent generators may share a project); a failure only loses the cache."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        import tempfile  # only when writing: the warm path writes nothing

        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError:
        return
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(json.dumps(data, separators=(",", ":")))
        os.replace(tmp, path)
    except (OSError, ValueError, TypeError):
        with contextlib.suppress(OSError):
            os.unlink(tmp)


class ProjectCache:
    """The cache directory of one project."""

    def __init__(self, root: Path) -> None:
        self.dir = root / CACHE_DIR

    # --- the whole run -----------------------------------------------------------------------
    def _run_file(self, out: Path) -> Path:
        """One file per output directory: generating two packages does not thrash one entry."""
        return self.dir / f"run-{_sha(str(out.resolve()))[:16]}.json"

    def load_run(self, key: str, out: Path) -> tuple[dict[str, str], list[str]] | None:
        """(relative path → generated text, warnings) of the last run with this key."""
        data = _read_json(self._run_file(out))
        if not isinstance(data, dict) or data.get("key") != key:
            return None
        files, warnings = data.get("files"), data.get("warnings")
        if not isinstance(files, dict) or not isinstance(warnings, list):
            return None
        return files, warnings

    def store_run(self, key: str, out: Path, files: Mapping[str, str], warnings: list[str]) -> None:
        _write_json(self._run_file(out), {"key": key, "files": dict(files), "warnings": warnings})

    # --- formatting --------------------------------------------------------------------------
    def format(
        self,
        files: Mapping[str, str],
        salt: str,
        formatter: Callable[[dict[str, str]], dict[str, str]],
    ) -> dict[str, str]:
        """Format only the modules whose unformatted text was not formatted before."""
        path = self.dir / "format.json"
        old = _read_json(path)
        known: dict[str, str] = old if isinstance(old, dict) else {}
        keys = {rel: _sha(salt, rel, text) for rel, text in files.items()}
        missing = {rel: text for rel, text in files.items() if keys[rel] not in known}
        done = formatter(missing) if missing else {}
        out = {rel: done[rel] if rel in done else known[keys[rel]] for rel in files}
        if missing:  # keep only the current entries: the file never grows without bound
            _write_json(path, {keys[rel]: out[rel] for rel in files})
        return out

    # --- per-file analysis -------------------------------------------------------------------
    def session(self, *, server: str, schema_key: str) -> AnalysisSession:
        return AnalysisSession(self, server=server, schema_key=schema_key)


class AnalysisSession:
    """One ``analyze`` run's view of the per-file cache and the schema database."""

    def __init__(self, cache: ProjectCache, *, server: str, schema_key: str) -> None:
        self.path = cache.dir / "analysis.json"
        self.prefix = _sha(generator_hash(), server, schema_key)
        self.schema_key = schema_key
        data = _read_json(self.path)
        self._entries: dict[str, Any] = data if isinstance(data, dict) else {}
        self._keep: dict[str, Any] = {}
        self._pending: dict[str, Any] = {}
        self._pool: ThreadPoolExecutor | None = None
        self._db: Future[str] | None = None

    def _key(self, path: Path, text: str) -> str:
        return _sha(self.prefix, str(path), text)

    def lookup(self, paths: Iterable[Path]) -> dict[Path, Any]:
        """The cached ``FileIR`` of every file analysed before exactly as it is now."""
        found: dict[Path, Any] = {}
        for p in paths:
            try:  # read as the parser reads it (universal newlines)
                key = self._key(p, p.read_text(encoding="utf-8"))
            except (OSError, ValueError):
                continue
            raw = self._entries.get(key)
            if raw is None:
                continue
            try:
                fir = decode(raw)
            except (KeyError, TypeError, ValueError):
                continue
            if getattr(fir, "path", None) == str(p):
                found[p] = fir
                self._keep[key] = raw
        return found

    def store(self, path: Path, fir: Any, text: str | None) -> None:
        """Remember a file's analysis under the text that was parsed (not the file as it
        is now: it may have changed meanwhile), unless JSON cannot carry it exactly."""
        if text is not None:
            self._pending[self._key(path, text)] = fir  # encoded by save()

    def save(self) -> None:
        """Encode what ``store`` remembered and write the file if anything changed.

        Encoding every file's analysis is pure CPU the output does not need: the
        console command does it after answering (see later.py).
        """
        for key, fir in self._pending.items():
            try:
                self._keep[key] = encode(fir)  # exact types only: decoding gives an equal IR
            except (TypeError, ValueError):
                continue
        self._pending.clear()
        if self._keep.keys() != self._entries.keys():
            _write_json(self.path, self._keep)

    # --- the schema database, built while the caller parses --------------------------------
    def start_database(self, build: Callable[[], str]) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="multica-db-schema")
        self._db = self._pool.submit(build)

    def database_url(self) -> str:
        assert self._db is not None and self._pool is not None
        try:
            return self._db.result()
        finally:
            self._pool.shutdown(wait=False)


def schema_key(chunks: Iterable[Any]) -> str:
    """Hash of the schema as it is applied: the SQL of each chunk, in order.

    Paths are left out on purpose: the database holds the same schema whichever
    directory (or clone) the files were read from, so all of them share it.
    """
    return _sha(*(c.sql for c in chunks))


def run_key(**parts: str) -> str:
    """Key of a whole run: the generator plus every named part (config, inputs, server)."""
    return _sha(generator_hash(), *(f"{k}={v}" for k, v in sorted(parts.items())))


def ruff_version() -> str:
    return _version("ruff")
