"""The ``multica-db`` commands: one parser (the standard library's argparse), one function each.

argparse rather than a CLI framework: it is all these commands need, and it
loads in a few milliseconds, where typer (with pydantic and rich underneath)
took ~0.2 s of every run that the warm stamp does not answer — a fifth of
regenerating one file of a large project (typer 0.29: 92 ms of imports and
~100 ms of pydantic-based option coercion; one edited file of the 878-query
corpus went from 0.63 s to 0.84 s, past the 1.0× sqlc target). Every flag's meaning and every error
go through :func:`main`; nothing else reads the command line.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from multica_db_codegen.errors import GenerateError, GenerateErrors

_URL_HELP = (
    "Server the analyzer may create a throwaway database on "
    "(default: $MULTICA_DB_ANALYZER_URL, else an embedded server)."
)
_SQLC_HELP = (
    "Generate from a sqlc config (version 1 or 2): every PostgreSQL package becomes a Python "
    "package. Default: sqlc.yaml/sqlc.yml/sqlc.json in the current directory when there is "
    "no [tool.multica-db] and no --schema/--queries."
)


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


def _flags(args: argparse.Namespace) -> dict[str, Any]:
    names = ("schema", "queries", "out", "package", "database_url", "sqlc_config")
    return {n: getattr(args, n) for n in names if hasattr(args, n)}


def generate(args: argparse.Namespace) -> int:
    """Generate typed query modules (sync and async) and models.

    With --queries naming some of the project's query files, only their modules
    are regenerated; every other generated module is left as it is. With
    --keep-going, every query that works is written and the others are listed
    (exit 1); without it, any error writes nothing.
    """
    from multica_db_codegen.processors import run_generate

    try:
        result = run_generate(
            check=args.check,
            keep_going=args.keep_going,
            warn=_warn,
            argv=args.argv,
            **_flags(args),
        )
    except (GenerateError, GenerateErrors) as exc:
        return _fail(exc)
    code = report_generate(result.changed, result.diff, result.summary(), check=args.check)
    return _fail(GenerateErrors(list(result.errors))) if result.errors else code


def analyze(args: argparse.Namespace) -> int:
    """Print what the analyzer found as JSON: parameters, columns, types, nullability.

    With --keep-going the document holds everything that worked and lists every
    error (parse, analysis and render: all that `generate` would refuse); exit 1.
    """
    from multica_db_codegen.analyze.ir_codec import document
    from multica_db_codegen.processors import run_analyze

    try:
        ir, errors = run_analyze(keep_going=args.keep_going, **_flags(args))
    except (GenerateError, GenerateErrors) as exc:
        return _fail(exc)
    sys.stdout.write(json.dumps(document(ir, errors), indent=2, sort_keys=False) + "\n")
    return 1 if errors else 0


def render(args: argparse.Namespace) -> int:
    """Write what `generate` writes, from a saved analysis: no database, no parsing."""
    from multica_db_codegen.processors import run_render

    try:
        result = run_render(args.ir, check=args.check, warn=_warn, **_flags(args))
    except (GenerateError, GenerateErrors) as exc:
        return _fail(exc)
    summary = f"{result.changed} file(s) written"
    return report_generate(result.changed, result.diff, summary, check=args.check)


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


def migrate(args: argparse.Namespace) -> int:
    """Apply pending migrations (advisory-locked: safe from many processes at once)."""
    import subprocess

    # The migration runner ships with the package the generator writes for this project
    # (multica_db.migrate): run, never imported, so the generator depends on no output.
    argv = [sys.executable, "-m", "multica_db.migrate", "--database-url", args.database_url]
    argv += ["--dir", str(args.dir)] if args.dir else []
    argv += ["--target", str(args.target)] if args.target is not None else []
    done = subprocess.run(argv, capture_output=True, text=True, check=False)
    sys.stdout.write(done.stdout)
    sys.stderr.write(done.stderr)
    return done.returncode


def verify(args: argparse.Namespace) -> int:
    """Check every query against a live database: exit 1 on type or nullability drift."""
    import psycopg

    from multica_db_codegen import verify as checking

    flags = _flags(args)
    del flags["database_url"]  # verify's --database-url is the live database
    try:
        reports = checking.verify_packages(
            live_url=args.database_url, analyzer_url=args.analyzer_url, **flags
        )
    except (GenerateError, GenerateErrors) as exc:
        return _fail(exc)
    except psycopg.Error as exc:  # the live database: unreachable, refused, timed out
        _err(f"error: {args.database_url}: {exc}")
        return 1
    for report in reports:  # a sqlc config's packages, each with its own schema and queries
        stale = checking.stale_warning(report, named=len(reports) > 1)
        if stale:
            _warn(stale)
        for d in report.drifts:
            print(str(d))
    total = checking.Report.combine(reports)
    _err(checking.summary(total))
    return 1 if total.failed else 0


def watch(args: argparse.Namespace) -> int:
    """Regenerate on every save of a query, schema or config file (Ctrl-C stops)."""
    import signal
    import threading

    from multica_db_codegen import watch as watching
    from multica_db_codegen.project import Flags
    from multica_db_codegen.runner import Runner

    runner = Runner(Flags(**_flags(args)))
    try:
        project = runner.project
    except (GenerateError, GenerateErrors) as exc:
        return _fail(exc)
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())  # a service manager's stop: as Ctrl-C

    def echo(line: str) -> None:
        print(line, file=sys.stderr if line.startswith(("error:", "warning:")) else sys.stdout)
        sys.stdout.flush()

    with runner:  # closes the analyzer's connection when watching stops
        watching.run(runner, stop=stop, root=project.root, echo=echo, poll=args.poll)
    return 0


def clean(args: argparse.Namespace) -> int:
    """Remove what the generator made for this project, and say what was removed.

    This project's schema databases on the analyzer's server (one in use by a
    running generator is kept and named) and its .multica-db/ cache directory.
    With --all: every database the generator made on that server (every project's:
    schema, spare, build, throwaway) and the user cache (compiled templates and the
    embedded server, stopped first). Generated code is left alone.
    """
    from multica_db_codegen.clean import clean as run_clean

    try:
        lines = run_clean(
            database_url=args.database_url, keep_server=args.keep_server, everything=args.all
        )
    except GenerateError as exc:
        return _fail(exc)
    for line in lines:
        print(line)
    return 0


# --- the parser -----------------------------------------------------------------------------


def _inputs(p: argparse.ArgumentParser, *, url: bool = True) -> None:
    p.add_argument(
        "--schema",
        action="append",
        type=Path,
        metavar="PATH",
        help="Schema file or migrations directory (repeatable).",
    )
    p.add_argument(
        "--queries",
        action="append",
        type=Path,
        metavar="PATH",
        help="Query file or directory of .sql files (repeatable).",
    )
    if url:
        p.add_argument("--database-url", metavar="URL", help=_URL_HELP)
    p.add_argument("--sqlc-config", type=Path, metavar="FILE", help=_SQLC_HELP)


def _out(p: argparse.ArgumentParser, help_text: str = "Output package directory.") -> None:
    p.add_argument("--out", type=Path, metavar="DIR", help=help_text)


def _package(p: argparse.ArgumentParser) -> None:
    p.add_argument("--package", metavar="NAME", help="Import name of the output package.")


def _check(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--check", action="store_true", help="Write nothing; exit 1 with a diff if stale."
    )


def _keep_going(p: argparse.ArgumentParser, help_text: str) -> None:
    p.add_argument("--keep-going", action="store_true", help=help_text)


def build_parser() -> argparse.ArgumentParser:
    from multica_db_codegen.cache import version

    parser = argparse.ArgumentParser(
        prog="multica-db", description="Typed Python query functions from annotated PostgreSQL."
    )
    parser.add_argument(
        "--version", action="version", version=f"multica-db {version('multica-db')}"
    )
    sub = parser.add_subparsers(title="commands", metavar="COMMAND")

    def command(func: Callable[[argparse.Namespace], int]) -> argparse.ArgumentParser:
        doc = (func.__doc__ or "").strip()
        p = sub.add_parser(
            func.__name__,
            help=doc.split("\n", 1)[0],
            description=doc,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        p.set_defaults(func=func)
        return p

    p = command(generate)
    _check(p)
    _keep_going(p, "Write every query that works, list the others (exit 1).")
    _inputs(p)
    _out(p, "Output package directory (with several sqlc packages: their parent).")
    _package(p)

    p = command(analyze)
    p.add_argument("--json", action="store_true", help="Print the analysis as JSON (the default).")
    _keep_going(p, "Print everything that worked, with every error listed (exit 1).")
    _inputs(p)

    p = command(render)
    p.add_argument(
        "--ir", type=Path, required=True, help="An `analyze --json` document to render from."
    )
    _check(p)
    _out(p)
    _package(p)
    p.add_argument("--sqlc-config", type=Path, metavar="FILE", help=_SQLC_HELP)

    p = command(migrate)
    p.add_argument("--database-url", required=True, metavar="URL", help="Database to migrate.")
    p.add_argument("--dir", type=Path, help="Migrations directory (default: the packaged ones).")
    p.add_argument("--target", type=int, help="Stop at this version.")

    p = command(verify)
    p.add_argument(
        "--database-url",
        required=True,
        metavar="URL",
        help="The live database to check (read-only).",
    )
    _inputs(p, url=False)
    _out(p)
    p.add_argument(
        "--analyzer-url",
        metavar="URL",
        help="Server for the schema's analysis database (as generate's --database-url).",
    )

    p = command(watch)
    _inputs(p)
    _out(p)
    _package(p)
    p.add_argument(
        "--poll", action="store_true", help="Poll for changes (file systems without events)."
    )

    p = command(clean)
    p.add_argument("--database-url", metavar="URL", help=_URL_HELP)
    p.add_argument(
        "--all",
        action="store_true",
        help="Every project's databases on the server, and the user cache (the embedded server).",
    )
    p.add_argument(
        "--keep-server",
        action="store_true",
        help="With --all: keep the embedded server's data (drop only databases).",
    )
    return parser


def main(argv: Sequence[str]) -> int:
    """Run one command; its exit status (2 for a usage error, as argparse reports it)."""
    parser = build_parser()
    if not argv:
        parser.print_help()
        return 2
    try:
        args = parser.parse_args(list(argv))
    except SystemExit as exc:  # --help, --version, a usage error
        return exc.code if isinstance(exc.code, int) else 0
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    args.argv = list(argv)
    code: int = args.func(args)
    return code
