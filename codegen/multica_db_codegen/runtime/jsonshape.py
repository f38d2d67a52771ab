"""JSON a statement builds (``json_agg(p)``, ``to_jsonb(t)``, ``json_build_object(…)``),
decoded into the same Python types a flat row has.

JSON loses types: timestamps and bytea become strings, numerics become JSON numbers
that ``json.loads`` would turn into floats. So the query's cursor hands over the JSON
text untouched (:func:`raw_json_loaders`), it is parsed with numbers as ``Decimal``
when the shape holds a numeric (exact digits, trailing zeros kept, as psycopg loads a
numeric column), and pydantic validates the result into the generated models:

- types pydantic reads from their JSON form exactly (int, str, bool, uuid, date,
  timestamps, enums…) need nothing;
- types whose JSON is PostgreSQL's text form (bytea, interval, timetz, ranges) are
  loaded by psycopg's own text loader (:func:`text_form`);
- numerics (:func:`numeric`) and plain json inside (:func:`plain_json`, floats back
  as floats) are converted once.

A value that does not fit raises :class:`JsonShapeError` naming the column.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable
from decimal import Decimal
from functools import partial
from typing import Annotated, Any, TypeVar, get_args, get_origin

import psycopg
from psycopg.adapt import Loader
from psycopg.pq import Format
from pydantic import BaseModel, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from .rows import dict_maker

__all__ = [
    "JsonShapeError",
    "converted",
    "decoder",
    "loads",
    "model_dumper",
    "model_loader",
    "numeric",
    "plain_json",
    "raw_json_loaders",
    "text_form",
]

T = TypeVar("T")

#: json, jsonb
JSON_OIDS = (114, 3802)
_INTERVAL = 1186


class JsonShapeError(ValueError):
    """A JSON value without the shape the generated code was built for."""


def loads(raw: bytes | str) -> Any:
    """A plain json column of a query whose cursor hands JSON over as text."""
    return json.loads(raw)


class _RawJsonLoader(Loader):
    """json/jsonb as their text, for the decoder to parse (psycopg would ``json.loads``)."""

    def load(self, data: Any) -> bytes:
        return bytes(data)


def raw_json_loaders(adapters: psycopg.adapt.AdaptersMap) -> None:
    """Make ``adapters`` (a cursor's) load json and jsonb results as their text."""
    for oid in JSON_OIDS:
        adapters.register_loader(oid, _RawJsonLoader)


def _int(text: str) -> int | float:
    """A JSON integer; ``-0`` is a float's negative zero (PostgreSQL writes -0.0 so)."""
    return -0.0 if text == "-0" else int(text)


def decoder(
    adapter: TypeAdapter[T],
    column: str,
    *,
    shape: object = None,
    exact: bool = False,
    floats: bool = False,
) -> Callable[[Any], T]:
    """Parse a JSON column's text and validate it as ``adapter``'s type.

    ``shape``: the type ``adapter`` was made for, given when it holds models (pydantic
    does not say which type an adapter validates), so plain ones can take the fast path.
    ``exact``: numbers are parsed as ``Decimal`` (the shape holds a numeric).
    ``floats``: the shape holds a float, whose ``-0`` must keep its sign.
    """
    if not (exact or floats):
        # nothing JSON's numbers would lose: pydantic parses the text itself (faster)
        validate_json = _mirrored(shape) or adapter.validate_json

        def decode_json(raw: bytes | str) -> T:
            try:
                return validate_json(raw)
            except ValidationError as exc:
                raise JsonShapeError(f"column {column!r}: {exc}") from None

        return decode_json
    options: dict[str, Any] = {}
    if exact:
        options["parse_float"] = Decimal
    if floats:
        options["parse_int"] = _int
    parse: Callable[[Any], Any] = partial(json.loads, **options)
    validate = adapter.validate_python

    def decode(raw: bytes | str) -> T:
        try:
            return validate(parse(raw))
        except ValidationError as exc:
            raise JsonShapeError(f"column {column!r}: {exc}") from None

    return decode


# Validating JSON objects into a model costs pydantic about twice what validating them
# into a TypedDict of the same fields does (on 10,000 seven-field posts: ~24 ms against
# ~9 ms, the rest being the instances). So a shape that is a plain model, or a list of
# one, is validated as a TypedDict mirroring the model — the same field types, hence the
# same conversions and the same errors — and each dict then becomes an instance the way
# ``rows`` builds flat rows. Models with anything a TypedDict would not reproduce
# (aliases, defaults, validators, configuration, nested models) keep the model's own
# validation.

_SAFE_CONFIG = frozenset({"title", "protected_namespaces"})
_DECORATORS = ("validators", "field_validators", "root_validators", "model_validators")


def _holds_model(annotation: Any) -> bool:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return True
    return any(_holds_model(arg) for arg in get_args(annotation))


def _mirror(model: type[BaseModel]) -> Any:
    """A TypedDict validating the JSON form of ``model`` as the model would, or None."""
    if not getattr(model, "__pydantic_complete__", False):
        return None
    if set(model.model_config) - _SAFE_CONFIG:
        return None
    decorators = getattr(model, "__pydantic_decorators__", None)
    if decorators is None or any(getattr(decorators, n, None) for n in _DECORATORS):
        return None
    fields: dict[str, Any] = {}
    for name, info in model.model_fields.items():
        if not info.is_required() or info.alias is not None or info.validation_alias is not None:
            return None
        if _holds_model(info.annotation):
            return None
        annotation: Any = info.annotation
        if info.metadata:
            annotation = Annotated[(annotation, *info.metadata)]
        fields[name] = annotation
    return TypedDict(model.__name__, fields)  # type: ignore[operator]


def _optional_of(annotation: Any) -> Any:
    """``X`` of ``X | None`` (either spelling), else None."""
    if get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in get_args(annotation) if a is not type(None)]
        if len(args) == 1 and len(get_args(annotation)) == 2:
            return args[0]
    return None


def _mirrored(shape: object) -> Callable[[Any], Any] | None:
    """``TypeAdapter(shape).validate_json`` through a TypedDict mirror, for ``M``,
    ``list[M]``, ``list[M | None]``, ``dict[str, M]`` and ``dict[str, M | None]`` of a
    plain model ``M``; None for any other shape."""
    args = get_args(shape)
    as_list = get_origin(shape) is list and len(args) == 1
    as_dict = get_origin(shape) is dict and len(args) == 2 and args[0] is str
    item = args[0] if as_list else args[1] if as_dict else shape
    nullable = _optional_of(item)
    model = nullable if nullable is not None else item
    if not (isinstance(model, type) and issubclass(model, BaseModel)):
        return None
    mirror, make = _mirror(model), dict_maker(model)
    if mirror is None or make is None:
        return None
    if as_dict:
        value = mirror if nullable is None else mirror | None
        validate_dict = TypeAdapter(dict[str, value]).validate_json  # type: ignore[valid-type]
        if nullable is None:
            return lambda raw: {k: make(d) for k, d in validate_dict(raw).items()}
        return lambda raw: {
            k: None if d is None else make(d) for k, d in validate_dict(raw).items()
        }
    if as_list:
        element = mirror if nullable is None else mirror | None
        validate_list = TypeAdapter(list[element]).validate_json  # type: ignore[valid-type]
        if nullable is None:
            return lambda raw: [make(d) for d in validate_list(raw)]
        return lambda raw: [None if d is None else make(d) for d in validate_list(raw)]
    if item is not model:  # a single M | None: keep the model's own validation
        return None
    validate_one = TypeAdapter(mirror).validate_json
    return lambda raw: make(validate_one(raw))


def text_form(oid: int) -> Callable[[Any], Any]:
    """A validator step: a string holding PostgreSQL's text form of a built-in type
    (``"\\\\x0102"``, ``"1 day 02:00:00"``, ``"[1,5)"``) becomes psycopg's value for it."""
    cls = psycopg.adapters.get_loader(oid, Format.TEXT)
    load = cls(oid, None).load if cls is not None else None
    # an interval in ISO 8601 (IntervalStyle iso_8601, or pydantic's own JSON of a model:
    # "P1DT2H") is pydantic's to read: psycopg's loader reads only PostgreSQL's style,
    # and would take "P1DT2H" for a minute
    iso = ("P", "-P") if oid == _INTERVAL else ()

    def convert(value: Any) -> Any:
        if isinstance(value, str) and load is not None and not (iso and value.startswith(iso)):
            return load(value.encode())
        return value

    return convert


def converted(adapter: TypeAdapter[Any], convert: Callable[[Any], T]) -> Callable[[Any], T]:
    """A validator step for a value an override types as the user's type: read as its
    own type from JSON (``adapter``), then converted as the flat column's loader does
    (``float(Decimal)``, ``DeviceInfo(str)``)."""
    validate = adapter.validate_python

    def convert_value(value: Any) -> T:
        return convert(validate(value))

    return convert_value


def numeric(value: Any) -> Decimal:
    """A numeric from JSON: a number (parsed as ``Decimal``), or ``"NaN"``/``"Infinity"``."""
    if isinstance(value, Decimal):
        return value
    if isinstance(value, int | str) and not isinstance(value, bool):
        try:
            return Decimal(value)
        except ArithmeticError:  # decimal's InvalidOperation: pydantic reports ValueErrors
            raise ValueError(f"not a numeric: {value!r}") from None
    if isinstance(value, float):
        return Decimal(repr(value))
    raise ValueError(f"not a numeric: {value!r}")


def plain_json(value: Any) -> Any:
    """json/jsonb inside a shape: numbers parsed as ``Decimal`` become floats again, as
    a plain json column gives them."""
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, list):
        return [plain_json(v) for v in value]
    if isinstance(value, dict):
        return {k: plain_json(v) for k, v in value.items()}
    return value


def model_loader(adapter: TypeAdapter[T], column: str) -> Callable[[Any], T]:
    """A json/jsonb column typed as a user's model: the value psycopg loaded (or, on a
    cursor handing JSON over as text, the text) validated as ``adapter``'s type."""
    validate = adapter.validate_python
    validate_json = adapter.validate_json

    def load(value: Any) -> T:
        try:
            if isinstance(value, bytes):  # a raw-json cursor's text
                return validate_json(value)
            return validate(value)
        except ValidationError as exc:
            raise JsonShapeError(f"column {column!r}: {exc}") from None

    return load


def model_dumper(adapter: TypeAdapter[T], wrapper: Callable[[Any], Any]) -> Callable[[T], Any]:
    """A user's model sent as json/jsonb: its JSON form, wrapped for psycopg."""
    dump = adapter.dump_python

    def dumper(value: T) -> Any:
        return wrapper(dump(value, mode="json"))

    return dumper
