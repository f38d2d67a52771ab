"""Answer a warm ``multica-db generate`` from one stamp file, before anything heavy loads.

A warm run of a small project is dominated by the interpreter's start-up and the
imports of the full path (typing, pathlib, dataclasses, tomllib, hashlib, json…),
not by its work. This module imports only ``os`` and ``sys`` (both loaded at
interpreter start-up already) and a BLAKE2 hasher, and decides whether the last
successful ``generate`` with the same arguments left outputs that are still
current.

A stamp is written by the full path (``pipeline.fast_generate``) after a run
that left every generated file on disk as it should be. It names what that run
depended on — the generator's own source, installed distributions, the
arguments, the working directory, ``MULTICA_DB_*`` variables, pyproject /
sqlc.yaml, every schema and query file — and what it produced: the content of
each generated file, and any other module in the generated query packages (a
stray one with the generated header means the full path must delete it). The
digest covers all of it, each file by its bytes, so a hit is exactly a run whose
inputs and outputs are byte for byte what they were; any difference, or anything
unexpected at all, is a miss, and the full path (with its own run cache) takes
over.

The stamp is plain text, never executed or unpickled.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence

STAMP_FORMAT = "multica-db warm stamp 1"
CACHE_DIR = os.path.join(".multica-db", "cache")
_SOURCE_SUFFIXES = (".py", ".j2", ".json", ".toml", ".txt")
_PACKAGE_DIR = os.path.dirname(os.path.abspath(__file__))  # multica_db_codegen/


class _Hasher:
    """BLAKE2b without importing hashlib (which loads OpenSSL bindings for every call)."""

    def __init__(self) -> None:
        try:
            from _blake2 import blake2b  # CPython's built-in module, always compiled in
        except ImportError:  # another implementation: the public, slower-to-import route
            from hashlib import blake2b
        self._h = blake2b(digest_size=32)

    def part(self, data: bytes | str) -> None:
        b = data.encode("utf-8", "surrogateescape") if isinstance(data, str) else data
        self._h.update(len(b).to_bytes(8, "little"))
        self._h.update(b)

    def hexdigest(self) -> str:
        return str(self._h.hexdigest())


def _read(path: str) -> bytes | None:
    try:
        with open(path, "rb") as fh:
            return fh.read()
    except OSError:
        return None


def _file(h: _Hasher, path: str) -> None:
    data = _read(path)
    h.part("missing" if data is None else "file")
    if data is not None:
        h.part(data)


def _tree(h: _Hasher, root: str, suffixes: tuple[str, ...] | None = None) -> None:
    """Every file under ``root`` (symlinks followed), in a stable order, path and bytes."""
    if os.path.isfile(root):
        _file(h, root)
        return
    if not os.path.isdir(root):
        h.part("missing")
        return
    h.part("dir")
    for dirpath, dirnames, filenames in os.walk(root, followlinks=True):
        dirnames[:] = sorted(d for d in dirnames if d != "__pycache__" or suffixes is None)
        rel = os.path.relpath(dirpath, root)
        for name in sorted(filenames):
            if suffixes is not None and not name.endswith(suffixes):
                continue
            h.part(f"{rel}/{name}")
            _file(h, os.path.join(dirpath, name))


def _distributions() -> list[str]:
    """Every installed distribution's ``name-version.dist-info`` on ``sys.path``.

    Upgrading any library (ruff, pglast, jinja2, psycopg, pgserver…) is a miss.
    """
    found: list[str] = []
    for entry in sys.path:
        try:
            names = os.listdir(entry or ".")
        except OSError:
            continue
        found += (n for n in names if n.endswith(".dist-info"))
    return sorted(found)


def run_identity(argv: Sequence[str], cwd: str) -> str:
    """What must be equal for an earlier run to stand for this one (not the files' content)."""
    h = _Hasher()
    h.part(STAMP_FORMAT)
    h.part(sys.version)
    h.part(_PACKAGE_DIR)
    h.part(cwd)
    h.part("\0".join(a for a in argv if a != "--check"))
    for k in sorted(os.environ):
        if k.startswith("MULTICA_DB_"):
            h.part(f"{k}={os.environ[k]}")
    for d in _distributions():
        h.part(d)
    _tree(h, _PACKAGE_DIR, _SOURCE_SUFFIXES)
    return h.hexdigest()


def project_root(cwd: str) -> str:
    """Where the project's cache lives: as ``config.load_config`` decides it.

    The pyproject.toml found upward from ``cwd`` if it has a ``[tool.multica-db]``
    table, else ``cwd``. (A wrong guess would only be a miss: the stamp is not found.)
    """
    d = cwd
    while True:
        data = _read(os.path.join(d, "pyproject.toml"))
        if data is not None:
            return d if b"[tool.multica-db" in data else cwd
        parent = os.path.dirname(d)
        if parent == d:
            return cwd
        d = parent


def stamp_path(root: str, identity: str) -> str:
    return os.path.join(root, CACHE_DIR, f"warm-{identity[:16]}.txt")


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
            head = (_read(os.path.join(out, sub, n)) or b"").split(b"\n", 1)[0]
            found.append(f"{n}\0{head.decode('utf-8', 'replace')}")
    return "\0".join(found)


def inputs_digest(inputs: Iterable[str]) -> str:
    """Digest of every input file (configuration, schema, queries) as it is now."""
    h = _Hasher()
    for path in inputs:
        h.part(f"input {path}")
        _tree(h, path)
    return h.hexdigest()


def state_digest(identity: str, inputs: str, out: str, generated: Sequence[str]) -> str:
    """Digest of the run's identity, its inputs' digest, and every output as on disk now."""
    h = _Hasher()
    h.part(identity)
    h.part(inputs)
    h.part(f"out {out}")
    for rel in generated:
        h.part(f"generated {rel}")
        _file(h, os.path.join(out, rel))
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
    path: str,
    *,
    identity: str,
    inputs: Sequence[str],
    out: str,
    generated: Sequence[str],
    warnings: Sequence[str],
    digest: str,
) -> None:
    """Record a run whose outputs on disk are current (atomically: a reader sees all or none)."""
    lines = [STAMP_FORMAT, f"identity {identity}", f"digest {digest}", f"out {_escape(out)}"]
    lines += [f"input {_escape(p)}" for p in inputs]
    lines += [f"generated {_escape(g)}" for g in generated]
    lines += [f"warning {_escape(w)}" for w in warnings]
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w", encoding="utf-8", errors="surrogateescape") as fh:
        fh.write("\n".join(lines) + "\n")
    os.replace(tmp, path)


def check_stamp(path: str, identity: str) -> list[str] | None:
    """The warnings of the stamped run if everything is still as it left it, else None."""
    data = _read(path)
    if data is None:
        return None
    lines = data.decode("utf-8", "surrogateescape").splitlines()
    if not lines or lines[0] != STAMP_FORMAT:
        return None
    fields: dict[str, list[str]] = {}
    for line in lines[1:]:
        key, _, value = line.partition(" ")
        fields.setdefault(key, []).append(_unescape(value))
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
    """Exit status of a warm ``generate`` / ``generate --check``; None when not surely warm."""
    if not argv or argv[0] != "generate":
        return None
    if os.environ.get("MULTICA_DB_NO_CACHE", "").strip().lower() not in ("", "0", "false", "no"):
        return None
    try:
        cwd = os.getcwd()
        identity = run_identity(argv, cwd)
        warnings = check_stamp(stamp_path(project_root(cwd), identity), identity)
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
