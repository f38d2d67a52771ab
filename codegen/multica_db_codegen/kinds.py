"""The closed sets of values every stage shares: a query's command and statement kind.

A leaf module, so parse (which finds them), the IR (which carries them) and render
(which reads them) all name the same enums without importing each other.
"""

from __future__ import annotations

from enum import StrEnum


class Command(StrEnum):
    """The sqlc commands: what the generated function returns (``-- name: X :one``)."""

    ONE = "one"
    MANY = "many"
    EXEC = "exec"
    EXECROWS = "execrows"
    EXECRESULT = "execresult"
    # PostgreSQL has no "last insert id": the first column of the first row the
    # statement returns (``INSERT … RETURNING id``), or None.
    EXECLASTID = "execlastid"
    COPYFROM = "copyfrom"
    BATCHEXEC = "batchexec"
    BATCHONE = "batchone"
    BATCHMANY = "batchmany"
    ITER = "iter"

    @property
    def asks_for_rows(self) -> bool:
        """The annotation asks for rows (a statement without columns makes it :exec)."""
        return self in (
            Command.ONE,
            Command.MANY,
            Command.BATCHONE,
            Command.BATCHMANY,
            Command.ITER,
        )

    @property
    def takes_sets(self) -> bool:
        """The function takes many parameter sets (an iterable of tuples)."""
        return self in (Command.COPYFROM, Command.BATCHEXEC, Command.BATCHONE, Command.BATCHMANY)

    @property
    def reads_rows(self) -> bool:
        """The generated function reads the rows the statement returns."""
        return self in (
            Command.ONE,
            Command.MANY,
            Command.ITER,
            Command.BATCHONE,
            Command.BATCHMANY,
            Command.EXECLASTID,
        )


class StatementKind(StrEnum):
    """The statement's top-level kind, from its parse tree."""

    SELECT = "select"
    INSERT = "insert"
    UPDATE = "update"
    DELETE = "delete"
    OTHER = "other"
