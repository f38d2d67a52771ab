"""The ``multica-db`` commands, on typer: one function each.

typer is imported only here, and this module only when the warm stamp cannot
answer (cli.py): a warm ``generate`` never pays for it. Every flag's meaning and
every error go through :func:`main`; nothing else reads the command line.

The app is built once, at import. typer is kept below 0.29 (pyproject): 0.29
builds a pydantic ``TypeAdapter`` for every option of the command run, given or
not, which costs a one-file regeneration ~0.1 s of CPU; 0.26-0.28 convert with
their vendored click, and import neither pydantic nor rich (help is plain text:
``rich_markup_mode=None``).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Annotated, Any

import typer

from multica_db_codegen.errors import GenerateError, GenerateErrors

_URL_HELP = (
    "Server the analyzer may create its databases on "
    "(default: $MULTICA_DB_ANALYZER_URL, else an embedded server)."
)
_SQLC_HELP = (
    "Generate from a sqlc config (version 1 or 2): every PostgreSQL package becomes a Python "
    "package. Default: sqlc.yaml/sqlc.yml/sqlc.json in the current directory when there is "
    "no [tool.multica-db] and no --schema/--queries."
)

Schema = Annotated[
    list[Path] | None,
    typer.Option(metavar="PATH", help="Schema file or migrations directory (repeatable)."),
]
Queries = Annotated[
    list[Path] | None,
    typer.Option(metavar="PATH", help="Query file or directory of .sql files (repeatable)."),
]
AnalyzerUrl = Annotated[str | None, typer.Option("--database-url", metavar="URL", help=_URL_HELP)]
SqlcConfig = Annotated[Path | None, typer.Option(metavar="FILE", help=_SQLC_HELP)]
Out = Annotated[Path | None, typer.Option(metavar="DIR", help="Output package directory.")]
Package = Annotated[str | None, typer.Option(metavar="NAME", help="Import name of the package.")]
Check = Annotated[bool, typer.Option("--check", help="Write nothing; exit 1 with a diff if stale.")]

app = typer.Typer(
    name="multica-db",
    help="Typed Python query functions from annotated PostgreSQL.",
    add_completion=False,
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
_argv: list[str] = []  # the command line as given: the warm stamp's identity


def _err(text: str) -> None:
    print(text, file=sys.stderr)


def _fail(exc: GenerateError | GenerateErrors) -> int:
    errors = exc.errors if isinstance(exc, GenerateErrors) else [exc]
    for e in errors:
        _err(f"error: {e}")
    if len(errors) > 1:
        _err(f"{len(errors)} errors")
    return 1


def _warn(msg: str) -> None:
    _err(f"warning: {msg}")


# --- the commands ---------------------------------------------------------------------------


def _exit(code: int) -> None:
    raise typer.Exit(code)


@app.command()
def generate(
    check: Check = False,
    keep_going: Annotated[
        bool,
        typer.Option(
            "--keep-going", help="Write every query that works, list the others (exit 1)."
        ),
    ] = False,
    schema: Schema = None,
    queries: Queries = None,
    out: Annotated[
        Path | None,
        typer.Option(
            metavar="DIR",
            help="Output package directory (with several sqlc packages: their parent).",
        ),
    ] = None,
    package: Package = None,
    database_url: AnalyzerUrl = None,
    sqlc_config: SqlcConfig = None,
) -> None:
    """Generate typed query modules (sync and async) and models.

    With --queries naming some of the project's query files, only their modules
    are regenerated; every other generated module is left as it is. With
    --keep-going, every query that works is written and the others are listed
    (exit 1); without it, any error writes nothing.
    """
    from multica_db_codegen.processors import run_generate

    flags = _flags(
        schema=schema,
        queries=queries,
        out=out,
        package=package,
        database_url=database_url,
        sqlc_config=sqlc_config,
    )
    try:
        result = run_generate(check=check, keep_going=keep_going, warn=_warn, argv=_argv, **flags)
    except (GenerateError, GenerateErrors) as exc:
        _exit(_fail(exc))
        return
    code = report_generate(result.changed, result.diff, result.summary(), check=check)
    _exit(_fail(GenerateErrors(list(result.errors))) if result.errors else code)


@app.command()
def analyze(
    json_: Annotated[
        bool, typer.Option("--json", help="Print the analysis as JSON (the default).")
    ] = False,
    keep_going: Annotated[
        bool,
        typer.Option(
            "--keep-going", help="Print everything that worked, with every error listed (exit 1)."
        ),
    ] = False,
    schema: Schema = None,
    queries: Queries = None,
    database_url: AnalyzerUrl = None,
    sqlc_config: SqlcConfig = None,
) -> None:
    """Print what the analyzer found as JSON: parameters, columns, types, nullability.

    With --keep-going the document holds everything that worked and lists every
    error (parse, analysis and render: all that `generate` would refuse); exit 1.
    """
    from multica_db_codegen.analyze.ir_codec import document
    from multica_db_codegen.processors import run_analyze

    flags = _flags(
        schema=schema, queries=queries, database_url=database_url, sqlc_config=sqlc_config
    )
    try:
        ir, errors = run_analyze(keep_going=keep_going, **flags)
    except (GenerateError, GenerateErrors) as exc:
        _exit(_fail(exc))
        return
    sys.stdout.write(json.dumps(document(ir, errors), indent=2, sort_keys=False) + "\n")
    _exit(1 if errors else 0)


@app.command()
def render(
    ir: Annotated[Path, typer.Option(help="An `analyze --json` document to render from.")],
    check: Check = False,
    out: Out = None,
    package: Package = None,
    sqlc_config: SqlcConfig = None,
) -> None:
    """Write what `generate` writes, from a saved analysis: no database, no parsing."""
    from multica_db_codegen.processors import run_render

    flags = _flags(out=out, package=package, sqlc_config=sqlc_config)
    try:
        result = run_render(ir, check=check, warn=_warn, **flags)
    except (GenerateError, GenerateErrors) as exc:
        _exit(_fail(exc))
        return
    summary = f"{result.changed} file(s) written"
    _exit(report_generate(result.changed, result.diff, summary, check=check))


def report_generate(changed: int, diff_text: str, summary: str, *, check: bool) -> int:
    """Print a generate (or render) run's outcome; return its exit status."""
    if not check:
        print(summary, file=sys.stderr)
        return 0
    if changed:
        sys.stdout.write(diff_text)
        print("generated code is stale: run `multica-db generate`", file=sys.stderr)
        return 1
    print("generated code is up to date", file=sys.stderr)
    return 0


@app.command()
def migrate(
    database_url: Annotated[str, typer.Option(metavar="URL", help="Database to migrate.")],
    dir: Annotated[
        Path | None, typer.Option(help="Migrations directory (default: the packaged ones).")
    ] = None,
    target: Annotated[int | None, typer.Option(help="Stop at this version.")] = None,
) -> None:
    """Apply pending migrations (advisory-locked: safe from many processes at once)."""
    import subprocess

    # The migration runner ships with the package the generator writes for this project
    # (multica_db.migrate): run, never imported, so the generator depends on no output.
    argv = [sys.executable, "-m", "multica_db.migrate", "--database-url", database_url]
    argv += ["--dir", str(dir)] if dir else []
    argv += ["--target", str(target)] if target is not None else []
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    _exit(done.returncode)


@app.command()
def verify(
    database_url: Annotated[
        str, typer.Option(metavar="URL", help="The live database to check (read-only).")
    ],
    schema: Schema = None,
    queries: Queries = None,
    sqlc_config: SqlcConfig = None,
    out: Out = None,
    analyzer_url: Annotated[
        str | None,
        typer.Option(
            metavar="URL",
            help="Server for the schema's analysis database (as generate's --database-url).",
        ),
    ] = None,
) -> None:
    """Check every query against a live database: exit 1 on type or nullability drift."""
    import psycopg

    from multica_db_codegen import verify as checking

    # verify's --database-url is the live database; the analyzer's server is --analyzer-url
    flags = _flags(schema=schema, queries=queries, out=out, sqlc_config=sqlc_config)
    try:
        reports = checking.verify_packages(
            live_url=database_url, analyzer_url=analyzer_url, **flags
        )
    except (GenerateError, GenerateErrors) as exc:
        _exit(_fail(exc))
        return
    except psycopg.Error as exc:  # the live database: unreachable, refused, timed out
        _err(f"error: {database_url}: {exc}")
        _exit(1)
        return
    for report in reports:  # a sqlc config's packages, each with its own schema and queries
        stale = checking.stale_warning(report, named=len(reports) > 1)
        if stale:
            _warn(stale)
        for d in report.drifts:
            print(str(d))
    total = checking.Report.combine(reports)
    _err(checking.summary(total))
    _exit(1 if total.failed else 0)


@app.command()
def watch(
    schema: Schema = None,
    queries: Queries = None,
    database_url: AnalyzerUrl = None,
    sqlc_config: SqlcConfig = None,
    out: Out = None,
    package: Package = None,
    poll: Annotated[
        bool, typer.Option("--poll", help="Poll for changes (file systems without events).")
    ] = False,
) -> None:
    """Regenerate on every save of a query, schema or config file (Ctrl-C stops)."""
    import signal
    import threading

    from multica_db_codegen import watch as watching
    from multica_db_codegen.project import Flags
    from multica_db_codegen.runner import Runner

    runner = Runner(
        Flags(
            **_flags(
                schema=schema,
                queries=queries,
                out=out,
                package=package,
                database_url=database_url,
                sqlc_config=sqlc_config,
            )
        )
    )
    try:
        project = runner.project
    except (GenerateError, GenerateErrors) as exc:
        _exit(_fail(exc))
        return
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager's stop: as Ctrl-C

    def echo(line: str) -> None:
        print(line, file=sys.stderr if line.startswith(("error:", "warning:")) else sys.stdout)
        sys.stdout.flush()

    with runner:  # closes the analyzer's connection when watching stops
        watching.run(runner, stop=stop, root=project.root, echo=echo, poll=poll)


@app.command()
def clean(
    database_url: AnalyzerUrl = None,
    all_: Annotated[
        bool,
        typer.Option(
            "--all",
            help=(
                "Every project's databases on the server, and the user cache (the embedded server)."
            ),
        ),
    ] = False,
    keep_server: Annotated[
        bool,
        typer.Option(
            "--keep-server",
            help="With --all: keep the embedded server's data (drop only databases).",
        ),
    ] = False,
) -> None:
    """Remove what the generator made for this project, and say what was removed.

    This project's schema databases on the analyzer's server (one in use by a
    running generator is kept and named) and its .multica-db/ cache directory.
    With --all: every database the generator made on that server (every project's:
    schema, spare, build, throwaway) and the user cache (compiled templates and the
    embedded server, stopped first). Generated code is left alone.
    """
    from multica_db_codegen.clean import clean as run_clean

    try:
        lines = run_clean(database_url=database_url, keep_server=keep_server, everything=all_)
    except GenerateError as exc:
        _exit(_fail(exc))
        return
    for line in lines:
        print(line)


def _flags(**given: Any) -> dict[str, Any]:
    """The flags a command has, by name: one it does not have is left to the
    processor's default (``analyze`` has no --out, and needs none)."""
    return given


def _version(value: bool) -> None:
    if value:
        from multica_db_codegen.cache import version

        print(f"multica-db {version('multica-db')}")
        raise typer.Exit(0)


@app.callback()
def _root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    """Typed Python query functions from annotated PostgreSQL."""


def main(argv: Sequence[str]) -> int:
    """Run one command; its exit status (2 for a usage error)."""
    global _argv
    _argv = list(argv)
    try:
        typer.main.get_command(app).main(args=_argv, prog_name="multica-db")
    except SystemExit as exc:  # every command ends in one: its status, or --help's
        return exc.code if isinstance(exc.code, int) else 0
    return 0
