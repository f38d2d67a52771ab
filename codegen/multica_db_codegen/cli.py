"""The ``multica-db`` command's entry point: generate, analyze, migrate.

Kept tiny on purpose: a plain ``generate`` (a warm one takes a few tens of
milliseconds) runs through ``pipeline.fast_generate`` without importing typer,
whose import alone costs more than that. The commands live in commands.py;
``cli.app`` and the other names still resolve here, loaded on first use.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing itself costs a warm run ~10 ms of imports
    from typing import Any


def __getattr__(name: str) -> Any:
    if name.startswith("__"):  # the import system probes e.g. __path__: never load typer for it
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from multica_db_codegen import commands

    try:
        return getattr(commands, name)
    except AttributeError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None


def main() -> None:
    from multica_db_codegen import warm

    code = warm.answer(sys.argv[1:])  # nothing changed since the last run: a stamp says so
    if code is None:
        from multica_db_codegen import later
        from multica_db_codegen.pipeline import fast_generate

        later.detach_when_done()  # cache writes happen after the answer (see later.py)
        code = fast_generate(sys.argv[1:])  # plain `generate` runs without loading typer
        later.finish()
    if code is not None:
        # Everything is written and closed: skip tearing down the interpreter (freeing a
        # cold run's objects one by one takes longer than many a warm run).
        try:
            sys.stdout.flush()
            sys.stderr.flush()
        except OSError:
            raise SystemExit(code) from None
        os._exit(code)
    from multica_db_codegen.commands import app

    app()


if __name__ == "__main__":
    main()
