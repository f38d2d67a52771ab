"""The IR's one JSON form: ``analyze --json``, ``render --ir`` and the cache all use it.

Derived from the dataclasses of :mod:`multica_db_codegen.analyze.ir`, so a field
added to the IR is written and read back without touching this code: a dataclass
is an object of its fields (a field still at its default is left out), an enum its
value, a tuple an array. :func:`decode` reads the types back from the annotations
and refuses what it does not know, so the round trip is exact. JSON, never
pickle: a planted cache file cannot run code.

The ``analyze --json`` document is :func:`document`: the :class:`AnalysisIR`'s
fields, its format ``version``, and the ``errors`` of the queries that failed. Its
JSON Schema, ``docs/analyze-json.schema.json``, is derived the same way
(``python -m tests.generator.ir_schema`` writes it again).
"""

from __future__ import annotations

import dataclasses
import enum
import functools
import types
import typing
from collections.abc import Mapping, Sequence
from typing import Any, TypeVar

from multica_db_codegen.analyze.ir import AnalysisIR
from multica_db_codegen.errors import GenerateError

#: The document's format: bump when a field changes meaning or is removed.
VERSION = 1

T = TypeVar("T")


def encode(value: Any) -> Any:
    """IR dataclasses → JSON-able data that :func:`decode` turns back into equal objects."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        out: dict[str, Any] = {}
        for f in _fields(type(value)):
            v = getattr(value, f.name)
            if f.default is not dataclasses.MISSING and v == f.default:
                continue
            if f.default_factory is not dataclasses.MISSING and v == f.default_factory():
                continue
            out[f.name] = encode(v)
        return out
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, tuple | list):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if value is None or isinstance(value, str | int | float):
        return value
    raise TypeError(f"the IR holds a {type(value).__name__}, which has no JSON form")


def decode(cls: type[T], data: Any) -> T:
    """The ``cls`` (an IR dataclass) that ``data`` describes (``ValueError`` if it is not one)."""
    value = _decode(cls, data, "$")
    assert isinstance(value, cls)
    return value


def document(ir: AnalysisIR, errors: Sequence[GenerateError] = ()) -> dict[str, Any]:
    """The ``analyze --json`` document: the IR, its version, and every error found."""
    doc = encode(ir)
    assert isinstance(doc, dict)
    return {"version": VERSION, **doc, "errors": [error_json(e) for e in errors]}


def read_document(doc: Any) -> AnalysisIR:
    """The IR of an ``analyze --json`` document (``ValueError`` if it is not one)."""
    if not isinstance(doc, Mapping):
        raise ValueError("$: expected an object")
    version = doc.get("version", VERSION)
    if version != VERSION:
        raise ValueError(f"version {version!r}: this multica-db reads version {VERSION}")
    errors = doc.get("errors") or []
    if errors:
        first = errors[0] if isinstance(errors[0], Mapping) else {}
        raise ValueError(
            f"it lists {len(errors)} failed quer{'y' if len(errors) == 1 else 'ies'} "
            f"(first: {first.get('file')}:{first.get('line')}: {first.get('message')})"
        )
    body = {k: v for k, v in doc.items() if k not in ("version", "errors")}
    ir = decode(AnalysisIR, body)
    failed = [q for f in ir.files for q in f.queries if q.error is not None]
    if failed:
        q = failed[0]
        raise ValueError(f"query {q.name} ({q.file}:{q.line}) failed analysis: {q.error}")
    return ir


def error_json(e: GenerateError) -> dict[str, Any]:
    """One error as the document lists it: where, which query, PostgreSQL's words."""
    file, line, column = None, None, None
    if e.location is not None:
        file = e.location.file.path
        line, column = e.location.file.line_col(e.location.offset)
    elif e.where is not None:  # "file:line", no text to point into
        file, _, at = e.where.rpartition(":")
        line = int(at) if at.isdigit() else None
    return {
        "file": file,
        "line": line,
        "column": column,
        "query": e.query,
        "message": e.message,
        "hint": e.hint,
    }


@functools.cache
def _fields(cls: type) -> tuple[dataclasses.Field[Any], ...]:
    return dataclasses.fields(cls)


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _decode(tp: Any, data: Any, where: str) -> Any:
    origin = typing.get_origin(tp)
    if tp is Any:
        return data
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(tp)
        if data is None and type(None) in args:
            return None
        (inner,) = (a for a in args if a is not type(None))
        return _decode(inner, data, where)
    if origin is tuple:
        _need(isinstance(data, list), where, "an array")
        item = typing.get_args(tp)[0]
        return tuple(_decode(item, v, f"{where}[{i}]") for i, v in enumerate(data))
    if origin is dict:
        _need(isinstance(data, dict), where, "an object")
        value_type = typing.get_args(tp)[1]
        return {k: _decode(value_type, v, f"{where}.{k}") for k, v in data.items()}
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        _need(isinstance(data, dict), where, f"an object ({tp.__name__})")
        hints = _hints(tp)
        names = {f.name for f in _fields(tp) if f.init}
        unknown = set(data) - names
        _need(not unknown, where, f"only {tp.__name__} fields, not {sorted(unknown)}")
        try:
            return tp(**{k: _decode(hints[k], v, f"{where}.{k}") for k, v in data.items()})
        except TypeError as exc:  # a required field missing
            raise ValueError(f"{where}: {exc}") from None
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        try:
            return tp(data)
        except ValueError:
            raise ValueError(f"{where}: {data!r} is not a {tp.__name__}") from None
    if tp is float:
        _need(isinstance(data, int | float) and not isinstance(data, bool), where, "a number")
        return float(data)
    if tp in (str, int, bool):
        ok = isinstance(data, tp) and (tp is bool or not isinstance(data, bool))
        _need(ok, where, f"a {tp.__name__}")
        return data
    raise TypeError(f"{where}: no JSON form for {tp!r}")


def _need(ok: bool, where: str, what: str) -> None:
    if not ok:
        raise ValueError(f"{where}: expected {what}")
