"""Row building: a result tuple becomes a pydantic model without validating it again.

psycopg's loaders have already turned every value into the Python type the
model declares, so running pydantic's validation again would only cost time
(it triples the cost of a 10,000-row ``:many``). Pydantic's public way to skip
validation, ``model_construct``, is itself about four times slower than the
query's own decoding, because it walks every field looking for defaults and
aliases that a complete row never needs.

So for plain models :func:`row_maker` sets an instance's state the way
``model_construct`` leaves it — and checks, once per model, that this is still
exactly what ``model_construct`` leaves on the installed pydantic. Anything
unusual (private attributes, ``model_post_init``, ``extra='allow'``, a pydantic
whose instances are laid out differently) goes through ``model_construct``
itself: slower, never wrong. A test runs these helpers under the oldest and the
newest pydantic the package allows, so a layout change shows up as a failure,
not as a silent slowdown.

A ``:many`` result is read :data:`CHUNK` rows at a time (:func:`fetch_all`) rather
than as one list of tuples: each tuple is freed as soon as its model exists, so
the cyclic collector never carries 10,000 dead-to-be tuples through its older
generations, and a plain model's rows are built in one loop without a call per
row. Together about 8% of a 10,000-row ``:many``'s client time (benches README).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Protocol, TypeVar

from pydantic import BaseModel

__all__ = [
    "CHUNK",
    "afetch_all",
    "dict_maker",
    "embed_maker",
    "fetch_all",
    "row_maker",
    "uses_fast_path",
]

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
Maker = Callable[[Sequence[Any]], M]
Bulk = Callable[[Sequence[Sequence[Any]], list[Any]], None]

#: Rows :func:`fetch_all` reads from a result at a time: small enough that the
#: tuples of one chunk die young, large enough that the per-chunk call is noise.
CHUNK = 256

#: The one-loop builder of each fast-path maker (see :func:`fetch_all`).
_BULK: weakref.WeakKeyDictionary[Callable[..., Any], Bulk] = weakref.WeakKeyDictionary()


class _Fetches(Protocol):
    def fetchmany(self, size: int = 0) -> list[Any]: ...


class _AFetches(Protocol):
    async def fetchmany(self, size: int = 0) -> list[Any]: ...


#: The per-instance state of a pydantic 2 model, as ``BaseModel.__slots__`` names it.
_STATE = ("__dict__", "__pydantic_fields_set__", "__pydantic_extra__", "__pydantic_private__")
_setattr = object.__setattr__
_getattr = object.__getattribute__


def _slots(model: type[BaseModel]) -> set[str]:
    return {s for klass in model.__mro__ for s in getattr(klass, "__slots__", ())}


def uses_fast_path(model: type[BaseModel], fields: tuple[str, ...]) -> bool:
    """Whether rows of ``model`` can skip ``model_construct`` (see the module docstring).

    The answer is proven on a probe: ``model_construct`` with every field given
    must leave exactly the four slots, a ``__dict__`` of the fields, a fields-set
    of all of them, and no extra or private state — what the fast path writes.
    """
    if set(fields) != set(model.model_fields) or len(fields) != len(set(fields)):
        return False
    if model.model_config.get("extra") == "allow":
        return False
    if getattr(model, "__private_attributes__", None) or getattr(
        model, "__pydantic_post_init__", None
    ):
        return False
    if _slots(model) - {"__weakref__"} != set(_STATE):
        return False
    values: dict[str, Any] = {name: object() for name in fields}
    probe = model.model_construct(**values)
    try:
        state = {name: _getattr(probe, name) for name in _STATE}
    except AttributeError:
        return False
    return (
        state["__dict__"] == values
        and state["__pydantic_fields_set__"] == set(fields)
        and state["__pydantic_extra__"] is None
        and state["__pydantic_private__"] is None
    )


def _fast(model: type[M], fields: tuple[str, ...]) -> Maker[M]:
    # One fields-set shared by every row: each row sets every field, pydantic only
    # adds a name to it when an attribute is assigned (a field, already in it), and
    # copies (model_copy, pickle) get their own set. Saves a set per row.
    new = model.__new__
    fields_set = set(fields)
    width = len(fields)
    # The slots' own setters: what object.__setattr__ would find, without the lookup
    # (uses_fast_path has checked that these are the slots an instance has).
    set_fields_set, set_extra, set_private = (_slot_setter(model, name) for name in _STATE[1:])

    def make(row: Sequence[Any]) -> M:
        if len(row) != width:
            raise ValueError(f"a row of {len(row)} values for {width} fields of {model.__name__}")
        m = new(model)
        _setattr(m, "__dict__", dict(zip(fields, row, strict=False)))  # width checked above
        set_fields_set(m, fields_set)
        set_extra(m, None)
        set_private(m, None)
        return m

    def bulk(rows: Sequence[Sequence[Any]], out: list[Any]) -> None:
        # make() inlined: a 10,000-row result saves a Python call per row
        append = out.append
        for row in rows:
            if len(row) != width:
                raise ValueError(
                    f"a row of {len(row)} values for {width} fields of {model.__name__}"
                )
            m = new(model)
            _setattr(m, "__dict__", dict(zip(fields, row, strict=False)))
            set_fields_set(m, fields_set)
            set_extra(m, None)
            set_private(m, None)
            append(m)

    _BULK[make] = bulk
    return make


def fetch_all(cur: _Fetches, make: Callable[[Sequence[Any]], T]) -> list[T]:
    """Every remaining row of ``cur``'s result, each made by ``make`` (what ``:many`` returns).

    Read :data:`CHUNK` rows at a time (see the module docstring); a plain model's
    maker builds a whole chunk in one loop.
    """
    out: list[T] = []
    bulk = _BULK.get(make)
    while chunk := cur.fetchmany(CHUNK):
        if bulk is not None:
            bulk(chunk, out)
        else:
            out += map(make, chunk)
    return out


async def afetch_all(cur: _AFetches, make: Callable[[Sequence[Any]], T]) -> list[T]:
    """:func:`fetch_all` for an asyncio cursor (the result is already in memory: the
    awaits do no I/O)."""
    out: list[T] = []
    bulk = _BULK.get(make)
    while chunk := await cur.fetchmany(CHUNK):
        if bulk is not None:
            bulk(chunk, out)
        else:
            out += map(make, chunk)
    return out


def dict_maker(model: type[M]) -> Callable[[dict[str, Any]], M] | None:
    """A function making a ``model`` instance of a dict already validated as its fields
    (the dict becomes the instance's ``__dict__``), or None when ``model`` needs
    ``model_construct``. Used for JSON objects that pydantic validated as a TypedDict
    mirroring ``model`` (see ``jsonshape``): every key present, in field order."""
    fields = tuple(model.model_fields)
    if not uses_fast_path(model, fields):
        return None
    new = model.__new__
    fields_set = set(fields)  # shared, as in _fast
    set_fields_set, set_extra, set_private = (_slot_setter(model, name) for name in _STATE[1:])

    def make(values: dict[str, Any]) -> M:
        m = new(model)
        _setattr(m, "__dict__", values)
        set_fields_set(m, fields_set)
        set_extra(m, None)
        set_private(m, None)
        return m

    return make


def _slot_setter(model: type[BaseModel], name: str) -> Callable[[Any, Any], None]:
    for klass in model.__mro__:
        if name in vars(klass):
            setter: Callable[[Any, Any], None] = vars(klass)[name].__set__
            return setter
    raise AttributeError(name)  # unreachable after uses_fast_path


def _public(model: type[M], fields: tuple[str, ...]) -> Maker[M]:
    construct = model.model_construct

    def make(row: Sequence[Any]) -> M:
        return construct(**dict(zip(fields, row, strict=True)))

    return make


def row_maker(
    model: type[M],
    fields: tuple[str, ...],
    converters: Mapping[int, Callable[[Any], Any]] | None = None,
) -> Maker[M]:
    """A function turning one result tuple into a ``model`` instance, without validation.

    ``fields`` name the model's fields in column order. ``converters`` maps a column
    position to a callable applied to its non-NULL values: a PostgreSQL enum
    arrives as ``str`` and becomes its ``StrEnum``, a composite's text becomes its
    model.
    """
    build = _fast(model, fields) if uses_fast_path(model, fields) else _public(model, fields)
    if not converters:
        return build
    conv = tuple(sorted(converters.items()))

    def make(row: Sequence[Any]) -> M:
        values = list(row)
        for i, fn in conv:
            v = values[i]
            if v is not None:
                values[i] = fn(v)
        return build(values)

    return make


def embed_maker(
    model: type[M],
    fields: tuple[str, ...],
    converters: Mapping[int, Callable[[Any], Any]] | None,
    embeds: Sequence[tuple[int, int, Callable[[Sequence[Any]], Any], bool]],
) -> Maker[M]:
    """Like :func:`row_maker`, nesting ``sqlc.embed`` column blocks as their own models.

    ``embeds`` lists (start, width, maker, nullable) in row order; ``converters``
    index the model's fields. A nullable block whose columns are all NULL (the
    missing side of an outer join) becomes ``None``.
    """
    make = row_maker(model, fields, converters)
    plan = tuple(embeds)

    def build(row: Sequence[Any]) -> M:
        values: list[Any] = []
        pos = 0
        for start, width, sub, nullable in plan:
            values.extend(row[pos:start])
            block = row[start : start + width]
            if nullable and all(v is None for v in block):
                values.append(None)
            else:
                values.append(sub(block))
            pos = start + width
        values.extend(row[pos:])
        return make(values)

    return build
