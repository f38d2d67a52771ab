"""IR dataclasses ⇄ JSON-able data, exactly: how the per-file analyses are cached.

Decoding gives back objects equal to, and of the same types as, the ones encoded
(or encoding fails and the file is simply not cached). JSON, never pickle: a
planted cache file cannot run code.
"""

from __future__ import annotations

import dataclasses
import enum
import functools
from typing import Any


@functools.cache
def _ir_types() -> dict[str, type]:
    """The IR's dataclasses, and the enums it uses (imported into analyze/ir.py), by name."""
    from multica_db_codegen.analyze import ir

    return {
        c.__name__: c
        for c in vars(ir).values()
        if isinstance(c, type)
        and (dataclasses.is_dataclass(c) or (issubclass(c, enum.Enum) and c is not enum.Enum))
    }


_PLAIN = (str, int, float, bool, type(None))


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


class _Encoder:
    """Encodes one IR tree; each distinct ``TypeRef`` is written once and referenced.

    Only exact types are accepted (no str or int subclasses such as enums), so
    decoding gives back objects equal *and* of the same types, or encoding fails
    and the file is simply not cached.
    """

    def __init__(self) -> None:
        self.types: list[Any] = []
        self._by_id: dict[int, int] = {}
        self._by_value: dict[Any, int] = {}
        self._classes = {c: n for n, c in _ir_types().items() if dataclasses.is_dataclass(c)}
        self._typeref = _ir_types().get("TypeRef")

    def __call__(self, obj: Any) -> Any:
        t = type(obj)
        if t in _PLAIN:
            return obj
        if t is tuple:
            return [self(x) for x in obj]
        if t is self._typeref:
            i = self._by_id.get(id(obj))
            if i is None:
                i = self._by_value.get(obj)
                if i is None:
                    data = self._dataclass(obj)  # nested types first: refs point backwards
                    i = self._by_value[obj] = len(self.types)
                    self.types.append(data)
                self._by_id[id(obj)] = i
            return {"$ref": i}
        if t in self._classes:
            return self._dataclass(obj)
        if t is list:
            return {"$list": [self(x) for x in obj]}
        if t is dict and all(type(k) is str for k in obj):
            return {"$dict": {k: self(v) for k, v in obj.items()}}
        if isinstance(obj, enum.Enum) and _ir_types().get(t.__name__) is t:
            return {"$enum": t.__name__, "v": obj.value}
        raise TypeError(f"cannot cache a {t.__name__}")

    def _dataclass(self, obj: Any) -> dict[str, Any]:
        t = type(obj)
        out: dict[str, Any] = {"$": self._classes[t]}
        for name in _field_names(t):
            value = getattr(obj, name)
            out[name] = value if type(value) in _PLAIN else self(value)
        return out


def encode(obj: Any) -> Any:
    """IR dataclasses → JSON-able data that :func:`decode` turns back into equal objects."""
    enc = _Encoder()
    tree = enc(obj)
    return {"types": enc.types, "ir": tree}


def _decode(data: Any, types: list[Any]) -> Any:
    if isinstance(data, list):
        return tuple(_decode(x, types) for x in data)
    if isinstance(data, dict):
        if "$ref" in data:
            return types[data["$ref"]]
        if "$list" in data:
            return [_decode(x, types) for x in data["$list"]]
        if "$dict" in data:
            return {k: _decode(v, types) for k, v in data["$dict"].items()}
        if "$enum" in data:
            return _ir_types()[data["$enum"]](data["v"])
        cls = _ir_types()[data["$"]]
        return cls(**{k: _decode(v, types) for k, v in data.items() if k != "$"})
    return data


def decode(data: Any) -> Any:
    types: list[Any] = []
    for t in data["types"]:
        types.append(_decode(t, types))
    return _decode(data["ir"], types)
