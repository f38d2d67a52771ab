"""Format rendered files with ruff, then write them, or diff them (--check).

Writing stages every file next to its target before the first rename, so a failure while
staging changes nothing; the renames themselves are one per file.
"""

from __future__ import annotations

import difflib
import functools
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from multica_db_codegen.errors import GenerateError
from multica_db_codegen.render.renderer import HEADER, Origin

if TYPE_CHECKING:
    from concurrent.futures import Future


@functools.cache
def _ruff() -> str:
    try:
        from ruff.__main__ import find_ruff_bin

        return str(find_ruff_bin())
    except Exception:
        found = shutil.which("ruff")
        if found is None:
            raise GenerateError(
                "ruff is needed to format generated code: pip install ruff"
            ) from None
        return found


class GeneratorBug(GenerateError):
    """Generated code that does not compile or fails ruff's F rules: never written."""


def _origin(text: str, line: int, origins: dict[str, Origin]) -> Origin | None:
    """The query whose top-level definition holds ``line`` (1-based) of a generated module."""
    lines = text.splitlines()
    for i in range(min(line, len(lines)) - 1, -1, -1):
        head = lines[i]
        if head[:1].isspace() or not head:
            continue
        for prefix in ("async def ", "def ", "class "):
            if head.startswith(prefix):
                name = head[len(prefix) :].split("(", 1)[0].split(":", 1)[0].strip()
                return origins.get(name)
        name = head.split("=", 1)[0].strip()
        if name in origins:
            return origins[name]
    return None


def _bug(rel: str, text: str, line: int, message: str, origins: dict[str, Origin]) -> GeneratorBug:
    lines = text.splitlines()
    excerpt = lines[line - 1] if 0 < line <= len(lines) else ""
    found = _origin(text, line, origins)
    where = f" (query {found.query} at {found.file}:{found.line})" if found else ""
    return GeneratorBug(
        f"generated {rel}:{line}: {message}{where} — a generator bug, nothing was written\n"
        f"    {excerpt.strip()}",
        hint="please report it with the query above",
    )


def check_compiles(files: dict[str, str], origins: dict[str, dict[str, Origin]]) -> None:
    """Every module must be valid Python before ruff sees it (ruff's own errors are terse)."""
    for rel, text in files.items():
        try:
            compile(text, rel, "exec", dont_inherit=True)
        except SyntaxError as exc:
            raise _bug(rel, text, exc.lineno or 0, exc.msg, origins.get(rel, {})) from None


def _check_pyflakes(
    ruff: str, root: Path, files: dict[str, str], origins: dict[str, dict[str, Origin]]
) -> None:
    """ruff's F rules (undefined, redefined, unused names…) on the formatted modules."""
    import json

    done = subprocess.run(
        [
            *(ruff, "check", "--isolated", "--no-cache", "--select", "F,E9"),
            *("--output-format", "json", "--exit-zero", str(root)),
        ],
        capture_output=True,
        text=True,
        check=False,
        cwd=root,
    )
    if done.returncode != 0:
        raise GeneratorBug("ruff failed on generated code (a generator bug):\n" + done.stderr)
    for item in json.loads(done.stdout or "[]"):
        rel = Path(item["filename"]).resolve().relative_to(root.resolve()).as_posix()
        line = int((item.get("location") or {}).get("row") or 0)
        message = f"{item.get('code')} {item.get('message')}"
        raise _bug(rel, files.get(rel, ""), line, message, origins.get(rel, {}))


def format_sources(
    files: dict[str, str],
    *,
    package: str,
    pyproject: Path | None,
    origins: dict[str, dict[str, Origin]] | None = None,
    root: Path | None = None,
) -> dict[str, str]:
    """Sort imports and format exactly as ``ruff check --fix`` / ``ruff format`` would.

    Each module is compiled first and checked with ruff's F rules after formatting;
    a failure is a :class:`GeneratorBug` naming the query and the line. The runtime
    package is written as it is: the same bytes in every project, whatever its ruff
    settings.
    """
    verbatim = {rel: text for rel, text in files.items() if rel.startswith("runtime/")}
    files = {rel: text for rel, text in files.items() if rel not in verbatim}
    if not files:
        return verbatim
    formatted = _format(
        files, package=package, pyproject=pyproject, origins=origins or {}, project=root
    )
    return {**formatted, **verbatim}


def _format(
    files: dict[str, str],
    *,
    package: str,
    pyproject: Path | None,
    origins: dict[str, dict[str, Origin]],
    project: Path | None = None,
) -> dict[str, str]:
    ruff = _ruff()
    check_compiles(files, origins)
    config = ["--config", str(pyproject)] if pyproject is not None else []
    with tempfile.TemporaryDirectory(prefix="multica-db-render-") as tmp:
        root = Path(tmp)
        # a project without pyproject.toml (a sqlc.yaml one) still has a root, where its
        # own ruff runs and finds its first-party packages (`src = ["."]`)
        where = pyproject.parent if pyproject is not None else project or root
        project_dir = str(where)
        for rel, text in files.items():
            target = root / rel
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text, encoding="utf-8")
        base = [ruff]
        checks = [
            *base,
            "check",
            "--fix-only",
            "--quiet",
            "--select",
            "I,F401,UP",
            "--no-cache",
            *config,
            "--config",
            f"lint.isort.known-first-party = [{package!r}]",
            str(root),
        ]
        fmt = [*base, "format", "--quiet", "--no-cache", *config, str(root)]
        for cmd in (checks, fmt):
            # ruff resolves first-party packages from its working directory: run it where
            # the user's own ruff runs (the project root), never wherever we were started.
            done = subprocess.run(cmd, capture_output=True, text=True, check=False, cwd=project_dir)
            if done.returncode not in (0, 1):
                raise GeneratorBug(
                    "ruff failed on generated code (a generator bug):\n" + done.stdout + done.stderr
                )
        limit = _line_length(pyproject)
        out = {
            rel: _drop_unneeded_noqa((root / rel).read_text(encoding="utf-8"), limit)
            for rel in files
        }
        _check_pyflakes(ruff, root, out, origins)
        if any(NOQA_LINE in text for text in out.values()) and not _e501_answer(
            ruff, config, project_dir, root
        ):
            out = {rel: text.replace(NOQA_LINE, "", 1) for rel, text in out.items()}
        return out


#: ``_e501_enabled`` answers asked for ahead of time, by (ruff, config, project directory,
#: pyproject text); each is used once, by the run that asked.
_E501_AHEAD: dict[tuple[str, tuple[str, ...], str, str], Future[bool]] = {}


def _settings_text(config: list[str]) -> str:
    try:
        return Path(config[1]).read_text(encoding="utf-8") if config else ""
    except OSError:
        return ""


def prepare(pyproject: Path | None) -> None:
    """Ask ruff's settings (see ``_e501_enabled``) in a thread, before anything is formatted.

    A cold run calls this while it waits for the schema's database; ``format_sources``
    then takes the answer instead of starting one more ruff process. Any failure here
    is left for ``format_sources`` to meet and report.
    """
    from concurrent.futures import ThreadPoolExecutor

    if pyproject is None:  # ruff would look for settings around each temporary directory
        return
    try:
        ruff = _ruff()
    except GenerateError:
        return
    config = ["--config", str(pyproject)]
    project_dir = str(pyproject.parent)

    def probe() -> bool:
        with tempfile.TemporaryDirectory(prefix="multica-db-render-") as tmp:
            return _e501_enabled(ruff, config, project_dir, Path(tmp))

    key = (ruff, tuple(config), project_dir, _settings_text(config))
    pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="multica-db-ruff")
    _E501_AHEAD[key] = pool.submit(probe)
    pool.shutdown(wait=False)


def _e501_answer(ruff: str, config: list[str], project_dir: str, tmp: Path) -> bool:
    ahead = _E501_AHEAD.pop((ruff, tuple(config), project_dir, _settings_text(config)), None)
    if ahead is not None:
        try:
            return ahead.result()
        except Exception:  # asked again below, where a failure is reported as usual
            pass
    return _e501_enabled(ruff, config, project_dir, tmp)


def _e501_enabled(ruff: str, config: list[str], project_dir: str, tmp: Path) -> bool:
    """Whether the project's ruff enables E501 (ruff's defaults do not; then the file-wide
    exemption would itself be reported as unused, RUF100)."""
    probe = tmp / "_multica_db_probe.py"
    probe.write_text("X = 1\n", encoding="utf-8")
    settings = subprocess.run(
        [ruff, "check", "--show-settings", "--no-cache", *config, str(probe)],
        capture_output=True,
        text=True,
        check=False,
        cwd=project_dir,
    )
    probe.unlink()
    enabled = settings.stdout.split("linter.rules.enabled = [", 1)[-1].split("]", 1)[0]
    return "(E501)" in enabled


NOQA_LINE = "# ruff: noqa: E501 (SQL is kept exactly as written)\n"


def _line_length(pyproject: Path | None) -> int:
    """The project's ruff line length (ruff's default 88 when unset)."""
    if pyproject is None:
        return 88
    import tomllib

    data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
    ruff = data.get("tool", {}).get("ruff", {})
    value = ruff.get("line-length", 88)
    return int(value) if isinstance(value, int) else 88


def _drop_unneeded_noqa(text: str, limit: int) -> str:
    """Keep the file-wide E501 exemption only where a SQL line is too long (else RUF100)."""
    if NOQA_LINE not in text:
        return text
    body = text.replace(NOQA_LINE, "", 1)
    if any(len(line) > limit for line in body.splitlines()):
        return text
    return body


@dataclass(frozen=True, slots=True)
class Plan:
    """What writing would change under the output directory."""

    writes: dict[Path, str]  # changed or new
    deletes: list[Path]  # generated files that are no longer produced
    unchanged: int

    @property
    def empty(self) -> bool:
        return not self.writes and not self.deletes


def plan(out: Path, files: dict[str, str]) -> Plan:
    writes: dict[Path, str] = {}
    unchanged = 0
    for rel, text in sorted(files.items()):
        path = out / rel
        current = path.read_text(encoding="utf-8") if path.is_file() else None
        if current is not None and rel.startswith("runtime/") and not _has_header(current):
            raise GenerateError(
                f"{path} was not written by multica-db: the generated runtime package "
                "needs its place (move the file, or choose another --out)"
            )
        if current == text:
            unchanged += 1
        else:
            writes[path] = text
    produced = {out / rel for rel in files}
    deletes = []
    for sub in ("queries", "queries/aio", "runtime"):
        d = out / sub
        if d.is_dir():
            for p in sorted(d.glob("*.py")):
                if p not in produced and is_generated(p):
                    deletes.append(p)
    return Plan(writes, deletes, unchanged)


def _has_header(text: str) -> bool:
    return text.split("\n", 1)[0] == HEADER


def is_generated(path: Path) -> bool:
    try:
        with path.open(encoding="utf-8") as fh:
            return fh.readline().rstrip("\n") == HEADER
    except (OSError, ValueError):  # unreadable, or not UTF-8: not ours
        return False


def diff(p: Plan, root: Path) -> str:
    chunks: list[str] = []
    for path, text in p.writes.items():
        old = path.read_text(encoding="utf-8") if path.is_file() else ""
        rel = _rel(path, root)
        chunks.extend(
            difflib.unified_diff(
                old.splitlines(keepends=True),
                text.splitlines(keepends=True),
                f"a/{rel}",
                f"b/{rel}",
            )
        )
    for path in p.deletes:
        rel = _rel(path, root)
        old = path.read_text(encoding="utf-8")
        chunks.extend(
            difflib.unified_diff(old.splitlines(keepends=True), [], f"a/{rel}", "/dev/null")
        )
    return "".join(chunks)


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return path.as_posix()


def apply(p: Plan) -> None:
    """Stage every file next to its target, then rename them into place.

    Everything that can fail (rendering, formatting, creating directories and
    temporary files) happens before the first rename, so an error leaves the
    output directory as it was.
    """
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in p.writes.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as fh:
                fh.write(text)
            staged.append((Path(tmp_name), path))
    except BaseException:
        for tmp, _ in staged:
            tmp.unlink(missing_ok=True)
        raise
    for tmp, path in staged:
        os.replace(tmp, path)
    for path in p.deletes:
        path.unlink(missing_ok=True)
