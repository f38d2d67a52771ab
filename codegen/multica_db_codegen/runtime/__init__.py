"""The helpers generated query modules call at run time.

multica-db writes this package, unchanged, into every package it generates (as
``<package>.runtime``), the way sqlc writes ``db.go``: generated code then needs
psycopg and pydantic and nothing else — not multica-db, whose version could drift
from the one that generated the code. ``VERSION`` says which helpers a package
carries; it changes whenever their behaviour does.

One module per job, which generated code names as it calls them
(``_runtime.rows.row_maker``, ``_runtime.cursors.take``, ``_runtime.pgtext.…``):

- :mod:`.rows` — result tuples become pydantic models without re-validation;
- :mod:`.pgtext` — text forms of the types psycopg cannot load without registering
  them on every connection;
- :mod:`.cursors` — the cursors generated functions run on, reused per connection;
- :mod:`.jsonshape` — JSON the statement builds (``json_agg(p)``…) decoded into models;
- :mod:`.errors`, :mod:`.results` — what callers catch and receive.

What a caller catches or calls is also here: :class:`NoRowError`,
:class:`ExecResult`, :func:`forget_cursors`.
"""

from . import cursors, errors, jsonshape, pgtext, results, rows
from .cursors import forget_cursors
from .errors import NoRowError
from .results import ExecResult

VERSION = 7

__all__ = [
    "VERSION",
    "ExecResult",
    "NoRowError",
    "cursors",
    "errors",
    "forget_cursors",
    "jsonshape",
    "pgtext",
    "results",
    "rows",
]
