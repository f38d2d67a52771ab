"""The type a schema stand-in returns, and how a query gets past comparing it.

A view calling a function the server lacks is created with a stand-in for it
(:mod:`.schema_calls`) whose result is :data:`UNKNOWN_TYPE`: an empty enum the
analysis reads as "any". A query comparing such a column with a typed value
(``minute > $1::timestamptz``) needs an implicit cast to that type, made in the
query's description transaction (rolled back): :func:`cast_needed` names it.
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


def cast_needed(message: str) -> str | None:
    """The type an operator wanted where a stand-in's result was given (PostgreSQL's
    "operator does not exist: unknown_result > timestamp with time zone"), or None."""
    m = _OPERATOR_RE.match(message)
    if m is None:
        return None
    left, right = m.group("left"), m.group("right")
    names = (UNKNOWN_TYPE, f"{UNKNOWN_SCHEMA}.{UNKNOWN_NAME}")
    if left in names and right not in names:
        return right
    if right in names and left not in names:
        return left
    return None


__all__ = ["UNKNOWN_NAME", "UNKNOWN_SCHEMA", "UNKNOWN_TYPE", "cast_needed"]
