"""What render is told besides the IR: the package name, type overrides, renames."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Override:
    """Map a database type, or one ``table.column``, to a Python type path."""

    python_type: str  # "decimal.Decimal", "mypkg.money.Money", "float"
    db_type: str | None = None  # as format_type() prints it: "numeric", "public.citext"
    column: str | None = None  # "table.column" or "schema.table.column"
    # sqlc's ``nullable``: in Go a NULL-able column needs another type; in Python it is
    # ``T | None`` of the same one, so this only decides between two overrides of one type
    nullable: bool | None = None


@dataclass(frozen=True, slots=True)
class Settings:
    """Render settings; built in one place (``stages.render_settings``)."""

    package: str
    overrides: tuple[Override, ...] = ()
    root: str | None = None  # project root: source paths in headers are shown relative to it
    rename: dict[str, str] = field(default_factory=dict)
