"""The ``multica-db`` command's entry point.

Kept tiny on purpose: a warm ``generate`` (nothing changed since the same
command last ran) is answered from the stamp of :mod:`multica_db_codegen.cache`
before the runner, typer or even ``typing`` are imported. Everything else — every
other command, every flag's meaning, every error — goes through the one
command-line parser (commands.py, on typer).
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # typing itself costs a warm run ~10 ms of imports
    from collections.abc import Sequence


def run(argv: Sequence[str]) -> int:
    """Run the command ``argv`` (without the program name); return its exit status."""
    from multica_db_codegen import cache

    code = cache.answer(argv)  # nothing changed since the last run: a stamp says so
    if code is not None:
        return code
    from multica_db_codegen.commands import main as command

    return command(argv)


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
