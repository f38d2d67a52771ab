"""The JSON Schema of ``analyze --json`` (docs/analyze-json.schema.json), derived from the IR's
dataclasses the way the codec is; ``python -m tests.generator.ir_schema`` writes it again."""

from __future__ import annotations

import dataclasses
import enum
import json
import types
import typing
from pathlib import Path
from typing import Any

from multica_db_codegen.analyze.ir import AnalysisIR
from multica_db_codegen.analyze.ir_codec import VERSION

COMMITTED = Path(__file__).parents[2] / "docs" / "analyze-json.schema.json"


def json_schema() -> dict[str, Any]:
    """The JSON Schema of the ``analyze --json`` document, derived like the codec."""
    defs: dict[str, Any] = {}

    def schema(tp: Any) -> dict[str, Any]:
        origin = typing.get_origin(tp)
        if origin in (typing.Union, types.UnionType):
            return {"anyOf": [schema(a) for a in typing.get_args(tp)]}
        if origin is tuple:
            return {"type": "array", "items": schema(typing.get_args(tp)[0])}
        if origin is dict:
            return {"type": "object", "additionalProperties": schema(typing.get_args(tp)[1])}
        if tp is type(None):
            return {"type": "null"}
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            return {"enum": [m.value for m in tp]}
        if isinstance(tp, type) and dataclasses.is_dataclass(tp):
            if tp.__name__ not in defs:
                defs[tp.__name__] = {}  # a recursive type refers to itself
                hints = typing.get_type_hints(tp)
                defs[tp.__name__] = {
                    "type": "object",
                    "properties": {f.name: schema(hints[f.name]) for f in dataclasses.fields(tp)},
                    "required": [
                        f.name
                        for f in dataclasses.fields(tp)
                        if f.default is dataclasses.MISSING
                        and f.default_factory is dataclasses.MISSING
                    ],
                    "additionalProperties": False,
                }
            return {"$ref": f"#/$defs/{tp.__name__}"}
        names = {str: "string", int: "integer", float: "number", bool: "boolean"}
        return {"type": names[tp]}

    schema(AnalysisIR)
    top = dict(defs.pop("AnalysisIR"))
    nullable = {"anyOf": [{"type": "string"}, {"type": "null"}]}
    error = {
        "type": "object",
        "properties": {
            "file": nullable,
            "line": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "column": {"anyOf": [{"type": "integer"}, {"type": "null"}]},
            "query": nullable,
            "message": {"type": "string"},
            "hint": nullable,
        },
        "required": ["message"],
    }
    top["properties"] = {
        "version": {"const": VERSION},
        **top["properties"],
        "errors": {"type": "array", "items": error},
    }
    top["required"] = ["version", *top["required"]]
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "multica-db analyze --json",
        **top,
        "$defs": dict(sorted(defs.items())),
    }


if __name__ == "__main__":
    COMMITTED.write_text(json.dumps(json_schema(), indent=2) + "\n", encoding="utf-8")
