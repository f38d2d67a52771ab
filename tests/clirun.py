"""Run the ``multica-db`` command in-process, its output captured (as a console would see it)."""

from __future__ import annotations

import contextlib
import io
import os
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

from multica_db_codegen.cli import run


@dataclass(frozen=True, slots=True)
class Invocation:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


@contextlib.contextmanager
def _environment(env: Mapping[str, str] | None) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in env or {}}
    os.environ.update(env or {})
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def invoke(args: Sequence[str], env: Mapping[str, str] | None = None) -> Invocation:
    """``multica-db ARGS`` in this process; exceptions (generator bugs) propagate."""
    out, err = io.StringIO(), io.StringIO()
    with _environment(env), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = run(list(args))
    return Invocation(code, out.getvalue(), err.getvalue())
