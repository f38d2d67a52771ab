"""Row building makes real pydantic models that behave exactly like validated ones.

These tests import nothing but pydantic and the runtime's ``rows`` module, so
``test_pydantic_versions.py`` can run them again under the oldest and the newest
pydantic the package allows.
"""

from __future__ import annotations

import asyncio
import enum
import pickle
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict, PrivateAttr

from multica_db.runtime.rows import (
    CHUNK,
    afetch_all,
    embed_maker,
    fetch_all,
    row_maker,
    uses_fast_path,
)


class Mood(enum.StrEnum):
    HAPPY = "happy"
    SAD = "sad"


class Author(BaseModel):
    id: int
    name: str
    mood: Mood | None


class Loose(BaseModel):
    model_config = ConfigDict(extra="allow")

    id: int
    name: str


class WithPrivate(BaseModel):
    id: int
    _seen: int = PrivateAttr(default=7)


class WithPostInit(BaseModel):
    id: int
    name: str

    def model_post_init(self, context: Any, /) -> None:
        object.__setattr__(self, "name", self.name.upper())


class Book(BaseModel):
    id: int
    title: str
    author: Author | None


FIELDS = ("id", "name", "mood")


def _validated(model: type[BaseModel], fields: tuple[str, ...], row: tuple[Any, ...]) -> Any:
    return model.model_validate(dict(zip(fields, row, strict=True)))


def test_plain_models_take_the_fast_path_on_this_pydantic() -> None:
    # If this fails, the installed pydantic lays out models differently: rows still
    # come out right (through model_construct), but :many got several times slower.
    assert uses_fast_path(Author, FIELDS)
    assert uses_fast_path(Book, ("id", "title", "author"))


def test_unusual_models_go_through_model_construct() -> None:
    assert not uses_fast_path(Loose, ("id", "name"))
    assert not uses_fast_path(WithPrivate, ("id",))
    assert not uses_fast_path(WithPostInit, ("id", "name"))
    assert not uses_fast_path(Author, ("id", "name"))  # a field missing from the row


@pytest.mark.parametrize(
    ("model", "fields", "row"),
    [
        (Author, FIELDS, (1, "ann", Mood.SAD)),
        (Author, FIELDS, (2, "bob", None)),
        (Loose, ("id", "name"), (3, "cy")),
        (WithPrivate, ("id",), (4,)),
    ],
)
def test_a_row_equals_the_validated_model(
    model: type[BaseModel], fields: tuple[str, ...], row: tuple[Any, ...]
) -> None:
    made = row_maker(model, fields)(row)
    expected = _validated(model, fields, row)
    assert type(made) is model
    assert made == expected
    assert made.model_dump() == expected.model_dump()
    assert made.model_dump_json() == expected.model_dump_json()
    assert made.model_fields_set == expected.model_fields_set == set(fields)
    assert repr(made) == repr(expected)
    assert pickle.loads(pickle.dumps(made)) == expected
    assert made.model_copy() == expected


def test_private_attributes_get_their_defaults() -> None:
    made = row_maker(WithPrivate, ("id",))((1,))
    assert made._seen == 7


def test_converters_apply_to_non_null_values() -> None:
    make = row_maker(Author, FIELDS, {2: Mood})
    a = make((1, "ann", "sad"))
    assert a.mood is Mood.SAD
    assert make((2, "bob", None)).mood is None


def test_rows_are_independent() -> None:
    make = row_maker(Author, FIELDS)
    a, b = make((1, "ann", None)), make((2, "bob", None))
    a.name = "anna"
    assert (a.name, b.name) == ("anna", "bob")
    assert b.model_fields_set == set(FIELDS) == a.model_fields_set
    c = a.model_copy(update={"name": "cat"})
    assert (c.name, a.name) == ("cat", "anna")
    d = pickle.loads(pickle.dumps(b))
    assert d == b and d.model_fields_set == set(FIELDS)


def test_models_allowing_extra_fields_behave_as_validated_ones() -> None:
    make = row_maker(Loose, ("id", "name"))
    a, b = make((1, "ann")), make((2, "bob"))
    expected = Loose(id=1, name="ann")
    a.nickname = "annie"
    expected.nickname = "annie"
    assert a.model_fields_set == expected.model_fields_set  # as this pydantic does it
    assert a.model_dump() == expected.model_dump() == {"id": 1, "name": "ann", "nickname": "annie"}
    assert b.model_fields_set == {"id", "name"}  # rows never share what one of them changes
    assert b.model_dump() == {"id": 2, "name": "bob"}


def test_a_row_of_the_wrong_width_is_an_error() -> None:
    with pytest.raises(ValueError):
        row_maker(Author, FIELDS)((1, "ann"))


def test_embedded_blocks_nest_and_a_missing_outer_join_side_is_none() -> None:
    author = row_maker(Author, FIELDS)
    make = embed_maker(Book, ("id", "title", "author"), None, [(2, 3, author, True)])
    book = make((1, "Dune", 9, "frank", None))
    assert book == Book(id=1, title="Dune", author=Author(id=9, name="frank", mood=None))
    assert make((2, "Anon", None, None, None)).author is None


class _Result:
    """What ``fetch_all`` reads: a result's remaining rows, ``fetchmany(n)`` at a time
    (the psycopg cursor's contract: an empty list once every row was read)."""

    def __init__(self, rows: list[tuple[Any, ...]]) -> None:
        self.rows = rows
        self.pos = 0
        self.sizes: list[int] = []

    def fetchmany(self, size: int = 0) -> list[Any]:
        self.sizes.append(size)
        chunk = self.rows[self.pos : self.pos + size]
        self.pos += len(chunk)
        return chunk


class _AsyncResult(_Result):
    async def fetchmany(self, size: int = 0) -> list[Any]:  # type: ignore[override]
        return _Result.fetchmany(self, size)


@pytest.mark.parametrize("n", [0, 1, CHUNK - 1, CHUNK, CHUNK + 1, 3 * CHUNK + 5])
@pytest.mark.parametrize(
    "make",
    [
        row_maker(Author, FIELDS),  # one loop per chunk
        row_maker(Author, FIELDS, {2: Mood}),  # a call per row
        row_maker(Loose, ("id", "name", "mood")),  # model_construct
    ],
    ids=["fast", "converters", "public"],
)
def test_fetch_all_reads_every_row_in_order_in_chunks(make: Any, n: int) -> None:
    rows = [(i, f"n{i}", None if i % 3 else "sad") for i in range(n)]
    expected = [make(r) for r in rows]
    sync = _Result(rows)
    assert fetch_all(sync, make) == expected
    assert sync.pos == n and set(sync.sizes) == {CHUNK}
    assert len(sync.sizes) == -(-n // CHUNK) + 1  # the last one found it exhausted
    aio = _AsyncResult(rows)
    assert asyncio.run(afetch_all(aio, make)) == expected


def test_fetch_all_rows_are_independent_models() -> None:
    made = fetch_all(_Result([(1, "ann", None), (2, "bob", None)]), row_maker(Author, FIELDS))
    assert [type(m) for m in made] == [Author, Author]
    made[0].name = "anna"
    assert made[1].name == "bob" and made[1].model_fields_set == set(FIELDS)
    assert made == [Author(id=1, name="anna", mood=None), Author(id=2, name="bob", mood=None)]


def test_fetch_all_refuses_a_row_of_the_wrong_width() -> None:
    with pytest.raises(ValueError, match="a row of 2 values for 3 fields of Author"):
        fetch_all(_Result([(1, "ann", None), (2, "bob")]), row_maker(Author, FIELDS))
