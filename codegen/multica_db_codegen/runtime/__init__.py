"""The helpers generated query modules call at run time.

multica-db writes this package, unchanged, into every package it generates (as
``<package>.runtime``), the way sqlc writes ``db.go``: generated code then needs
psycopg and pydantic and nothing else — not multica-db, whose version could drift
from the one that generated the code. ``VERSION`` says which helpers a package
carries; it changes whenever their behaviour does.

What a caller catches or calls is here: :class:`NoRowError`,
:class:`ExecResult`, :func:`forget_cursors`.
"""

from .cursors import forget_cursors
from .errors import NoRowError
from .results import ExecResult

VERSION = 1

__all__ = ["VERSION", "ExecResult", "NoRowError", "forget_cursors"]
