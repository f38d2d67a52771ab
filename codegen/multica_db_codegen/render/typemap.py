"""PostgreSQL type → Python type annotation, and how a value crosses the wire.

Types PostgreSQL reports are mapped by name; domains take their base type,
arrays their element's. Every built-in type is mapped to what psycopg loads it as
by default (a type psycopg has no loader for arrives as its text form, ``str``:
``regclass``, ``pg_lsn``, ``tsvector``, ``point``…). A type nobody knows (an
extension's, a composite without a model) is its text form too: PostgreSQL can
always send that, and the analysis warns (see :func:`text_form_only`) so that an
override can give it a better type. Nothing PostgreSQL can describe is refused.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from multica_db_codegen.analyze.ir import TypeRef, is_any
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.render.settings import Override

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
    "json": ("pydantic.JsonValue", "pydantic"),
    "jsonb": ("pydantic.JsonValue", "pydantic"),
    "inet": (
        "ipaddress.IPv4Address | ipaddress.IPv6Address"
        " | ipaddress.IPv4Interface | ipaddress.IPv6Interface",
        "ipaddress",
    ),
    "cidr": ("ipaddress.IPv4Network | ipaddress.IPv6Network", "ipaddress"),
    "hstore": ("dict[str, str | None]", None),
    "void": ("None", None),
    # psycopg loads a record (ROW(…)) as a tuple of the fields' text forms
    "record": ("tuple[str | None, ...]", None),
    "_record": ("list[tuple[str | None, ...] | None]", None),  # record[] (a pseudo-type)
}

#: Built-in types psycopg has no loader for: the value is PostgreSQL's text form.
_TEXT_FORM = [
    "regproc",
    "regprocedure",
    "regoper",
    "regoperator",
    "regclass",
    "regtype",
    "regconfig",
    "regdictionary",
    "regnamespace",
    "regrole",
    "regcollation",
    "xid",
    "xid8",
    "cid",
    "tid",
    "pg_lsn",
    "txid_snapshot",
    "pg_snapshot",
    "point",
    "line",
    "lseg",
    "box",
    "path",
    "polygon",
    "circle",
    "int2vector",
    "oidvector",
    "aclitem",
    "refcursor",
    "jsonpath",
    "gtsvector",
    "pg_node_tree",
    "pg_ndistinct",
    "pg_dependencies",
    "pg_mcv_list",
    "pg_brin_bloom_summary",
    "pg_brin_minmax_multi_summary",
    "cstring",
    "unknown",
]
_BASE.update({name: ("str", None) for name in _TEXT_FORM})

#: Built-in types whose array psycopg has no loader for (it would give the array's text):
#: the generated code decodes it. tests/render/test_every_type.py checks this against the
#: installed psycopg and the server's catalog.
_NO_PSYCOPG_ARRAY = {"cstring", "pg_snapshot"}

#: Built-in "arrays" PostgreSQL writes without braces ("1 2"): psycopg gives the text.
_VECTORS = {"int2vector", "oidvector"}


#: OIDs below this are PostgreSQL's own types: psycopg knows them, and they never change.
FIRST_USER_OID = 16384

#: Built-in types whose text form is the Python value (no loader needed inside a composite).
_TEXTUAL = {"str"}


@dataclass(slots=True)
class Imports:
    """What a rendered module must import, collected while mapping types.

    Everything is imported as a module and named qualified (``pydantic.BaseModel``,
    ``psycopg.types.range.Range``), so no table, column or query can shadow it.
    """

    modules: set[str] = field(default_factory=set)  # import X (or X.Y)
    runtime: bool = False  # from <package> import runtime as _runtime
    models: bool = False  # from <package> import models

    def merge(self, other: Imports) -> None:
        self.modules |= other.modules
        self.runtime |= other.runtime
        self.models |= other.models


@dataclass(frozen=True, slots=True)
class PyType:
    """How one PostgreSQL type looks in Python and crosses the wire.

    Each callable is an expression naming a function of one non-NULL value;
    ``None`` means the value passes as it is.
    """

    annotation: str
    loader: str | None = None  # applied to non-NULL result values (enums, composites, overrides)
    dumper: str | None = None  # applied to non-NULL parameter values (json, text forms)
    arbitrary: bool = False  # pydantic has no schema for it (overrides, psycopg ranges)
    sends_text: bool = False  # the dumper gives PostgreSQL's text form (no binary COPY)
    # the loader / dumper is a factory call (``array_decoder(...)``): the module builds it once
    loader_call: bool = False
    dumper_call: bool = False


def _list_of(annotation: str, dims: int, *, element_nullable: bool) -> str:
    inner = f"{annotation} | None" if element_nullable else annotation
    out = f"list[{inner}]"
    for _ in range(dims - 1):  # sub-arrays of a multidimensional array are never NULL
        out = f"list[{out}]"
    return out


class TypeMapper:
    """Maps TypeRefs for one module, recording the imports it needs."""

    def __init__(
        self,
        *,
        enum_classes: dict[str, str],
        composite_classes: dict[str, str],
        codecs: dict[str, tuple[str, str]],
        overrides: tuple[Override, ...],
        in_models: bool,
    ) -> None:
        self.enum_classes = enum_classes  # "schema.name" -> class name
        self.composite_classes = composite_classes
        self.codecs = codecs  # composite class -> (decoder, encoder) in the models module
        self.overrides = overrides
        self.in_models = in_models
        self.imports = Imports()
        # json arrives as its text (a query decoding built JSON): plain json values are
        # parsed by their loader
        self.raw_json = False

    def child(self) -> TypeMapper:
        """A mapper like this one recording its own imports (what one function body uses)."""
        return TypeMapper(
            enum_classes=self.enum_classes,
            composite_classes=self.composite_classes,
            codecs=self.codecs,
            overrides=self.overrides,
            in_models=self.in_models,
        )

    def model_ref(self, name: str) -> str:
        """A name defined in the models module, as this module refers to it."""
        if self.in_models:
            return name
        self.imports.models = True
        return f"models.{name}"

    def _json_model(self, path: str, base: str, what: str) -> PyType:
        """json/jsonb mapped to a user's model (or any ``TypeAdapter``-able type): validated
        when loaded, dumped to JSON when sent (a call, a batch, a COPY row)."""
        if not self.in_models:
            self.imports.runtime = True
            self.imports.modules.add("pydantic")
            self.imports.modules.add("psycopg.types.json")
        adapter = f"pydantic.TypeAdapter({path})"
        wrapper = "psycopg.types.json." + ("Json" if base == "json" else "Jsonb")
        return PyType(
            path,
            loader=f"_runtime.jsonshape.model_loader({adapter}, {what!r})",
            dumper=f"_runtime.jsonshape.model_dumper({adapter}, {wrapper})",
            arbitrary=True,
            loader_call=True,
            dumper_call=True,
        )

    def _runtime(self, name: str) -> str:
        self.imports.runtime = True
        return f"_runtime.pgtext.{name}"

    def _module(self, module: str, name: str) -> str:
        self.imports.modules.add(module)
        return f"{module}.{name}"

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

    def has_override(self, t: TypeRef, column: str | None = None) -> bool:
        """An override applies to ``t`` (or ``column``); nothing imported."""
        return self._override(t, column) is not None

    def override_path(self, t: TypeRef, column: str | None = None) -> str | None:
        """The ``python_type`` an override gives ``t`` (or ``column``, "schema.table.col"),
        its module imported; None when no override applies."""
        found = self._override(t, column)
        return None if found is None else self._use_path(found)

    def _use_path(self, path: str) -> str:
        for name in type_expression_names(path) or (path,):
            module, _, _ = name.rpartition(".")
            if module:
                self.imports.modules.add(module)
        return path

    def map(
        self,
        t: TypeRef,
        *,
        column: str | None = None,
        element_nullable: bool = True,
        dims: int = 1,
    ) -> PyType:
        """The annotation for a non-NULL value of ``t`` (callers add ``| None``).

        ``dims``: an array's declared dimensions (``text[][]`` → 2): nested lists.
        """
        override = self._override(t, column)
        if override is not None:
            path = self._use_path(override)
            json_type = json_base(t)
            if json_type is not None:
                return self._json_model(path, json_type, column or t.pg_type)
            if type_expression_names(path) != [path]:
                raise GenerateError(
                    f"override python_type {path!r} of {column or t.pg_type}: a type expression "
                    "(list[…], X | Y) can only type a json or jsonb column",
                    hint="name a class or function that converts the value, e.g. decimal.Decimal",
                )
            return PyType(path, loader=path, arbitrary=True)
        if is_any(t):  # a function the schema does not define: whatever psycopg loads
            self.imports.modules.add("typing")
            return PyType("typing.Any")
        if t.kind == "domain" and t.base is not None:
            return self.map(t.base, element_nullable=element_nullable, dims=dims)
        if t.kind == "array" and t.name in _VECTORS and t.oid < FIRST_USER_OID:
            return PyType("str")
        if t.kind == "array" and t.element is not None:
            inner = self.map(t.element)
            annotation = _list_of(inner.annotation, max(dims, 1), element_nullable=element_nullable)
            loader = None
            dumper = None
            element_text = self.text_encoder(t.element)
            delimiter = t.element.delimiter
            if user_defined(t):
                # psycopg does not know the array's OID: it arrives as text
                decoder = self.text_decoder(t.element)
                loader = self._array_decoder(decoder, delimiter)
                # psycopg would send a list of str as text[], which PostgreSQL will not
                # compare with an enum[]: send the array's text form, typed by the server
                dumper = self._array_encoder(element_text, dims, delimiter)
            else:
                if inner.loader is not None:
                    # psycopg built the list (it knows a built-in type's delimiter)
                    loader = self._array_decoder(inner.loader, ",")
                if element_text is not None or delimiter != ",":
                    # jsonb[], hstore[], range[]: psycopg cannot; box[]: psycopg would
                    # separate the elements with ',' where PostgreSQL reads ';'
                    dumper = self._array_encoder(element_text, dims, delimiter)
            return PyType(
                annotation,
                loader=loader,
                dumper=dumper,
                arbitrary=inner.arbitrary,
                sends_text=dumper is not None,
                loader_call=loader is not None,
                dumper_call=dumper is not None,
            )
        if t.kind == "enum":
            cls = self.enum_classes.get(f"{t.schema}.{t.name}")
            if cls is None:
                raise GenerateError(f"enum {t.pg_type} is not in the schema's enums")
            ref = self.model_ref(cls)
            return PyType(ref, loader=ref)
        if t.kind == "composite":
            cls = self.composite_classes.get(f"{t.schema}.{t.name}")
            if cls is None:  # no model for it: its text form (see text_form_only)
                return PyType("str")
            decoder, encoder = self.codecs[cls]
            return PyType(
                self.model_ref(cls),
                loader=self.model_ref(decoder),
                dumper=self.model_ref(encoder),
                sends_text=True,
            )
        if t.kind in ("range", "multirange") and t.element is not None:
            inner = self.map(t.element)
            if t.kind == "range":
                wrapper = self._module("psycopg.types.range", "Range")
            else:
                wrapper = self._module("psycopg.types.multirange", "Multirange")
            annotation = f"{wrapper}[{inner.annotation}]"
            if t.oid < FIRST_USER_OID:
                return PyType(annotation, arbitrary=True)
            # a user-defined range type: its OID is unknown to psycopg, so it travels as text
            decoder = self.text_decoder(t.element) or ""
            return PyType(
                annotation,
                loader=f"{self._runtime(t.kind + '_decoder')}({decoder})",
                dumper=self._runtime(t.kind + "_literal"),
                arbitrary=True,
                sends_text=True,
                loader_call=True,
            )
        base = _BASE.get(t.name)
        if base is None:  # psycopg loads a type it does not know as its text form
            return PyType("str")
        annotation, module = base
        if module is not None:
            self.imports.modules.add(module)
        if t.name == "hstore":
            return PyType(
                annotation,
                loader=self._runtime("parse_hstore"),
                dumper=self._runtime("hstore_literal"),
                sends_text=True,
            )
        if t.name in ("json", "jsonb"):
            wrapper = "Json" if t.name == "json" else "Jsonb"
            loader = None
            if self.raw_json:
                self.imports.runtime = True
                loader = "_runtime.jsonshape.loads"
            return PyType(
                annotation, loader=loader, dumper=self._module("psycopg.types.json", wrapper)
            )
        return PyType(annotation)

    def _array_decoder(self, element: str | None, delimiter: str) -> str:
        """``array_decoder(element)``, given the element type's delimiter unless ','."""
        args = [element] if element else []
        if delimiter != ",":
            args.append(_delimiter(delimiter))
        return f"{self._runtime('array_decoder')}({', '.join(args)})"

    def _array_encoder(self, element: str | None, dims: int, delimiter: str) -> str:
        """``array_encoder(element, dims)``, each argument only when it is not the default."""
        args = [element or "None"] if element is not None or dims > 1 else []
        if dims > 1:
            args.append(str(dims))
        if delimiter != ",":
            args.append(_delimiter(delimiter))
        return f"{self._runtime('array_encoder')}({', '.join(args)})"

    def text_encoder(self, t: TypeRef, dims: int = 1) -> str | None:
        """An expression giving the text form of a ``t`` nested in a literal.

        ``None`` when the generic :func:`runtime.pgtext.pg_text` is right. ``dims``: an
        array's declared dimensions (a composite's ``text[][]`` field: 2).
        """
        if t.kind == "domain" and t.base is not None:
            return self.text_encoder(t.base, dims)
        if t.kind == "composite":
            return self.map(t).dumper
        if t.kind == "array" and t.element is not None:
            element = self.text_encoder(t.element)
            if element is None and dims <= 1 and t.element.delimiter == ",":
                return None  # pg_text writes a list as PostgreSQL reads it
            return self._array_encoder(element, dims, t.element.delimiter)
        if t.name in ("json", "jsonb"):
            return self._runtime("json_text")
        if t.kind in ("range", "multirange") and t.oid >= FIRST_USER_OID:
            return self.map(t).dumper
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
            return self.map(t).loader
        if t.kind == "array" and t.element is not None:
            if not user_defined(t):
                return self._overridden_text(t, f"{self._runtime('text_loader')}({t.oid})")
            return self._array_decoder(self.text_decoder(t.element), t.element.delimiter)
        if t.name == "hstore":
            return self._runtime("parse_hstore")
        if t.oid >= FIRST_USER_OID:
            mapped = self.map(t)
            if mapped.annotation in _TEXTUAL:
                return None
            if mapped.loader is not None:  # an override: it takes the text form too
                return mapped.loader
            raise _unsupported(t)
        if self._override(t, None) is None and self.map(t).annotation in _TEXTUAL:
            return None
        return self._overridden_text(t, f"{self._runtime('text_loader')}({t.oid})")

    def _overridden_text(self, t: TypeRef, decoder: str) -> str:
        """``decoder`` (psycopg's value from the text form of a built-in type), then the
        conversion an override of ``t`` or of its element asks for (``float(Decimal)``,
        a model validated from json), as a flat column of that type gets it."""
        overridden = self._override(t, None) is not None or (
            t.kind == "array" and t.element is not None and self._override(t.element, None)
        )
        loader = self.map(t).loader if overridden else None
        if loader is None:
            return decoder
        return f"{self._runtime('then')}({decoder}, {loader})"


def _delimiter(delimiter: str) -> str:
    """The ``delimiter=…`` argument a generated runtime call takes."""
    return f"delimiter={delimiter!r}"


def type_expression_names(text: str) -> list[str] | None:
    """The names a ``python_type`` uses ("mypkg.Item" and "list" for ``list[mypkg.Item]``),
    in order; None when it is not a type expression of names, subscripts, ``|`` and
    ``None`` — a json/jsonb column may be any type ``pydantic.TypeAdapter`` takes."""
    try:
        tree = ast.parse(text.strip(), mode="eval")
    except SyntaxError:
        return None
    names: list[str] = []

    def dotted(node: ast.expr) -> str | None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            head = dotted(node.value)
            return None if head is None else f"{head}.{node.attr}"
        return None

    def walk(node: ast.expr) -> bool:
        name = dotted(node)
        if name is not None:
            names.append(name)
            return True
        if isinstance(node, ast.Subscript):
            return walk(node.value) and walk(node.slice)
        if isinstance(node, ast.Tuple):
            return all(walk(e) for e in node.elts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
            return walk(node.left) and walk(node.right)
        return isinstance(node, ast.Constant) and node.value is None

    return names if walk(tree.body) else None


def json_base(t: TypeRef) -> str | None:
    """ "json" or "jsonb" when ``t`` is one (or a domain over one)."""
    while t.kind == "domain" and t.base is not None:
        t = t.base
    return t.name if t.name in ("json", "jsonb") and t.oid < FIRST_USER_OID else None


def user_defined(t: TypeRef) -> bool:
    """A type psycopg cannot load by itself (its OID is only known in the user's database,
    or an array of a built-in type psycopg has no array loader for, such as pg_snapshot[]).

    An array of a domain is one even over a built-in type: PostgreSQL describes it as the
    domain's own array type, whose OID psycopg does not know (it hands over the text)."""
    if t.kind == "domain" and t.base is not None:
        return user_defined(t.base)
    if t.kind == "array" and t.element is not None:
        if t.name in _VECTORS and t.oid < FIRST_USER_OID:
            return False
        return t.oid >= FIRST_USER_OID or user_defined(t.element) or not _psycopg_array(t)
    return t.oid >= FIRST_USER_OID


def _psycopg_array(t: TypeRef) -> bool:
    """psycopg loads this built-in array type by itself (as a list)."""
    assert t.element is not None
    return t.element.name not in _NO_PSYCOPG_ARRAY


def text_form_only(t: TypeRef) -> list[str]:
    """The types within ``t`` that have no Python type of their own: values of each are
    PostgreSQL's text form (``str``). Empty when every part of ``t`` is mapped.

    The analysis warns about these, since an override usually gives a better type.
    Composites are left to the caller (whether one has a model is the renderer's choice).
    """
    if is_any(t):
        return []
    if t.kind == "domain" and t.base is not None:
        return text_form_only(t.base)
    if t.kind in ("array", "range", "multirange") and t.element is not None:
        if t.kind == "array" and t.name in _VECTORS and t.oid < FIRST_USER_OID:
            return []
        return text_form_only(t.element)
    if t.kind in ("base", "pseudo") and t.name not in _BASE:
        return [t.pg_type]
    return []


def _unsupported(t: TypeRef) -> GenerateError:
    return GenerateError(
        f"no Python type for PostgreSQL type {t.pg_type!r}",
        hint=(
            "map it in pyproject.toml: [[tool.multica-db.overrides]] "
            f'db_type = "{t.pg_type}" python_type = "module.Type"'
        ),
    )
