"""The type a schema stand-in returns, and how a query gets past comparing it.

A view calling a function the server lacks is created with a stand-in for it
(:mod:`.schema_calls`) whose result is :data:`UNKNOWN_TYPE`: an empty enum the
analysis reads as "any". A query comparing such a column with a typed value
(``minute > $1::timestamptz``), or casting it (``bucket::timestamptz``), needs a cast
to that type, made in the query's description transaction (rolled back):
:func:`cast_needed` names it.
"""

from __future__ import annotations

import re

#: where the stand-ins' result type lives; never a relation, never an enum with labels
UNKNOWN_SCHEMA = "multica_db_standin"
UNKNOWN_NAME = "unknown_result"
UNKNOWN_TYPE = f'"{UNKNOWN_SCHEMA}"."{UNKNOWN_NAME}"'

_OPERATOR_RE = re.compile(
    r"^operator does not exist: (?P<left>.+?) (?P<op>[-+*/<>=~!@#%^&|`?]+) (?P<right>.+)$", re.S
)


_CAST_RE = re.compile(r"^cannot cast type (?P<left>.+?) to (?P<right>.+)$", re.S)


def cast_needed(message: str) -> str | None:
    """The type an operator wanted where a stand-in's result was given (PostgreSQL's
    "operator does not exist: unknown_result > timestamp with time zone"), or the type
    such a result is cast to ("cannot cast type unknown_result to timestamp with time
    zone": ``bucket::timestamptz`` over a view's stand-in column), or None."""
    names = (UNKNOWN_TYPE, f"{UNKNOWN_SCHEMA}.{UNKNOWN_NAME}")
    cast = _CAST_RE.match(message)
    if cast is not None:
        left, right = cast.group("left"), cast.group("right")
        return right if left in names and right not in names else None
    m = _OPERATOR_RE.match(message)
    if m is None:
        return None
    left, right = m.group("left"), m.group("right")
    if left in names and right not in names:
        return right
    if right in names and left not in names:
        return left
    return None


__all__ = ["UNKNOWN_NAME", "UNKNOWN_SCHEMA", "UNKNOWN_TYPE", "cast_needed"]
