"""PostgreSQL's text forms of the types psycopg cannot load or dump on its own.

psycopg loads and dumps every built-in type itself — by OID, which is the same in
every database. A type that only exists in the user's database has an OID that
differs from one database to the next: a composite, an enum's array, a range over
a user type (and its multirange), ``hstore`` (an extension). psycopg handles those
only after ``CompositeInfo.fetch(conn, …)`` / ``register_*()`` on each connection —
a round trip per type and connection, and a step every pool's ``configure`` would
have to repeat. Without it, such a value arrives as its text form.

So generated code never registers anything: it sends these values as text (the
statement casts them, PostgreSQL's input function parses them) and decodes what
comes back from text, with decoders the generator derived from the schema. Enums
themselves need nothing here (a ``StrEnum`` is a ``str``, and a label arrives as
``str``); built-in ranges and arrays psycopg handles natively.

Each encoder exists once: ``*_encoder`` builds an encoder from what the generator
knows about the type, ``*_literal`` is the same encoder for a value whose type is
only known at run time (nested inside a JSON-free literal).
"""

from __future__ import annotations

import datetime
import enum
import json
from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

import psycopg
from psycopg.pq import Format
from psycopg.types.multirange import Multirange
from psycopg.types.range import Range
from pydantic import BaseModel

from .rows import row_maker

__all__ = [
    "Decoder",
    "Encoder",
    "array_decoder",
    "array_encoder",
    "array_literal",
    "composite_decoder",
    "composite_encoder",
    "composite_literal",
    "hstore_literal",
    "json_text",
    "multirange_decoder",
    "multirange_literal",
    "number_array",
    "parse_array",
    "parse_hstore",
    "parse_record",
    "pg_text",
    "range_decoder",
    "range_literal",
    "text_loader",
    "then",
]

M = TypeVar("M", bound=BaseModel)

Decoder = Callable[[str], Any]


def _identity(text: str) -> Any:
    return text


def text_loader(oid: int) -> Decoder:
    """A decoder for one field of a built-in type (stable OID) given as text."""
    cls = psycopg.adapters.get_loader(oid, Format.TEXT)
    if cls is None:
        return _identity
    load = cls(oid, None).load

    def decode(text: str) -> Any:
        return load(text.encode())

    return decode


def then(first: Decoder, convert: Callable[[Any], Any]) -> Decoder:
    """``first``, then ``convert`` (an override's type) on what it gave: a field of a
    composite converted as a flat column of its type is."""

    def decode(text: str) -> Any:
        return convert(first(text))

    return decode


def _scan_quoted(text: str, i: int, *, doubled: bool) -> tuple[str, int]:
    """Read a double-quoted token starting at ``text[i] == '"'``; return (value, next index)."""
    out: list[str] = []
    i += 1
    n = len(text)
    while i < n:
        ch = text[i]
        if ch == "\\":
            out.append(text[i + 1])
            i += 2
        elif ch == '"':
            if doubled and i + 1 < n and text[i + 1] == '"':
                out.append('"')
                i += 2
            else:
                return "".join(out), i + 1
        else:
            out.append(ch)
            i += 1
    raise ValueError(f"unterminated quoted value in {text!r}")


#: What PostgreSQL's array input skips around elements (Python's str.strip skips more).
_PG_SPACE = " \t\n\r\v\f"


def parse_array(text: str, element: Decoder | None = None, delimiter: str = ",") -> list[Any]:
    """``{a,"b c",NULL,{1,2}}`` → ``['a', 'b c', None, ['1', '2']]`` (elements decoded).

    ``delimiter``: what separates the elements, the element type's ``pg_type.typdelim``
    (',' for nearly every type; ``box`` writes ``{(1,1),(0,0);(3,3),(2,2)}``, PostGIS's
    geometry ':'). An unquoted element runs to the next delimiter or ``}``: it may hold
    a ',' when the delimiter is something else.
    """
    if text.startswith("["):  # explicit bounds: [0:1]={...}
        text = text[text.index("=") + 1 :]
    decode = element or _identity
    stack: list[list[Any]] = []
    result: list[Any] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            new: list[Any] = []
            if stack:
                stack[-1].append(new)
            else:
                result = new
            stack.append(new)
            i += 1
        elif ch == "}":
            stack.pop()
            i += 1
        elif ch == delimiter or ch in _PG_SPACE:
            i += 1
        elif ch == '"':
            value, i = _scan_quoted(text, i, doubled=False)
            stack[-1].append(decode(value))
        else:
            value, escaped, i = _scan_unquoted(text, i, delimiter)
            null = not escaped and value.upper() == "NULL"
            stack[-1].append(None if null else decode(value))
    return result


def _scan_unquoted(text: str, i: int, delimiter: str) -> tuple[str, bool, int]:
    """An unquoted array element from ``text[i]`` to the delimiter or ``}``: (value, whether
    a backslash escaped part of it — ``\\NULL`` is a string —, next index). Spaces around it
    are not part of it; escaped ones are."""
    out: list[str] = []
    keep = 0  # length of out up to its last escaped character (never stripped)
    escaped = False
    n = len(text)
    while i < n and text[i] != delimiter and text[i] != "}":
        if text[i] == "\\" and i + 1 < n:
            out.append(text[i + 1])
            keep, escaped = len(out), True
            i += 2
        else:
            out.append(text[i])
            i += 1
    value = "".join(out)
    head = "".join(out[:keep])
    return head + value[keep:].rstrip(_PG_SPACE), escaped, i


def parse_record(text: str) -> list[str | None]:
    """``(a,,"b, c")`` → ``['a', None, 'b, c']``: a composite's fields, still as text."""
    fields: list[str | None] = []
    i, n = 1, len(text) - 1  # inside the parentheses
    if n < 1:
        return fields
    while True:
        if i < n and text[i] == '"':
            value, i = _scan_quoted(text, i, doubled=True)
            # a quoted field may continue unquoted (rare, but legal)
            j = i
            while j < n and text[j] != ",":
                j += 1
            fields.append(value + text[i:j])
            i = j
        else:
            j = i
            while j < n and text[j] != ",":
                j += 1
            fields.append(text[i:j] if j > i else None)
            i = j
        if i >= n:
            return fields
        i += 1  # the comma


def parse_hstore(text: str) -> dict[str, str | None]:
    """``"a"=>"1", "b"=>NULL`` → ``{'a': '1', 'b': None}``."""
    out: dict[str, str | None] = {}
    i, n = 0, len(text)
    while i < n:
        if text[i] != '"':
            i += 1
            continue
        key, i = _scan_quoted(text, i, doubled=False)
        i = text.index("=>", i) + 2
        while text[i] == " ":
            i += 1
        if text[i] == '"':
            value: str | None
            value, i = _scan_quoted(text, i, doubled=False)
        else:
            value = None
            i += 4  # NULL
        out[key] = value
    return out


def array_decoder(
    element: Decoder | None = None, *, delimiter: str = ","
) -> Callable[[Any], list[Any]]:
    """Decode an array of a user-defined type (text), or convert a list psycopg already built.

    ``delimiter``: the element type's ``pg_type.typdelim`` (see :func:`parse_array`).
    """

    def decode(value: Any) -> list[Any]:
        if isinstance(value, str):
            return parse_array(value, element, delimiter)
        if element is None:
            return list(value)
        return [convert(v) for v in value]

    def convert(v: Any) -> Any:
        if v is None:
            return None
        if isinstance(v, list):  # a sub-array of a multidimensional array
            return [convert(x) for x in v]
        return element(v) if element is not None else v

    return decode


def composite_decoder(
    model: type[M],
    fields: tuple[str, ...],
    converters: Mapping[int, Decoder] | None = None,
) -> Callable[[Any], M]:
    """Decode a composite value given as text (or a tuple) into ``model``, no re-validation."""
    make = row_maker(model, fields, converters)

    def decode(value: Any) -> M:
        return make(parse_record(value) if isinstance(value, str) else value)

    return decode


def _parse_range(text: str, element: Decoder | None) -> Range[Any]:
    if text == "empty":
        return Range(empty=True)
    decode = element or _identity
    bounds = text[0]
    i = 1
    values: list[Any] = []
    for stop in (",", text[-1]):
        if text[i] == '"':
            value, i = _scan_quoted(text, i, doubled=True)
            values.append(decode(value))
        else:
            j = text.index(stop, i) if stop == "," else len(text) - 1
            token = text[i:j]
            values.append(decode(token) if token else None)
            i = j
        i += 1  # the comma, then past the end
    return Range(values[0], values[1], bounds + text[-1])


def range_decoder(element: Decoder | None = None) -> Callable[[Any], Range[Any]]:
    """Decode a range of a user-defined range type (its text form) into a psycopg Range."""

    def decode(value: Any) -> Range[Any]:
        return value if isinstance(value, Range) else _parse_range(value, element)

    return decode


def multirange_decoder(element: Decoder | None = None) -> Callable[[Any], Multirange[Any]]:
    """Decode ``{[1,2),[5,7)}`` of a user-defined multirange type into a psycopg Multirange."""

    def decode(value: Any) -> Multirange[Any]:
        if isinstance(value, Multirange):
            return value
        out: list[Range[Any]] = []
        i, n = 1, len(value) - 1
        while i < n:
            if value[i] in "[(":
                j, quoted = i + 1, False
                while quoted or value[j] not in "])":
                    if value[j] == '"':
                        quoted = not quoted
                    elif value[j] == "\\":
                        j += 1
                    j += 1
                out.append(_parse_range(value[i : j + 1], element))
                i = j + 1
            elif value[i : i + 5] == "empty":
                i += 5
            else:
                i += 1
        return Multirange(out)

    return decode


def range_literal(value: Range[Any]) -> str:
    """A Range → ``[1.5,2)``: sent as text, PostgreSQL casts it to the range type."""
    if value.isempty:
        return "empty"
    lower = "" if value.lower is None else _quote(pg_text(value.lower), doubled=True)
    upper = "" if value.upper is None else _quote(pg_text(value.upper), doubled=True)
    return f"{value.bounds[0]}{lower},{upper}{value.bounds[1]}"


def multirange_literal(value: Iterable[Range[Any]]) -> str:
    """A Multirange → ``{[1,2),[5,7)}``."""
    return "{" + ",".join(range_literal(r) for r in value) + "}"


def _quote(text: str, *, doubled: bool) -> str:
    escaped = text.replace("\\", "\\\\")
    escaped = escaped.replace('"', '""') if doubled else escaped.replace('"', '\\"')
    return f'"{escaped}"'


def pg_text(value: Any) -> str:
    """The text form PostgreSQL's input functions accept for a value nested in a literal."""
    if isinstance(value, str):
        return value.value if isinstance(value, enum.Enum) else value
    if isinstance(value, bool):
        return "t" if value else "f"
    if isinstance(value, enum.Enum):
        return str(value.value)
    if isinstance(value, BaseModel):
        return composite_literal(value)
    if isinstance(value, list | tuple):
        return array_literal(value)
    if isinstance(value, bytes | bytearray | memoryview):
        return "\\x" + bytes(value).hex()
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return f"{value.days} days {value.seconds} seconds {value.microseconds} microseconds"
    if isinstance(value, dict):
        return json.dumps(value)
    return str(value)


Encoder = Callable[[Any], str]


def json_text(value: Any) -> str:
    """A JSON value nested in a composite or an array: its JSON text."""
    return json.dumps(value)


def array_encoder(
    element: Encoder | None = None, dims: int = 1, *, delimiter: str = ","
) -> Callable[[Iterable[Any]], str]:
    """The array literal of values whose text form ``element`` gives (default :func:`pg_text`).

    ``dims``: the array's dimensions; lists nested that deep are sub-arrays (unquoted),
    deeper ones are values (a JSON array inside a ``jsonb[]``). ``delimiter``: what
    PostgreSQL's array input expects between elements, the element type's
    ``pg_type.typdelim`` (';' for ``box``): every element is quoted, so only the
    separator depends on it.
    """
    text = element or pg_text

    def encode_level(values: Iterable[Any], depth: int) -> str:
        parts = []
        for v in values:
            if v is None:
                parts.append("NULL")
            elif depth < dims and isinstance(v, list | tuple):
                parts.append(encode_level(v, depth + 1))
            else:
                parts.append(_quote(text(v), doubled=False))
        return "{" + delimiter.join(parts) + "}"

    def encode(values: Iterable[Any]) -> str:
        return encode_level(values, 1)

    return encode


def number_array(dims: int = 1) -> Callable[[Iterable[Any]], str]:
    """The array literal of ints or floats, sent as text for the server to type.

    psycopg types a list of ints by its values (``[1, 2]`` is a ``smallint[]``), which
    PostgreSQL then refuses to compare with an ``integer[]`` or ``bigint[]`` column
    (``integer[] = smallint[]``: no such operator); the literal takes the type the
    statement gives the parameter. A number's ``str`` is its input form (``inf``,
    ``-0.0`` and ``1e+300`` included), so nothing is quoted. ``dims``: the declared
    dimensions; a list nested deeper (a column declared ``int[]`` holds any, as
    PostgreSQL does not enforce them) is a sub-array too: no number is a list."""

    def encode_level(values: Iterable[Any], depth: int) -> str:
        if depth < dims:
            return (
                "{"
                + ",".join("NULL" if v is None else encode_level(v, depth + 1) for v in values)
                + "}"
            )
        values = values if isinstance(values, list | tuple) else list(values)
        plain = ",".join(map(str, values))
        if not any(c in plain for c in "N[("):  # only numbers (no None, no nested list)
            return "{" + plain + "}"
        return (
            "{"
            + ",".join(
                "NULL"
                if v is None
                else encode_level(v, depth + 1)
                if isinstance(v, list | tuple)
                else str(v)
                for v in values
            )
            + "}"
        )

    def encode(values: Iterable[Any]) -> str:
        return encode_level(values, 1)

    return encode


#: ``['a', None]`` → ``{"a",NULL}``: elements by their run-time types (:func:`pg_text`).
array_literal = array_encoder()


def composite_encoder(
    fields: tuple[str, ...], encoders: Mapping[int, Encoder] | None = None
) -> Callable[[BaseModel], str]:
    """The record literal of a model, each field by its type's text form (typed: a JSON
    field's ``True`` is ``true``, not the boolean ``t``)."""
    plan = tuple((name, (encoders or {}).get(i, pg_text)) for i, name in enumerate(fields))

    def encode(value: BaseModel) -> str:
        parts = []
        for name, text in plan:
            v = getattr(value, name)
            parts.append("" if v is None else _quote(text(v), doubled=True))
        return "(" + ",".join(parts) + ")"

    return encode


def composite_literal(value: BaseModel) -> str:
    """A model → ``("a",,"b")``, its fields by their run-time types (:func:`pg_text`).

    Used for a composite nested where the generator could not know its type; the
    encoder of each model class is built once.
    """
    cls = type(value)
    encode = _untyped_composites.get(cls)
    if encode is None:
        encode = _untyped_composites[cls] = composite_encoder(tuple(cls.model_fields))
    return encode(value)


_untyped_composites: dict[type[BaseModel], Callable[[BaseModel], str]] = {}


def hstore_literal(value: Mapping[str, str | None]) -> str:
    """``{'a': '1', 'b': None}`` → ``"a"=>"1", "b"=>NULL``."""
    return ", ".join(
        _quote(k, doubled=False) + "=>" + ("NULL" if v is None else _quote(v, doubled=False))
        for k, v in value.items()
    )
