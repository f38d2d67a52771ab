"""The ``multica-db`` commands (typer): generate, analyze, migrate, verify.

Loaded by cli.py only when a command needs the CLI framework: a plain ``generate``
runs without it.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from multica_db_codegen.errors import GenerateError, GenerateErrors

app = typer.Typer(
    name="multica-db",
    help="Typed Python query functions from annotated PostgreSQL.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        from multica_db_codegen.cache import version

        typer.echo(f"multica-db {version('multica-db')}")
        raise typer.Exit()


@app.callback()
def _main(
    _version_flag: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Print the version and exit."
        ),
    ] = False,
) -> None:
    """Typed Python query functions from annotated PostgreSQL."""


SchemaOpt = Annotated[
    list[Path] | None,
    typer.Option("--schema", help="Schema file or migrations directory (repeatable)."),
]
QueriesOpt = Annotated[
    list[Path] | None,
    typer.Option("--queries", help="Query file or directory of .sql files (repeatable)."),
]
UrlOpt = Annotated[
    str | None,
    typer.Option(
        "--database-url",
        help="Server the analyzer may create a throwaway database on "
        "(default: $MULTICA_DB_ANALYZER_URL, else an embedded server).",
    ),
]
SqlcOpt = Annotated[
    Path | None,
    typer.Option(
        "--sqlc-config",
        help="Generate from a sqlc config (version 1 or 2): every PostgreSQL package "
        "becomes a Python package. Default: sqlc.yaml/sqlc.yml/sqlc.json in the current "
        "directory when there is no [tool.multica-db] and no --schema/--queries.",
    ),
]


def _fail(exc: GenerateError | GenerateErrors) -> None:
    errors = exc.errors if isinstance(exc, GenerateErrors) else [exc]
    for e in errors:
        typer.echo(f"error: {e}", err=True)
    if len(errors) > 1:
        typer.echo(f"{len(errors)} errors", err=True)
    raise typer.Exit(1)


@app.command()
def generate(
    ctx: typer.Context,
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 with a diff if stale.")
    ] = False,
    schema: SchemaOpt = None,
    queries: QueriesOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(
            "--out",
            help="Output package directory (with several sqlc packages: their parent).",
        ),
    ] = None,
    package: Annotated[
        str | None, typer.Option("--package", help="Import name of the output package.")
    ] = None,
    database_url: UrlOpt = None,
    sqlc_config: SqlcOpt = None,
) -> None:
    """Generate typed query modules (sync and async) and models.

    With --queries naming some of the project's query files, only their modules
    are regenerated; every other generated module is left as it is.
    """
    from multica_db_codegen.pipeline import report_generate, run_generate

    argv = ctx.obj.get("argv") if isinstance(ctx.obj, dict) else None
    try:
        result = run_generate(
            check=check,
            schema=schema,
            queries=queries,
            out=out,
            package=package,
            database_url=database_url,
            sqlc_config=sqlc_config,
            warn=lambda msg: typer.echo(f"warning: {msg}", err=True),
            argv=argv,
        )
    except (GenerateError, GenerateErrors) as exc:
        _fail(exc)
        return
    status = report_generate(result, check=check)
    if status:
        raise typer.Exit(status)


@app.command()
def analyze(
    as_json: Annotated[bool, typer.Option("--json", help="Print the analysis as JSON.")] = True,
    keep_going: Annotated[
        bool, typer.Option("--keep-going", help="Report failing queries in the JSON and go on.")
    ] = False,
    schema: SchemaOpt = None,
    queries: QueriesOpt = None,
    database_url: UrlOpt = None,
    sqlc_config: SqlcOpt = None,
) -> None:
    """Print what the analyzer found: parameters, columns, types, nullability."""
    from multica_db_codegen.analyze.ir import to_json
    from multica_db_codegen.pipeline import run_analyze

    try:
        ir = run_analyze(
            schema=schema,
            queries=queries,
            database_url=database_url,
            keep_going=keep_going,
            sqlc_config=sqlc_config,
        )
    except (GenerateError, GenerateErrors) as exc:
        _fail(exc)
        return
    doc = to_json(ir)
    sys.stdout.write(json.dumps(doc, indent=2, sort_keys=False) + "\n")
    if any(q.error is not None for f in ir.files for q in f.queries):
        raise typer.Exit(1)


@app.command()
def render(
    ir: Annotated[Path, typer.Option("--ir", help="An `analyze --json` document to render from.")],
    check: Annotated[
        bool, typer.Option("--check", help="Write nothing; exit 1 with a diff if stale.")
    ] = False,
    out: Annotated[Path | None, typer.Option("--out", help="Output package directory.")] = None,
    package: Annotated[
        str | None, typer.Option("--package", help="Import name of the output package.")
    ] = None,
    sqlc_config: SqlcOpt = None,
) -> None:
    """Write what `generate` writes, from a saved analysis: no database, no parsing."""
    from multica_db_codegen.pipeline import report_generate
    from multica_db_codegen.render_ir import run_render

    try:
        changed, diff_text = run_render(
            ir,
            check=check,
            out=out,
            package=package,
            sqlc_config=sqlc_config,
            warn=lambda msg: typer.echo(f"warning: {msg}", err=True),
        )
    except (GenerateError, GenerateErrors) as exc:
        _fail(exc)
        return
    status = report_generate(changed, diff_text, check=check)
    if status:
        raise typer.Exit(status)


@app.command()
def migrate(
    database_url: Annotated[str, typer.Option("--database-url", help="Database to migrate.")],
    directory: Annotated[
        Path | None,
        typer.Option("--dir", help="Migrations directory (default: the packaged ones)."),
    ] = None,
    target: Annotated[int | None, typer.Option("--target", help="Stop at this version.")] = None,
) -> None:
    """Apply pending migrations (advisory-locked: safe from many processes at once)."""
    import psycopg

    from multica_db.migrate import MigrationError, load_migrations
    from multica_db.migrate import migrate as run_migrate

    try:
        migs = load_migrations(directory) if directory else None
        with psycopg.connect(database_url) as conn:
            applied = run_migrate(conn, target=target, migrations=migs)
    except MigrationError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except psycopg.Error as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    for m in applied:
        typer.echo(f"applied {m.up_file}")
    if not applied:
        typer.echo("nothing to apply")


@app.command()
def verify(
    database_url: Annotated[
        str, typer.Option("--database-url", help="The live database to check (read-only).")
    ],
    schema: SchemaOpt = None,
    queries: QueriesOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output package directory.")] = None,
    analyzer_url: Annotated[
        str | None,
        typer.Option(
            "--analyzer-url",
            help="Server for the schema's analysis database (as generate's --database-url).",
        ),
    ] = None,
    sqlc_config: SqlcOpt = None,
) -> None:
    """Check every query against a live database: exit 1 on type or nullability drift."""
    import psycopg

    from multica_db_codegen import verify as checking

    try:
        report = checking.verify(
            live_url=database_url,
            schema=schema,
            queries=queries,
            out=out,
            analyzer_url=analyzer_url,
            sqlc_config=sqlc_config,
        )
    except (GenerateError, GenerateErrors) as exc:
        _fail(exc)
        return
    except psycopg.Error as exc:  # the live database: unreachable, refused, timed out
        typer.echo(f"error: {database_url}: {exc}", err=True)
        raise typer.Exit(1) from None
    stale = checking.stale_warning(report)
    if stale:
        typer.echo(f"warning: {stale}", err=True)
    for d in report.drifts:
        typer.echo(str(d))
    typer.echo(checking.summary(report), err=True)
    if report.failed:
        raise typer.Exit(1)


@app.command()
def watch(
    schema: SchemaOpt = None,
    queries: QueriesOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="Output package directory.")] = None,
    package: Annotated[
        str | None, typer.Option("--package", help="Import name of the output package.")
    ] = None,
    database_url: UrlOpt = None,
    sqlc_config: SqlcOpt = None,
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll for changes (file systems without events).")
    ] = False,
) -> None:
    """Regenerate on every save of a query, schema or config file (Ctrl-C stops)."""
    import signal
    import threading

    from multica_db_codegen import watch as watching
    from multica_db_codegen.pipeline import plan

    try:
        cfg = plan(
            schema=schema,
            queries=queries,
            out=out,
            package=package,
            database_url=database_url,
            sqlc_config=sqlc_config,
        ).configs[0]
    except (GenerateError, GenerateErrors) as exc:
        _fail(exc)
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager's stop: as Ctrl-C
    from multica_db_codegen.incremental import Generator

    with Generator(
        schema=schema,
        queries=queries,
        out=out,
        package=package,
        database_url=database_url,
        sqlc_config=sqlc_config,
    ) as engine:  # closes the analyzer's connection when watching stops
        watching.run(
            engine,
            stop=stop,
            root=cfg.root,
            schema=cfg.schema,
            queries=cfg.queries,
            echo=lambda line: typer.echo(line, err=line.startswith(("error:", "warning:"))),
            poll=poll,
        )


@app.command()
def clean(
    database_url: UrlOpt = None,
    keep_server: Annotated[
        bool,
        typer.Option(
            "--keep-server", help="Keep the embedded server's data (drop only databases)."
        ),
    ] = False,
) -> None:
    """Remove every database and file the generator made, and say what was removed.

    On the analyzer's server: every schema, spare, build and throwaway database
    (one in use by a running generator is kept and named). On disk: the
    project's .multica-db/ directory and the user cache (compiled templates and
    the embedded server, stopped first). Generated code is left alone.
    """
    from multica_db_codegen.clean import clean as run_clean

    try:
        lines = run_clean(database_url=database_url, keep_server=keep_server)
    except GenerateError as exc:
        _fail(exc)
        return
    for line in lines:
        typer.echo(line)
