"""What the commands do with each package's analysis: processors over the one runner.

A processor's ``prepare`` works in memory and may find more errors (render);
its ``commit`` writes. The runner calls ``commit`` only when the run goes on
(see :mod:`multica_db_codegen.runner`). ``verify`` is in verify.py, ``watch``
runs :class:`Generate` again on every save (watch.py).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from multica_db_codegen import stages
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.project import Flags

if TYPE_CHECKING:
    from multica_db_codegen.analyze.ir import AnalysisIR, EnumIR, FileIR, TableIR
    from multica_db_codegen.runner import Runner, Unit
    from multica_db_codegen.snapshot import offline


@dataclass(frozen=True, slots=True)
class Result:
    """What one ``generate`` of one package did (or several packages', combined)."""

    written: tuple[Path, ...]  # files written (or, with check, that would be)
    deleted: tuple[Path, ...]  # generated modules removed: their query file is gone
    left_alone: int  # generated modules a partial run (``--queries``) did not touch
    analyzed: tuple[Path, ...]  # query files parsed and described in this run
    schema_changed: bool  # the schema differed from the previous run's
    warnings: tuple[str, ...]
    diff: str = ""  # with check: the unified diff of what would change
    seconds: float = 0.0
    errors: tuple[GenerateError, ...] = ()  # keep-going: the queries left out

    @property
    def changed(self) -> int:
        return len(self.written) + len(self.deleted)

    @classmethod
    def combine(cls, results: Sequence[Result]) -> Result:
        """Several packages' results as one."""
        if len(results) == 1:
            return results[0]
        return cls(
            written=tuple(p for r in results for p in r.written),
            deleted=tuple(p for r in results for p in r.deleted),
            left_alone=sum(r.left_alone for r in results),
            analyzed=tuple(p for r in results for p in r.analyzed),
            schema_changed=any(r.schema_changed for r in results),
            # packages sharing a schema share its warnings: each said once
            warnings=tuple(dict.fromkeys(w for r in results for w in r.warnings)),
            diff="".join(r.diff for r in results),
            seconds=sum(r.seconds for r in results),
            errors=tuple(e for r in results for e in r.errors),
        )

    def summary(self) -> str:
        """One line: how many files were written, and what was left alone or out."""
        text = f"{self.changed} file(s) written"
        if self.left_alone:
            text += f"; {self.left_alone} other generated module(s) left as they are"
        if self.errors:
            text += f"; {len(self.errors)} error(s): those queries were left out"
        return text


class Generate:
    """``generate``: render every target module and the package, then write them."""

    def __init__(self, *, check: bool = False, record: bool = True) -> None:
        self.check = check
        self.record = record  # the analysis snapshot: only an analysis of the inputs has one
        self._started = time.perf_counter()

    def prepare(self, unit: Unit) -> dict[str, str]:
        return unit.outputs()

    def commit(self, unit: Unit, files: dict[str, str]) -> Result:
        cfg = unit.cfg
        done = stages.write(
            cfg.out,
            files,
            package=cfg.package,
            check=self.check,
            partial=unit.partial,
            keep=unit.left_out,
            root=cfg.root,
        )
        configured = unit.project.configured  # else the project's snapshot is not theirs
        if self.record and not self.check and not unit.partial and not unit.errors and configured:
            _record_snapshot(unit, files)
        return Result(
            written=done.written,
            deleted=done.deleted,
            left_alone=done.left_alone,
            analyzed=tuple(unit.analyzed),
            schema_changed=unit.schema_changed,
            warnings=unit.warnings(),
            diff=done.diff,
            seconds=time.perf_counter() - self._started,
            errors=tuple(unit.errors),
        )


def _record_snapshot(unit: Unit, files: dict[str, str]) -> None:
    """After a full ``generate``: the analysis snapshot, for checks without a database."""
    from multica_db_codegen.snapshot import offline

    def analysis(path: Path) -> FileIR:
        fir = unit.analysis(path)
        if fir is None:  # a stored value that cannot be read
            raise GenerateError(f"{path}: its cached analysis was unreadable: run again")
        return fir

    def schema() -> tuple[tuple[TableIR, ...], tuple[EnumIR, ...], tuple[str, ...]]:
        return (*unit.runner.catalog_ir(unit.pkg), unit.schema_warnings())

    offline.record(
        unit.project,
        unit.cfg,
        listing=unit.files,
        analysis=analysis,
        fresh=unit.analyzed,
        schema=schema,
        # every file described again (another server, no cache): compare what it says
        schema_fresh=set(unit.analyzed) >= set(unit.files),
        generated=files,
        schema_texts={os.path.abspath(c.file.path): c.file.text for c in unit.pkg.chunks or ()},
    )


class Analyze:
    """``analyze --json``: every package's analysis, failed queries marked with their error.

    With ``render`` (``--keep-going``) each package is rendered too, in memory, so that
    what ``generate`` would refuse at render is reported as well.
    """

    def __init__(self, *, render: bool = False) -> None:
        self.render = render

    def prepare(self, unit: Unit) -> AnalysisIR:
        ir = unit.ir()
        if not self.render:
            return ir
        clean = replace(ir, files=tuple(stages.without_failed(f) for f in ir.files))
        rendered = stages.render(clean, stages.render_settings(unit.cfg, clean))
        if not rendered.refused:
            return ir
        unit.errors.extend(rendered.refused.values())
        refused = {k: str(e) for k, e in rendered.refused.items()}
        files = []
        for f in ir.files:
            queries = tuple(
                replace(q, error=refused.get((q.file, q.line, q.name), q.error)) for q in f.queries
            )
            files.append(replace(f, queries=queries))
        return replace(ir, files=tuple(files))

    def commit(self, unit: Unit, ir: AnalysisIR) -> AnalysisIR:
        return ir


class RenderDocument:
    """``render --ir``: what ``generate`` writes, from a saved analysis (no database)."""

    def __init__(self, ir: AnalysisIR, *, check: bool = False) -> None:
        self.ir = ir
        self.generate = Generate(check=check, record=False)  # a document, not the inputs

    def prepare(self, unit: Unit) -> dict[str, str]:
        rendered = stages.render(self.ir, stages.render_settings(unit.cfg, self.ir))
        unit.errors.extend(rendered.refused.values())
        return stages.format_files(
            rendered,
            package=unit.cfg.package,
            pyproject=unit.project.pyproject,
            root=unit.project.root,
        )

    def commit(self, unit: Unit, files: dict[str, str]) -> Result:
        return self.generate.commit(unit, files)


# --- the commands' runs ------------------------------------------------------------------------


def run_generate(
    *,
    check: bool = False,
    keep_going: bool = False,
    warn: Callable[[str], None] = lambda _msg: None,
    argv: Sequence[str] | None = None,
    **given: Any,
) -> Result:
    """One ``generate`` (``given``: the fields of :class:`Flags`); the packages' results summed.

    ``argv``: the console command's arguments; when given, a successful run leaves
    the warm stamp (cache.py) that answers the same command next time.
    """
    from multica_db_codegen import cache
    from multica_db_codegen.runner import Runner
    from multica_db_codegen.snapshot import offline

    with Runner(Flags(**given)) as runner:
        project = runner.project
        for note in project.notes:
            warn(note)
        answer = offline.check(project) if check else None
        if answer is not None:  # a committed analysis snapshot answers without a database
            return _check_offline(runner, answer)
        stamp = argv is not None and cache.enabled() and len(project.packages) == 1
        inputs = [str(p) for p in runner.input_paths()] if stamp else []
        before = cache.inputs_digest(inputs) if stamp else ""
        inputs += [str(p) for p in offline.snapshot_paths(project)] if stamp else []
        result = Result.combine(runner.run(Generate(check=check), keep_going=keep_going))
    for w in result.warnings:
        warn(w)
    if stamp and argv is not None and not result.errors and not (check and result.changed):
        _leave_warm_stamp(runner, result, argv, inputs, before)
    return result


def _check_offline(runner: Runner, answer: offline.Answer) -> Result:
    """``generate --check`` as the snapshot answers it: vouched for, or rendered from it
    (no cache: nothing the snapshot said is stored as if a server had said it)."""
    from multica_db_codegen.runner import Runner

    if answer.source is None:
        return Result((), (), 0, (), False, ())
    with Runner(runner.flags, use_cache=False, source=answer.source) as again:
        return Result.combine(again.run(Generate(check=True)))


def _leave_warm_stamp(
    runner: Runner, result: Result, argv: Sequence[str], inputs: list[str], before: str
) -> None:
    """Leave the warm stamp for outputs that are now current on disk.

    Only when no input changed while this run read them (the stamp must never
    vouch for outputs generated from other bytes than the ones it hashes), and
    only in the project root the warm path looks in (never in the working folder).
    """
    from multica_db_codegen import cache
    from multica_db_codegen.render.writer import is_generated

    cwd = str((runner.flags.cwd or Path.cwd()).resolve())
    (cfg,) = runner.project.packages
    root = cache.project_root(cwd)
    # the snapshot (the last input) is written by the run itself: vouched for as it is now
    if Path(root) != cfg.root.resolve() or cache.inputs_digest(inputs[:-1]) != before:
        return
    out = str(cfg.out.resolve())
    generated = sorted(
        p.relative_to(cfg.out).as_posix()
        for p in cfg.out.rglob("*.py")
        if is_generated(p) and "__pycache__" not in p.parts
    )
    identity = cache.run_identity(argv, cwd)
    cache.write_stamp(
        root,
        identity,
        inputs=inputs,
        out=out,
        generated=generated,
        warnings=(*runner.project.notes, *result.warnings),
        digest=cache.state_digest(identity, cache.inputs_digest(inputs), out, generated),
    )


def run_analyze(
    *, keep_going: bool = False, **given: Any
) -> tuple[AnalysisIR, list[GenerateError]]:
    """One ``analyze``: every package's analysis side by side, and every error found
    (raised as :class:`GenerateErrors` unless ``keep_going``)."""
    from multica_db_codegen.runner import Runner

    given.setdefault("out", Path("."))
    errors: list[GenerateError] = []

    class Collect(Analyze):
        def commit(self, unit: Unit, ir: AnalysisIR) -> AnalysisIR:
            errors.extend(unit.errors)
            return ir

    with Runner(Flags(**given)) as runner:
        parts = runner.run(Collect(render=keep_going), keep_going=keep_going)
    fields = ("files", "tables", "enums", "warnings")  # several packages side by side
    together = {f: tuple(x for p in parts for x in getattr(p, f)) for f in fields}
    return (parts[0] if len(parts) == 1 else replace(parts[0], **together)), errors


def run_render(
    document: Path,
    *,
    check: bool = False,
    warn: Callable[[str], None] = lambda _msg: None,
    **given: Any,
) -> Result:
    """One ``render --ir``: what ``generate`` writes, from an ``analyze --json`` document."""
    import json

    from multica_db_codegen.analyze.ir_codec import read_document
    from multica_db_codegen.runner import Runner

    try:
        ir = read_document(json.loads(document.read_text(encoding="utf-8")))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GenerateError(f"{document}: cannot read an analysis: {exc}") from None
    except ValueError as exc:
        raise GenerateError(f"{document}: not an `analyze --json` document: {exc}") from None
    for w in ir.warnings:
        warn(w)
    runner = Runner(Flags(**given), queries=False)
    if len(runner.project.packages) != 1:
        raise GenerateError(
            "render --ir renders one package: this configuration has "
            f"{len(runner.project.packages)}; analyze and render each with its own --sqlc-config"
        )
    return Result.combine(runner.run(RenderDocument(ir, check=check)))
