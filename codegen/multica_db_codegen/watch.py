"""``multica-db watch``: regenerate on every save of a query, schema or config file.

One long-lived generator keeps what a run would otherwise rebuild (parsed queries,
each file's analysis, the analyzer's connection and the schema's database), so a
saved query file costs only that file's analysis, rendering and formatting.

File events come from watchfiles (the Rust ``notify`` crate: inotify, FSEvents,
kqueue, ReadDirectoryChangesW), which batches the burst of events an editor's save
makes into one set. Where native events do not arrive (network file systems, some
container mounts), ``--poll`` (or ``WATCHFILES_FORCE_POLLING=1``) makes it poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from multica_db_codegen.errors import GenerateError, GenerateErrors

if TYPE_CHECKING:
    from multica_db_codegen.processors import Result
    from multica_db_codegen.runner import Runner

#: How long a burst of file events may stay quiet before it is handled (ms). An editor's
#: save (write, rename, chmod) lands well inside it; the regeneration waits no longer.
_STEP_MS = 10

#: How long the watcher waits for events before it reports an empty batch (ms): the first
#: one marks the watches as set up; later ones are skipped (and let a stop be noticed).
_READY_MS = 200

_CONFIG_NAMES = {"pyproject.toml", "sqlc.yaml", "sqlc.yml", "sqlc.json"}


@dataclass(frozen=True, slots=True)
class Watched:
    """What a set of saved paths is to the project."""

    queries: tuple[Path, ...]
    schema: tuple[Path, ...]
    config: tuple[Path, ...]

    def describe(self, root: Path) -> str:
        names = [_rel(p, root) for p in (*self.config, *self.schema, *self.queries)]
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        return shown


def _rel(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        return str(path)


def _under(path: Path, roots: Iterable[Path]) -> bool:
    p = path.resolve()
    return any(p == r or r in p.parents for r in roots)


def classify(changed: Iterable[Path], schema: Iterable[Path]) -> Watched:
    """Configuration, schema and query files among ``changed`` (only the engine's own paths
    are watched, so every other ``.sql`` file is a query file)."""
    schema_roots = [s.resolve() for s in schema]
    q: list[Path] = []
    s: list[Path] = []
    c: list[Path] = []
    for path in sorted(set(changed)):
        if path.name in _CONFIG_NAMES:
            c.append(path)
        elif path.suffix == ".sql" and _under(path, schema_roots):
            s.append(path)
        elif path.suffix == ".sql":
            q.append(path)
    return Watched(tuple(q), tuple(s), tuple(c))


def _format_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s"


def report_line(what: Watched, outcome: Result, seconds: float, root: Path) -> str:
    """One line per handled change: what changed, what was written, how long it took."""
    parts = []
    if outcome.schema_changed:
        parts.append("schema database rebuilt")
    written = [_rel(p, root) for p in outcome.written]
    if written:
        shown = ", ".join(written[:4]) + (f" +{len(written) - 4}" if len(written) > 4 else "")
        parts.append(f"{len(written)} file(s) written ({shown})")
    else:
        parts.append("nothing to write")
    if outcome.deleted:
        parts.append(f"{len(outcome.deleted)} removed")
    return f"{what.describe(root)}: {'; '.join(parts)} in {_format_ms(seconds)}"


def run(
    engine: Runner,
    *,
    root: Path,
    echo: Callable[[str], None],
    stop: threading.Event | None = None,
    poll: bool = False,
) -> None:
    """Regenerate once, then on every change until ``stop`` is set or Ctrl-C (returns)."""
    import watchfiles

    schema = _schema(engine)
    started = time.perf_counter()
    _handle(engine, None, Watched((), (), ()), started, root, echo, initial=True)

    def wanted(_change: watchfiles.Change, path: str) -> bool:
        p = Path(path)
        return p.suffix == ".sql" or p.name in _CONFIG_NAMES

    try:
        watched: list[Path] = []
        while True:  # again with new paths when the configuration names other folders
            watched = _paths(engine, watched)
            announced = False
            for batch in watchfiles.watch(
                *watched,
                watch_filter=wanted,
                step=_STEP_MS,
                stop_event=stop,
                force_polling=poll or None,
                raise_interrupt=True,
                # The first (empty) batch says the watches are in place: only then is a
                # save sure to be seen, so only then does "watching" appear.
                yield_on_timeout=True,
                rust_timeout=_READY_MS,
            ):
                if not announced:
                    echo(f"watching {len(watched)} path(s) under {root} (Ctrl-C to stop)")
                    announced = True
                if not batch:
                    continue
                saved_at = time.perf_counter()
                changed = {Path(p) for _, p in batch}
                what = classify(changed, schema)
                if not (what.queries or what.schema or what.config):
                    continue
                _handle(engine, changed, what, saved_at, root, echo, initial=False)
                if what.config and _paths(engine, watched) != watched:
                    schema = _schema(engine) or schema
                    break
            else:
                break  # stopped
    except KeyboardInterrupt:
        pass
    echo("stopped")


def _schema(engine: Runner) -> list[Path]:
    try:
        return [p for cfg in engine.project.packages for p in cfg.schema]
    except (GenerateError, GenerateErrors):  # a broken configuration: as before
        return []


def _paths(engine: Runner, before: list[Path]) -> list[Path]:
    """The existing files and folders the engine reads (configuration, schema, queries)."""
    try:
        found = engine.input_paths()
    except (GenerateError, GenerateErrors):  # a broken configuration: watch what we did
        return before
    return sorted({p.resolve() for p in found if p.exists()}) or before


def _handle(
    engine: Runner,
    changed: set[Path] | None,
    what: Watched,
    started: float,
    root: Path,
    echo: Callable[[str], None],
    *,
    initial: bool,
) -> None:
    from multica_db_codegen.processors import Generate, Result

    try:
        outcome = Result.combine(engine.run(Generate(), changed))
    except (GenerateError, GenerateErrors) as exc:
        errors = exc.errors if isinstance(exc, GenerateErrors) else [exc]
        for e in errors:
            echo(f"error: {e}")
        took = _format_ms(time.perf_counter() - started)
        head = what.describe(root) if not initial else "generate"
        echo(f"{head}: {len(errors)} error(s), nothing written in {took}")
        return
    for w in outcome.warnings:
        echo(f"warning: {w}")
    line = report_line(what, outcome, time.perf_counter() - started, root)
    echo(f"generate{line}" if initial else line)
