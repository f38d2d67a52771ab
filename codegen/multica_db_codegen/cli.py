"""The ``multica-db`` command's entry point.

Kept tiny on purpose: a warm ``generate`` (nothing changed since the same
command last ran) is answered from the stamp of :mod:`multica_db_codegen.cache`
before typer, the pipeline or even ``typing`` are imported. Everything else —
every other command, every flag's meaning, every error — goes through the one
command-line parser, typer's (commands.py). ``cli.app`` and the other names
still resolve here, loaded on first use.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing itself costs a warm run ~10 ms of imports
    from collections.abc import Sequence
    from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):  # the import system probes e.g. __path__: never load typer for it
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from multica_db_codegen import commands

    try:
        return getattr(commands, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def run(argv: Sequence[str]) -> int:
    """Run the command ``argv`` (without the program name); return its exit status."""
    from multica_db_codegen import cache

    code = cache.answer(argv)  # nothing changed since the last run: a stamp says so
    if code is not None:
        return code
    from multica_db_codegen.commands import app

    try:
        app(args=list(argv), prog_name="multica-db", obj={"argv": list(argv)})
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    return 0


def main() -> None:
    code = run(sys.argv[1:])
    # Everything is written and closed: skip tearing down the interpreter (freeing a
    # cold run's objects one by one takes longer than many a warm run).
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:
        raise SystemExit(code) from None
    os._exit(code)


if __name__ == "__main__":
    main()
