"""Python names for database things: classes, fields, constants. Pure functions."""

from __future__ import annotations

import functools
import keyword
import re

from multica_db_codegen.parse.annotations import snake_case

# Names a pydantic model field may not take without shadowing BaseModel's API.
_BASEMODEL_ATTRS = {
    "copy",
    "dict",
    "json",
    "schema",
    "schema_json",
    "construct",
    "validate",
    "fields",
    "model_config",
    "model_fields",
    "model_computed_fields",
    "model_extra",
    "model_fields_set",
    "model_construct",
    "model_copy",
    "model_dump",
    "model_dump_json",
    "model_json_schema",
    "model_parametrized_name",
    "model_post_init",
    "model_rebuild",
    "model_validate",
    "model_validate_json",
    "model_validate_strings",
    "parse_obj",
    "parse_raw",
    "parse_file",
    "from_orm",
    "update_forward_refs",
}


def camel(name: str) -> str:
    """``agent_runtime`` → ``AgentRuntime``; ``userID`` keeps its inner capitals."""
    parts = re.split(r"[^0-9A-Za-z]+", name)
    out = "".join(p[:1].upper() + p[1:] for p in parts if p)
    if not out or out[0].isdigit():
        out = "T" + out
    return out


def singular(word: str) -> str:
    """A plain English singular of a table name's last word, as sqlc's default does."""
    head, _, last = word.rpartition("_")
    lower = last.lower()
    if lower.endswith("ies") and len(lower) > 3:
        last = last[:-3] + "y"
    elif lower.endswith(("sses", "shes", "ches", "xes")):
        last = last[:-2]
    elif lower.endswith("s") and not lower.endswith(("ss", "us", "is", "status")):
        last = last[:-1]
    return f"{head}_{last}" if head else last


@functools.cache  # pure, and called for every column of every query
def identifier(name: str, *, fallback: str) -> str:
    """A valid, non-keyword, non-private Python identifier close to ``name``."""
    cleaned = re.sub(r"\W", "_", name)
    cleaned = cleaned.strip("_") if cleaned.strip("_") else ""
    if not cleaned:
        cleaned = fallback
    if cleaned[0].isdigit():
        cleaned = "f_" + cleaned
    if keyword.iskeyword(cleaned) or keyword.issoftkeyword(cleaned):
        cleaned += "_"
    return cleaned


@functools.cache
def field_name(name: str, index: int) -> str:
    """A model field for a result column; ``?column?`` becomes ``column_N``."""
    base = identifier(name, fallback=f"column_{index + 1}")
    if base in _BASEMODEL_ATTRS or base.startswith("model_"):
        base += "_"
    return base


def dedupe(names: list[str]) -> list[str]:
    """``id, id`` → ``id, id_2``: later duplicates get a numeric suffix."""
    taken: set[str] = set()
    out: list[str] = []
    for n in names:
        candidate, k = n, 2
        while candidate in taken:
            candidate = f"{n}_{k}"
            k += 1
        taken.add(candidate)
        out.append(candidate)
    return out


def enum_member(label: str, index: int) -> str:
    base = re.sub(r"\W", "_", label).strip("_").upper()
    if not base:
        base = f"VALUE_{index}"
    if base[0].isdigit():
        base = "V_" + base
    return base


def constant(query_name: str) -> str:
    return snake_case(query_name).upper()


def function(query_name: str) -> str:
    return snake_case(query_name)
