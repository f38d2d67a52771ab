"""What a snapshot's analysis depends on, as short digests — computed without a database.

An analysis is decided by four inputs, and each snapshot file records all four:

* ``query`` — the query file's text (as the parser reads it: UTF-8, universal newlines);
* ``schema`` — every schema file the analyzer applies, path and text, in order;
* ``config`` — the configuration that shapes analysis: the schema paths, in order.
  What only shapes rendering (package, output, overrides, renames) is *not* part of
  it: the check renders with the current configuration, so such a change shows as a
  diff of the generated code, never as a stale snapshot;
* ``generator`` — the generator's version: the installed distribution's version
  plus a digest of the code that decides an analysis (the ``parse`` and
  ``analyze`` packages) and the version of the parser (pglast). A release bumps
  the first; a development checkout that changes the analyzer changes the second,
  so a snapshot can never outlive the code that made it. The Python version and
  unrelated libraries are left out on purpose: CI runs another Python than a
  laptop, and neither changes what PostgreSQL said.

The PostgreSQL server that described the queries is not an input either (a clone
has none to ask); ``verify --database-url`` checks the snapshot's promises against
a live one.

Everything here is the standard library and :mod:`multica_db_codegen.cache`'s
hashing: the offline check must not pay for importing the stages.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from multica_db_codegen import cache

#: Subpackages whose code decides what an analysis says.
ANALYSIS_CODE = ("analyze", "parse")
#: Distributions whose version changes what an analysis says.
ANALYSIS_LIBRARIES = ("pglast",)
#: Distributions whose version changes what rendering from an analysis writes.
RENDER_LIBRARIES = ("jinja2", "ruff")
DIGEST_CHARS = 40

_MIGRATE_RE = re.compile(r"^(\d+)_.+\.(up|down)\.sql$")
_VERSION_RE = re.compile(r"^(\d+)")


def digest(*parts: str | bytes) -> str:
    """A short, stable digest of ``parts`` (length-prefixed: ``("ab", "c") != ("a", "bc")``)."""
    h = cache.Hasher()
    for p in parts:
        h.part(p)
    return h.hexdigest()[:DIGEST_CHARS]


def read_text(path: Path) -> str:
    """A file's text as the stages read it (a CRLF checkout hashes like an LF one)."""
    return path.read_text(encoding="utf-8")


def _code_digest(subdirs: Sequence[str] | None, suffixes: tuple[str, ...]) -> str:
    base = Path(cache.__file__).resolve().parent  # the installed multica_db_codegen/
    h = cache.Hasher()
    roots = [base] if subdirs is None else [base / d for d in subdirs]
    for root in roots:
        for path in sorted(root.rglob("*")):
            if path.suffix in suffixes and path.is_file() and "__pycache__" not in path.parts:
                h.part(path.relative_to(base).as_posix())
                h.part(path.read_bytes())
    return h.hexdigest()


_generator: str | None = None
_renderer: str | None = None


def generator_version() -> str:
    """``<distribution version>+<digest of the analysis code and parser>`` (computed once)."""
    global _generator
    if _generator is None:
        libs = [f"{d} {cache.version(d)}" for d in ANALYSIS_LIBRARIES]
        code = digest(_code_digest(ANALYSIS_CODE, (".py",)), *libs)
        _generator = f"{cache.version('multica-db')}+{code[:12]}"
    return _generator


def renderer_version() -> str:
    """Digest of everything that turns an analysis into files: all of the generator's code
    and templates, and the renderer's libraries. Only ever makes the check render again."""
    global _renderer
    if _renderer is None:
        libs = [f"{d} {cache.version(d)}" for d in RENDER_LIBRARIES]
        _renderer = digest(_code_digest(None, (".py", ".j2")), *libs)
    return _renderer


def schema_files(paths: Iterable[Path]) -> list[Path]:
    """The files the analyzer applies for these schema paths, in the order it applies them.

    The same selection as ``analyze/migrations.py`` (a test holds them equal): a file as
    named; a directory's own ``.sql`` files, by migration number then name, without
    golang-migrate's ``.down.sql`` files.
    """
    return [Path(p) for p in _schema_paths(paths)]


def _schema_paths(paths: Iterable[Path]) -> list[str]:
    """:func:`schema_files` as absolute path strings (hundreds of migrations: no Path objects)."""
    found: list[str] = []
    for path in paths:
        base = os.path.abspath(path)
        if os.path.isfile(base):
            found.append(base)
            continue
        if not os.path.isdir(base):
            continue  # the stages report a missing schema path; here it is just absent
        with os.scandir(base) as entries:  # d_type: no stat per migration
            names = [e.name for e in entries if e.name.endswith(".sql") and e.is_file()]
        if any(_MIGRATE_RE.match(n) for n in names):
            names = [n for n in names if not n.endswith(".down.sql")]
        found += [os.path.join(base, n) for n in sorted(names, key=_sort_key)]
    return found


def _sort_key(name: str) -> tuple[int, int, str]:
    m = _VERSION_RE.match(name)
    return (0, int(m.group(1)), name) if m else (1, 0, name)


def relative(path: Path | str, root: Path) -> str:
    """``path`` relative to the project root, with ``/``: the same in every clone."""
    base = os.path.abspath(root)
    p = os.path.abspath(path)
    if p.startswith(base + os.sep):  # the usual case, without relpath's walk
        return p[len(base) + 1 :].replace(os.sep, "/")
    return Path(os.path.relpath(p, base)).as_posix()


def schema_digests(
    paths: Iterable[Path], root: Path, texts: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Each schema file (relative to the root) → the digest of its text, in applied order.

    ``texts``: files already read (by absolute path), so a run does not read them twice.
    """
    known = texts or {}
    out: dict[str, str] = {}
    for p in _schema_paths(paths):
        text = known.get(p)
        if text is None:
            with open(p, encoding="utf-8") as fh:  # as Path.read_text: universal newlines
                text = fh.read()
        out[relative(p, root)] = digest(text)
    return out


def schema_digest(files: dict[str, str]) -> str:
    """One digest of the whole schema: every file's path and digest, in applied order."""
    return digest(*(x for item in files.items() for x in item))


def config_of(schema: Iterable[Path], root: Path) -> dict[str, list[str]]:
    """The configuration that shapes analysis, readable: the schema paths in order."""
    return {"schema": [relative(p, root) for p in schema]}


def ruff_settings(pyproject: Path | None) -> str:
    """The project's ``[tool.ruff]`` table, canonical: the formatter's settings."""
    if pyproject is None:
        return ""
    import json
    import tomllib

    try:
        data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return "unreadable"
    return json.dumps(data.get("tool", {}).get("ruff", {}), sort_keys=True, default=str)


def render_key(
    *,
    root: Path,
    out: Path,
    package: str,
    overrides: Sequence[object],
    rename: dict[str, str],
    sqlc_rename: dict[str, str],
    pyproject: Path | None,
) -> str:
    """Everything besides the analysis that shapes the generated files: the renderer
    (:func:`renderer_version`), the settings it is given, the project's ruff settings.
    Equal keys and equal analyses render equal bytes (rendering is deterministic)."""
    return digest(
        renderer_version(),
        package,
        relative(out, root),
        repr(tuple(overrides)),
        repr(sorted(rename.items())),
        repr(sorted(sqlc_rename.items())),
        ruff_settings(pyproject),
    )
