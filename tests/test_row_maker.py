"""row_maker builds real pydantic models, and rows never share state that can change."""

from __future__ import annotations

import enum
import pickle

import pytest
from pydantic import BaseModel, ConfigDict

from multica_db._runtime import row_maker


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


FIELDS = ("id", "name", "mood")


def test_rows_are_pydantic_models() -> None:
    make = row_maker(Author, FIELDS, {2: Mood})
    a = make((1, "ann", "sad"))
    assert isinstance(a, Author) and isinstance(a, BaseModel)
    assert a.mood is Mood.SAD
    assert a.model_dump() == {"id": 1, "name": "ann", "mood": Mood.SAD}
    assert a.model_fields_set == set(FIELDS)
    assert make((2, "bob", None)).mood is None
    assert a == Author(id=1, name="ann", mood=Mood.SAD)


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


def test_models_allowing_extra_fields_get_their_own_fields_set() -> None:
    make = row_maker(Loose, ("id", "name"))
    a, b = make((1, "ann")), make((2, "bob"))
    a.nickname = "annie"  # an extra attribute enters a's fields_set only
    assert "nickname" in a.model_fields_set
    assert b.model_fields_set == {"id", "name"}
    assert b.model_dump() == {"id": 2, "name": "bob"}


def test_make_rows_builds_every_row_and_leaves_the_collector_as_it_was() -> None:
    import gc

    from multica_db._runtime import make_rows

    make = row_maker(Author, FIELDS)
    rows = [(i, f"a{i}", None) for i in range(2500)]
    assert gc.isenabled()
    built = make_rows(make, rows)
    assert [a.id for a in built] == list(range(2500)) and gc.isenabled()
    assert make_rows(make, rows[:3])[2].name == "a2"
    gc.disable()
    try:
        assert len(make_rows(make, rows)) == 2500
        assert not gc.isenabled()  # an application's choice is kept
    finally:
        gc.enable()
    boom = iter([None])

    def failing(row: tuple[int, str, None]) -> Author:
        if row[0] == 1500:
            raise ValueError(next(boom))
        return make(row)

    with pytest.raises(ValueError):
        make_rows(failing, rows)
    assert gc.isenabled()
