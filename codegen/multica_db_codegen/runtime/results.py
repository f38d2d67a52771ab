"""What an ``:execresult`` function returns."""

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ExecResult:
    """Rows affected and the command tag, as PostgreSQL reported them."""

    rowcount: int
    status: str  # the command tag, e.g. "UPDATE 3"
