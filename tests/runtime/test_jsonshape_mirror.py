"""The TypedDict mirror ``jsonshape.decoder`` validates plain models through gives
exactly what validating the model itself gives: the same values, the same refusals.

Only pydantic and the runtime are imported, as in ``test_rows.py``.
"""

from __future__ import annotations

import datetime
import json
import uuid
from typing import Annotated, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import (
    BaseModel,
    BeforeValidator,
    Field,
    TypeAdapter,
    ValidationError,
    field_validator,
)

from multica_db.runtime.jsonshape import JsonShapeError, _mirrored, decoder


class Post(BaseModel):
    id: int
    title: str
    published: bool
    score: float | None
    created_at: datetime.datetime
    day: datetime.date
    ref: uuid.UUID | None
    tags: list[str] | None
    note: Annotated[str, BeforeValidator(lambda v: v.upper() if isinstance(v, str) else v)]


class Aliased(BaseModel):
    class_: int = Field(alias="class")


class Defaulted(BaseModel):
    id: int
    title: str = "untitled"


class Checked(BaseModel):
    id: int

    @field_validator("id")
    @classmethod
    def positive(cls, v: int) -> int:
        if v <= 0:
            raise ValueError("not positive")
        return v


class Outer(BaseModel):
    id: int
    post: Post


def test_plain_models_take_the_mirror() -> None:
    for shape in (list[Post], list[Post | None], Post, dict[str, Post], dict[str, Post | None]):
        assert _mirrored(shape) is not None
    for shape in (list[Aliased], list[Defaulted], list[Checked], list[Outer], Post | None):
        assert _mirrored(shape) is None
    for shape in (dict[str, Checked], dict[int, Post], list[int], dict[str, int]):
        assert _mirrored(shape) is None


def _value() -> st.SearchStrategy[Any]:
    """Right and wrong JSON values for any of Post's fields."""
    return st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(2**40), 2**40),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=8),
        st.sampled_from(
            [
                "2026-12-07T04:50:31.038978+00:00",
                "2026-12-07",
                "not a date",
                "6fa459ea-ee8a-3ca4-894e-db77e160355e",
                "1",
                "true",
            ]
        ),
        st.lists(st.text(max_size=3), max_size=3),
    )


_good = {
    "id": 1,
    "title": "t",
    "published": True,
    "score": 1.5,
    "created_at": "2026-12-07T04:50:31.038978+00:00",
    "day": "2026-12-07",
    "ref": None,
    "tags": ["a"],
    "note": "x",
}
_objects = st.fixed_dictionaries(
    {}, optional={name: st.one_of(st.just(v), _value()) for name, v in _good.items()}
).map(lambda d: {**d, **({"extra": 1} if len(d) % 2 else {})})


def _reference(shape: Any, raw: bytes) -> Any:
    try:
        return TypeAdapter(shape).validate_json(raw)
    except ValidationError:
        return JsonShapeError


def _ours(shape: Any, raw: bytes) -> Any:
    try:
        return decoder(TypeAdapter(shape), "posts", shape=shape)(raw)
    except JsonShapeError:
        return JsonShapeError


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.none(), _objects), max_size=4))
def test_mirror_decodes_as_the_model(objects: list[dict[str, Any] | None]) -> None:
    raw = json.dumps(objects).encode()
    for shape in (list[Post], list[Post | None]):
        got, want = _ours(shape, raw), _reference(shape, raw)
        assert got == want
        if isinstance(got, list):
            for a, b in zip(got, want, strict=True):
                assert a is None or (
                    a.model_fields_set == b.model_fields_set and a.model_dump() == b.model_dump()
                )
    for obj in objects:
        one = json.dumps(obj).encode()
        assert _ours(Post, one) == _reference(Post, one)
    keyed = json.dumps({str(i): obj for i, obj in enumerate(objects)}).encode()
    for shape in (dict[str, Post], dict[str, Post | None]):  # json_object_agg's
        got, want = _ours(shape, keyed), _reference(shape, keyed)
        assert got == want
        if isinstance(got, dict):
            assert list(got) == list(want)
            for a, b in zip(got.values(), want.values(), strict=True):
                assert a is None or (
                    a.model_fields_set == b.model_fields_set and a.model_dump() == b.model_dump()
                )


def test_mirror_instances_behave_as_validated_ones() -> None:
    raw = json.dumps([_good]).encode()
    (post,) = decoder(TypeAdapter(list[Post]), "posts", shape=list[Post])(raw)
    assert type(post) is Post
    assert post.note == "X"
    assert list(post.model_dump()) == list(Post.model_fields)
    assert post == Post.model_validate_json(json.dumps(_good))
    post2 = post.model_copy(update={"id": 2})
    assert post2.id == 2 and post.id == 1
    with pytest.raises(JsonShapeError, match="'posts'"):
        decoder(TypeAdapter(list[Post]), "posts", shape=list[Post])(b'[{"id": "x"}]')
