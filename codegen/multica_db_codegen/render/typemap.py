"""PostgreSQL type → Python type annotation, and how a value crosses the wire.

Types PostgreSQL reports are mapped by name; domains take their base type,
arrays their element's. Anything unknown is an error that says how to map it
with an override, rather than a silent ``Any``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from multica_db_codegen.analyze.ir import TypeRef
from multica_db_codegen.config import Override
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.render import naming

_BASE: dict[str, tuple[str, str | None]] = {
    # typname: (annotation, module to import)
    "int2": ("int", None),
    "int4": ("int", None),
    "int8": ("int", None),
    "oid": ("int", None),
    "float4": ("float", None),
    "float8": ("float", None),
    "numeric": ("decimal.Decimal", "decimal"),
    "bool": ("bool", None),
    "text": ("str", None),
    "varchar": ("str", None),
    "bpchar": ("str", None),
    "char": ("str", None),
    "name": ("str", None),
    "citext": ("str", None),
    "ltree": ("str", None),
    "lquery": ("str", None),
    "xml": ("str", None),
    "bit": ("str", None),
    "varbit": ("str", None),
    "tsvector": ("str", None),
    "tsquery": ("str", None),
    "macaddr": ("str", None),
    "macaddr8": ("str", None),
    "money": ("str", None),
    "bytea": ("bytes", None),
    "uuid": ("uuid.UUID", "uuid"),
    "date": ("datetime.date", "datetime"),
    "time": ("datetime.time", "datetime"),
    "timetz": ("datetime.time", "datetime"),
    "timestamp": ("datetime.datetime", "datetime"),
    "timestamptz": ("datetime.datetime", "datetime"),
    "interval": ("datetime.timedelta", "datetime"),
    "json": ("JsonValue", "pydantic"),
    "jsonb": ("JsonValue", "pydantic"),
    "inet": (
        "ipaddress.IPv4Address | ipaddress.IPv6Address"
        " | ipaddress.IPv4Interface | ipaddress.IPv6Interface",
        "ipaddress",
    ),
    "cidr": ("ipaddress.IPv4Network | ipaddress.IPv6Network", "ipaddress"),
    "hstore": ("dict[str, str | None]", None),
    "void": ("None", None),
}


#: OIDs below this are PostgreSQL's own types: psycopg knows them, and they never change.
FIRST_USER_OID = 16384

#: Built-in types whose text form is the Python value (no loader needed inside a composite).
_TEXTUAL = {"str"}


@dataclass(slots=True)
class Imports:
    """What a rendered module must import, collected while mapping types."""

    modules: set[str] = field(default_factory=set)  # import X
    pydantic: set[str] = field(default_factory=set)  # from pydantic import X
    runtime: set[str] = field(default_factory=set)  # from multica_db._runtime import X
    psycopg_range: bool = False
    models: bool = False  # the generated models module

    def merge(self, other: Imports) -> None:
        self.modules |= other.modules
        self.pydantic |= other.pydantic
        self.runtime |= other.runtime
        self.psycopg_range |= other.psycopg_range
        self.models |= other.models


@dataclass(frozen=True, slots=True)
class PyType:
    annotation: str
    converter: str | None = None  # applied to non-NULL result values (enums, overrides)
    json: str | None = None  # "Json" / "Jsonb": wrap parameters for psycopg
    encoder: str | None = None  # applied to non-NULL parameters: their text form for PostgreSQL


class TypeMapper:
    """Maps TypeRefs for one module, recording the imports it needs."""

    def __init__(
        self,
        *,
        enum_classes: dict[str, str],
        composite_classes: dict[str, str],
        overrides: tuple[Override, ...],
        in_models: bool,
    ) -> None:
        self.enum_classes = enum_classes  # "schema.name" -> class name
        self.composite_classes = composite_classes
        self.overrides = overrides
        self.in_models = in_models
        self.imports = Imports()

    def _model_ref(self, cls: str) -> str:
        if self.in_models:
            return cls
        self.imports.models = True
        return f"models.{cls}"

    def _runtime(self, name: str) -> str:
        self.imports.runtime.add(name)
        return name

    def _override(self, t: TypeRef, column: str | None) -> str | None:
        for o in self.overrides:
            if (
                column is not None
                and o.column is not None
                and o.column in (column, column.split(".", 1)[-1])
            ):
                return o.python_type
        for o in self.overrides:
            if o.db_type is not None and o.db_type in (t.pg_type, t.name, f"{t.schema}.{t.name}"):
                return o.python_type
        return None

    def _use_path(self, path: str) -> str:
        module, _, _ = path.rpartition(".")
        if module:
            self.imports.modules.add(module)
        return path

    def map(
        self, t: TypeRef, *, column: str | None = None, element_nullable: bool = True
    ) -> PyType:
        """The annotation for a non-NULL value of ``t`` (callers add ``| None``)."""
        override = self._override(t, column)
        if override is not None:
            return PyType(self._use_path(override), converter=self._use_path(override))
        if t.kind == "domain" and t.base is not None:
            return self.map(t.base, element_nullable=element_nullable)
        if t.kind == "array" and t.element is not None:
            inner = self.map(t.element)
            elem = f"{inner.annotation} | None" if element_nullable else inner.annotation
            conv = None
            encoder = None
            if user_defined(t.element):
                # psycopg does not know the array's OID: it arrives as text
                decoder = self.text_decoder(t.element)
                conv = f"{self._runtime('array_decoder')}({decoder or ''})"
                # psycopg would send a list of str as text[], which PostgreSQL will not
                # compare with an enum[]: send the array's text form, typed by the server
                element = self.text_encoder(t.element)
                encoder = (
                    f"{self._runtime('array_encoder')}({element})"
                    if element is not None
                    else self._runtime("array_literal")
                )
            elif inner.converter is not None:
                conv = f"{self._runtime('array_decoder')}({inner.converter})"
            return PyType(f"list[{elem}]", converter=conv, encoder=encoder)
        if t.kind == "enum":
            cls = self.enum_classes.get(f"{t.schema}.{t.name}")
            if cls is None:
                raise GenerateError(f"enum {t.pg_type} is not in the schema's enums")
            ref = self._model_ref(cls)
            return PyType(ref, converter=ref)
        if t.kind == "composite":
            cls = self.composite_classes.get(f"{t.schema}.{t.name}")
            if cls is None:
                raise _unsupported(t)
            ref = self._model_ref(cls)
            decoder = self._model_ref(decoder_name(cls))
            return PyType(ref, converter=decoder, encoder=self._model_ref(encoder_name(cls)))
        if t.kind in ("range", "multirange") and t.element is not None:
            inner = self.map(t.element)
            self.imports.psycopg_range = True
            wrapper = "Range" if t.kind == "range" else "Multirange"
            annotation = f"{wrapper}[{inner.annotation}]"
            if t.oid < FIRST_USER_OID:
                return PyType(annotation)
            # a user-defined range type: its OID is unknown to psycopg, so it travels as text
            kind = t.kind
            decoder = self.text_decoder(t.element) or ""
            return PyType(
                annotation,
                converter=f"{self._runtime(kind + '_decoder')}({decoder})",
                encoder=self._runtime(kind + "_literal"),
            )
        base = _BASE.get(t.name)
        if base is None:
            raise _unsupported(t)
        annotation, module = base
        if module == "pydantic":
            self.imports.pydantic.add(annotation)
        elif module is not None:
            self.imports.modules.add(module)
        if t.name == "hstore":
            return PyType(
                annotation,
                converter=self._runtime("parse_hstore"),
                encoder=self._runtime("hstore_literal"),
            )
        json = {"json": "Json", "jsonb": "Jsonb"}.get(t.name)
        return PyType(annotation, json=json)

    def text_encoder(self, t: TypeRef) -> str | None:
        """An expression giving the text form of a ``t`` nested in a literal.

        ``None`` when the generic :func:`multica_db._runtime.pg_text` is right.
        """
        if t.kind == "domain" and t.base is not None:
            return self.text_encoder(t.base)
        if t.kind == "composite":
            return self.map(t).encoder
        if t.kind == "array" and t.element is not None:
            element = self.text_encoder(t.element)
            return None if element is None else f"{self._runtime('array_encoder')}({element})"
        if t.name in ("json", "jsonb"):
            return self._runtime("json_text")
        if t.kind in ("range", "multirange") and t.oid >= FIRST_USER_OID:
            return self.map(t).encoder
        if t.kind in ("range", "multirange"):
            return self._runtime(f"{t.kind}_literal")
        if t.name == "hstore":
            return self._runtime("hstore_literal")
        return None

    def text_decoder(self, t: TypeRef) -> str | None:
        """An expression decoding ``t``'s text form (inside a composite or a user array).

        ``None`` when the text is already the Python value.
        """
        if t.kind == "domain" and t.base is not None:
            return self.text_decoder(t.base)
        if t.kind in ("enum", "composite") or (
            t.kind in ("range", "multirange") and t.oid >= FIRST_USER_OID
        ):
            return self.map(t).converter
        if t.kind == "array" and t.element is not None:
            if not user_defined(t.element):
                return f"{self._runtime('text_loader')}({t.oid})"
            return f"{self._runtime('array_decoder')}({self.text_decoder(t.element) or ''})"
        if t.name == "hstore":
            return self._runtime("parse_hstore")
        if t.oid >= FIRST_USER_OID:
            if self.map(t).annotation in _TEXTUAL:
                return None
            raise _unsupported(t)
        if self.map(t).annotation in _TEXTUAL:
            return None
        return f"{self._runtime('text_loader')}({t.oid})"


def encoder_name(cls: str) -> str:
    """The models-module function that encodes composite ``cls`` as its text form."""
    return f"encode_{naming.function(cls)}"


def decoder_name(cls: str) -> str:
    """The models-module function that decodes composite ``cls`` from its text form."""
    return f"decode_{naming.function(cls)}"


def user_defined(t: TypeRef) -> bool:
    """A type psycopg cannot load by itself (its OID is only known in the user's database)."""
    if t.kind == "domain" and t.base is not None:
        return user_defined(t.base)
    if t.kind == "array" and t.element is not None:
        return user_defined(t.element)
    return t.oid >= FIRST_USER_OID


def _unsupported(t: TypeRef) -> GenerateError:
    return GenerateError(
        f"no Python type for PostgreSQL type {t.pg_type!r}",
        hint=(
            "map it in pyproject.toml: [[tool.multica-db.overrides]] "
            f'db_type = "{t.pg_type}" python_type = "module.Type"'
        ),
    )
