"""The few helpers generated query modules call at run time.

Rows arrive from PostgreSQL already typed by psycopg's loaders, so validating
them again in pydantic would only cost time. :func:`row_maker` builds a real
pydantic model instance the way ``model_construct`` does, minus the per-field
default and alias handling that a complete row never needs.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["NoRowError", "row_maker"]

M = TypeVar("M", bound=BaseModel)

_setattr = object.__setattr__


class NoRowError(LookupError):
    """A statement that must return a row (INSERT … RETURNING) returned none."""


def row_maker(
    model: type[M],
    fields: tuple[str, ...],
    converters: Mapping[int, Callable[[Any], Any]] | None = None,
) -> Callable[[Sequence[Any]], M]:
    """A function turning one result tuple into a ``model`` instance without re-validation.

    ``converters`` maps a column position to a callable applied to non-NULL values:
    PostgreSQL enums arrive as ``str`` and become their ``StrEnum``, nested rows
    become their models.
    """
    new = model.__new__
    post_init = model.__pydantic_post_init__
    if converters:
        conv = tuple(sorted(converters.items()))

        def make_converted(row: Sequence[Any]) -> M:
            values = list(row)
            for i, fn in conv:
                v = values[i]
                if v is not None:
                    values[i] = fn(v)
            m = new(model)
            _setattr(m, "__dict__", dict(zip(fields, values, strict=True)))
            _setattr(m, "__pydantic_fields_set__", set(fields))
            _setattr(m, "__pydantic_extra__", None)
            _setattr(m, "__pydantic_private__", None)
            if post_init:
                m.model_post_init(None)
            return m

        return make_converted

    def make(row: Sequence[Any]) -> M:
        m = new(model)
        _setattr(m, "__dict__", dict(zip(fields, row, strict=True)))
        _setattr(m, "__pydantic_fields_set__", set(fields))
        _setattr(m, "__pydantic_extra__", None)
        _setattr(m, "__pydantic_private__", None)
        if post_init:
            m.model_post_init(None)
        return m

    return make
