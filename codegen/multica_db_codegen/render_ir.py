"""``multica-db render --ir FILE``: the output of ``generate`` from a saved analysis.

``analyze --json`` prints the IR losslessly; this renders it with the project's
configuration (package name, overrides, renames, output directory) exactly as
``generate`` renders a fresh analysis — no database, no parser. The same JSON is
what another renderer would start from.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from multica_db_codegen.analyze.ir import AnalysisIR, from_json
from multica_db_codegen.config import Config, find_pyproject
from multica_db_codegen.errors import GenerateError


def load_ir(path: Path) -> AnalysisIR:
    """The IR saved in ``path`` by ``analyze --json`` (a clear error if it is not one)."""
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GenerateError(f"{path}: cannot read an analysis: {exc}") from None
    try:
        ir = from_json(doc)
    except ValueError as exc:
        raise GenerateError(f"{path}: not an `analyze --json` document: {exc}") from None
    failed = [q for f in ir.files for q in f.queries if q.error is not None]
    if failed:
        q = failed[0]
        raise GenerateError(
            f"{path}: query {q.name} ({q.file}:{q.line}) failed analysis: {q.error}"
        )
    return ir


def render_files(cfg: Config, ir: AnalysisIR) -> dict[str, str]:
    """Every generated file's unformatted text for ``cfg``'s package (as ``generate``)."""
    from multica_db_codegen.render.renderer import Settings, render

    rename = cfg.rename
    if cfg.sqlc_rename:
        from multica_db_codegen.sqlc_config import python_rename

        rename = {**python_rename(cfg.sqlc_rename, ir), **cfg.rename}
    settings = Settings(
        package=cfg.package, overrides=cfg.overrides, rename=rename, root=str(cfg.root)
    )
    return render(ir, settings)


def run_render(
    ir_path: Path,
    *,
    check: bool = False,
    out: Path | None = None,
    package: str | None = None,
    sqlc_config: Path | None = None,
    cwd: Path | None = None,
    warn: Callable[[str], None] = lambda _msg: None,
) -> tuple[int, str]:
    """Return (files that differ, diff text); writes them unless ``check``."""
    from multica_db_codegen.pipeline import resolve_plan
    from multica_db_codegen.render import writer

    found, _ = resolve_plan(out=out, package=package, sqlc_config=sqlc_config, cwd=cwd)
    if len(found.configs) != 1:
        raise GenerateError(
            "render --ir renders one package: this configuration has "
            f"{len(found.configs)}; analyze and render each with its own --sqlc-config"
        )
    (cfg,) = found.configs
    ir = load_ir(ir_path)
    for w in ir.warnings:
        warn(w)
    pyproject = find_pyproject(cfg.root)
    files = writer.format_sources(render_files(cfg, ir), package=cfg.package, pyproject=pyproject)
    p = writer.plan(cfg.out, files)
    changed = len(p.writes) + len(p.deletes)
    if check:
        return changed, writer.diff(p, cfg.root)
    writer.apply(p)
    return changed, ""
