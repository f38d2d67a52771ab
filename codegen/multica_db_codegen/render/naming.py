"""Python names for database things, decided once and collision-free.

Every identifier of the output passes through a :class:`Scope`: the module's
globals, a function's parameters and locals, a model's fields, an enum's
members. A scope knows the names the generated code itself uses there (imports,
locals such as ``conn``/``cur``/``row``, the builtins annotations name), so a
table, column or query can never shadow them; a name already taken gets a
numeric suffix. Python compares identifiers after NFKC normalisation, so the
scope does too; module names are also compared case-folded (two files differing
only in case would be one file on a case-insensitive file system).
"""

from __future__ import annotations

import builtins
import functools
import keyword
import re
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from multica_db_codegen.analyze.ir import AnalysisIR

#: Builtins the generated code names (annotations, ``list(...)`` in batch bodies).
USED_BUILTINS = frozenset(
    {"bool", "bytes", "dict", "float", "int", "list", "object", "str", "tuple", "type", "None"}
)

#: Modules (and the names of ``from … import``) generated modules bind at the top level.
IMPORTED = frozenset(
    {
        "datetime",
        "decimal",
        "enum",
        "ipaddress",
        "uuid",
        "psycopg",
        "pydantic",
        "models",
        "_runtime",
        "Any",
        "NamedTuple",
        "Iterable",
        "Iterator",
        "AsyncIterator",
        "annotations",
    }
)

#: Names the body of a function with keyword parameters uses besides them (its other
#: locals start with ``_``, which no name derived from the database does).
LOCALS = frozenset({"conn", "cur", "row", "rows"})

#: Names pycodestyle (ruff E741) calls ambiguous; a user's linter with the E rules would
#: refuse generated code that binds them, so fields and parameters dodge them (``l_``).
AMBIGUOUS = frozenset({"l", "O", "I"})


#: Names a pydantic model field may not take without shadowing BaseModel's API.
BASEMODEL_ATTRS = frozenset(
    {
        "copy",
        "dict",
        "json",
        "schema",
        "schema_json",
        "construct",
        "validate",
        "fields",
        "parse_obj",
        "parse_raw",
        "parse_file",
        "from_orm",
        "update_forward_refs",
        "mro",  # the class's own (pydantic warns a field would shadow it)
    }
)

#: A NamedTuple's own attributes (fields of a batch's parameter set may not take them).
TUPLE_ATTRS = frozenset({"count", "index"})


def _norm(name: str) -> str:
    return unicodedata.normalize("NFKC", name)


def snake_case(name: str) -> str:
    """``FindLegacyRuntimesByDaemonID`` → ``find_legacy_runtimes_by_daemon_id``.

    A pluralised acronym stays one word: ``ListUsersByIDs`` → ``list_users_by_ids``.
    """
    s = re.sub(r"([A-Z]{2,})s(?=[A-Z0-9_]|$)", r"\1S", name)
    s = re.sub(r"([A-Z]+)([A-Z][a-z])", r"\1_\2", s)
    s = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", s)
    return s.replace("-", "_").lower()


@functools.cache
def identifier(name: str, *, fallback: str, digit_prefix: str = "f_") -> str:
    """A valid, non-keyword, non-dunder Python identifier close to ``name``.

    Characters Python does not accept in identifiers become ``_``; leading and
    trailing underscores go (no dunders, no private names); a leading digit gets
    ``digit_prefix`` (``2fa`` → ``f_2fa``); a keyword gets a trailing ``_``.
    """
    text = _norm(name)
    chars = [ch if ("a" + ch).isidentifier() else "_" for ch in text]
    cleaned = "".join(chars).strip("_")
    if not cleaned:
        cleaned = fallback
    if not cleaned.isidentifier():  # starts with a digit (or another non-starting character)
        cleaned = digit_prefix + cleaned
    if keyword.iskeyword(cleaned) or keyword.issoftkeyword(cleaned):
        cleaned += "_"
    return cleaned


class Scope:
    """One namespace of the output: hands out names, never the same (or a reserved) twice."""

    def __init__(self, reserved: Iterable[str] = (), *, casefold: bool = False) -> None:
        self._casefold = casefold
        self._taken: set[str] = set()
        self._reserved = {self._key(n) for n in reserved}

    def _key(self, name: str) -> str:
        key = _norm(name)
        return key.casefold() if self._casefold else key

    def free(self, name: str) -> bool:
        key = self._key(name)
        return key not in self._taken and key not in self._reserved

    def claim(self, base: str) -> str:
        """``base``, or ``base_`` if reserved, or ``base_2``, ``base_3``… if taken."""
        candidate = base
        if self._key(candidate) in self._reserved:
            candidate = base + "_"
            base = candidate
        k = 2
        while not self.free(candidate):
            candidate = f"{base}_{k}"
            k += 1
        self._taken.add(self._key(candidate))
        return candidate

    def take(self, name: str) -> None:
        """Mark ``name`` as used (a name decided elsewhere, e.g. a rename)."""
        self._taken.add(self._key(name))


def camel(name: str) -> str:
    """``agent_runtime`` → ``AgentRuntime``; ``userID`` keeps its inner capitals."""
    parts = re.split(r"[^\w]+|_", _norm(name))
    out = "".join(p[:1].upper() + p[1:] for p in parts if p)
    return identifier(out, fallback="T", digit_prefix="T") if out else "T"


def singular(word: str) -> str:
    """A plain English singular of a table name's last word, as sqlc's default does."""
    head, _, last = word.rpartition("_")
    lower = last.lower()
    if lower.endswith("ies") and len(lower) > 3:
        last = last[:-3] + "y"
    elif lower.endswith(("sses", "shes", "ches", "xes")):
        last = last[:-2]
    elif (
        lower.endswith("s")
        and len(lower) > 1  # an alias "s" stays "s", never ""
        and not lower.endswith(("ss", "us", "is", "status"))
    ):
        last = last[:-1]
    return f"{head}_{last}" if head else last


@functools.cache
def field_base(name: str, index: int) -> str:
    """A model field's wanted name for a result column; ``?column?`` becomes ``column_N``."""
    base = identifier(name, fallback=f"column_{index + 1}")
    if base in BASEMODEL_ATTRS or base.startswith("model_"):
        base += "_"
    return base


def field_scope(*, named_tuple: bool = False, classes: Iterable[str] = ()) -> Scope:
    """The fields of one model (or parameter NamedTuple).

    ``classes``: the models module's classes; a field named like one would hide it
    from the annotations after it (mypy resolves them in the class body first).
    """
    reserved = USED_BUILTINS | IMPORTED | BASEMODEL_ATTRS | AMBIGUOUS | frozenset(classes)
    return Scope(reserved | TUPLE_ATTRS if named_tuple else reserved)


def fields(
    names: Iterable[str], *, named_tuple: bool = False, classes: Iterable[str] = ()
) -> list[str]:
    """Field names for columns in order (duplicates suffixed, reserved names dodged)."""
    scope = field_scope(named_tuple=named_tuple, classes=classes)
    return [scope.claim(field_base(n, i)) for i, n in enumerate(names)]


def enum_members(labels: Iterable[str]) -> list[str]:
    """UPPER_CASE member names for an enum's labels, distinct and valid."""
    scope = Scope()
    out = []
    for i, label in enumerate(labels):
        base = identifier(label.upper(), fallback=f"VALUE_{i}", digit_prefix="V_").upper()
        if not base.isidentifier() or keyword.iskeyword(base):  # upper() can break either
            base = f"VALUE_{i}"
        out.append(scope.claim(base))
    return out


def function_base(query_name: str) -> str:
    """The snake_case name a query's function wants (before its module's scope decides)."""
    return identifier(snake_case(query_name), fallback="query")


def module_base(stem: str) -> str:
    """A query file's module name wanted from its file name."""
    return identifier(stem.lower(), fallback="queries", digit_prefix="q_")


#: Module names a query module may not take inside ``queries/``.
MODULE_RESERVED = frozenset({"aio", "__init__", *keyword.kwlist, *keyword.softkwlist})

#: Every builtin name (for callers that want to know whether a name shadows one).
ALL_BUILTINS = frozenset(dir(builtins))


def python_rename(rename: dict[str, str], ir: AnalysisIR) -> dict[str, str]:
    """sqlc's ``rename`` as the renderer's: keys are columns or struct names, values Go names.

    sqlc matches a key against column names (the field takes the value) and against
    the struct a table generates (``author`` for ``authors``; the class takes the
    value). In Python a field is snake_case (``SpotifyURL`` → ``spotify_url``) and a
    class keeps the name given.
    """

    def safe(name: str) -> str:
        # a Go name Python would refuse gets the trailing underscore generated names
        # get (`Type` → `type_`, `List` → `list_`), never a refusal
        name = identifier(name, fallback="renamed")
        reserved = keyword.iskeyword(name) or name in IMPORTED or name in USED_BUILTINS
        return name + "_" if reserved else name

    out: dict[str, str] = {}

    def column(name: str) -> None:
        # a rename that only spells the name the Go way (`uuid: UUID`, `url: URL`) says
        # nothing to Python: the column keeps the name it would have had without it
        if name in rename and snake_case(rename[name]) != name:
            out.setdefault(name, safe(snake_case(rename[name])))

    for relation in ir.tables:
        for key in (singular(relation.name).lower(), relation.name.lower()):
            if key in rename:
                out[f"{relation.schema}.{relation.name}"] = safe(rename[key])
                break
        for c in relation.columns:
            column(c.name)
    for enum in ir.enums:
        if enum.name in rename:
            out[f"{enum.schema}.{enum.name}"] = safe(rename[enum.name])
    for f in ir.files:
        for q in f.queries:
            for c in q.columns:
                column(c.name)
    return out
