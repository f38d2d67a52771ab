"""Python types for JSON a statement builds (:class:`ShapeIR`): annotations, models, decoders.

A shaped column is annotated as what it holds (``list[models.Post] | None``) and
decoded by ``runtime.jsonshape.decoder`` through a pydantic ``TypeAdapter``. The
object of a shape is the table's model when it is exactly a table's row and pydantic
reads each of its columns from JSON exactly as psycopg loads them; otherwise a model
of its own, in the query module, whose fields say how their JSON is read back.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from multica_db_codegen.analyze.ir import ColumnIR, ShapeIR, TypeRef, is_any
from multica_db_codegen.render import naming
from multica_db_codegen.render.typemap import FIRST_USER_OID, PyType, TypeMapper, json_base
from multica_db_codegen.render.views import FieldView, ModelView

#: Built-in types whose JSON is PostgreSQL's text form, which pydantic cannot read
#: (bytea's ``\\x…``, interval's ``1 day 02:00:00``, timetz's ``+05``).
_TEXT_FORM = frozenset({"bytea", "interval", "timetz"})

#: Those a table's model reads as psycopg does (``text_form`` on its field): scalars
#: whose JSON pydantic would misread or refuse
TEXT_FORM_FIELDS = frozenset({"interval", "timetz"})

_NUMERIC = "typing.Annotated[decimal.Decimal, pydantic.PlainValidator(_runtime.jsonshape.numeric)]"
_PLAIN_JSON = (
    "typing.Annotated[pydantic.JsonValue, pydantic.BeforeValidator(_runtime.jsonshape.plain_json)]"
)


@dataclass(slots=True)
class ShapeRenderer:
    """Renders the shapes of one query: its models go to ``own_models``."""

    mapper: TypeMapper
    scope: naming.Scope  # the module's names
    stem: str  # the query's class stem ("UsersWithPosts")
    own_models: list[ModelView]
    table_classes: dict[str, str]
    table_columns: dict[str, tuple[ColumnIR, ...]]
    field_names: Callable[[tuple[ColumnIR, ...], str], list[str]]
    model_classes: frozenset[str]
    composite_columns: dict[str, tuple[ColumnIR, ...]] = field(default_factory=dict)
    # "schema.name" of the composite types (their models' json fields read JSON as is)
    composites: frozenset[str] = frozenset()
    _done: dict[tuple[ShapeIR, str], str] = field(default_factory=dict)  # one model per shape

    def column(self, c: ColumnIR) -> PyType:
        """A shaped column: its annotation (without ``| None``) and its decoder."""
        assert c.shape is not None
        inner = self.annotation(c.shape, c.name)
        self.mapper.imports.modules.update({"pydantic", "typing"})
        self.mapper.imports.runtime = True
        options = "".join(
            f", {option}=True"
            for option, names in (("exact", ("numeric",)), ("floats", ("float4", "float8")))
            if _holds(c.shape, names, self.composite_columns)
        )
        if not c.shape.scalar:  # models inside: the runtime may validate them faster
            options = f", shape={inner}{options}"
        loader = f"_runtime.jsonshape.decoder(pydantic.TypeAdapter({inner}), {c.name!r}{options})"
        return PyType(inner, loader=loader, loader_call=True)

    def annotation(self, shape: ShapeIR, name: str) -> str:
        """The annotation of a non-NULL value of ``shape`` (its models made once)."""
        known = self._done.get((shape, name))
        if known is None:
            known = self._done[(shape, name)] = self._annotation(shape, name)
        return known

    def _annotation(self, shape: ShapeIR, name: str) -> str:
        element = self._field(shape.fields[0]) if shape.scalar else self._model(shape, name)
        if shape.element_nullable:
            element = f"{element} | None"
        if shape.keyed:
            return f"dict[str, {element}]"
        return f"list[{element}]" if shape.many else element

    def _model(self, shape: ShapeIR, name: str) -> str:
        if shape.model is not None and self._native_table(shape.model):
            return self.mapper.model_ref(self.table_classes[shape.model])
        base = naming.singular(name) if shape.many or shape.keyed else name
        cls = self.scope.claim(self.stem + naming.camel(base))
        fields = naming.field_scope(classes=self.model_classes)
        views = []
        for i, f in enumerate(shape.fields):
            py_name = fields.claim(naming.field_base(f.name, i))
            annotation = self._field(f)
            if f.nullable:
                annotation = f"{annotation} | None"
            if py_name != f.name:
                annotation = f"typing.Annotated[{annotation}, pydantic.Field(alias={f.name!r})]"
            views.append(FieldView(py_name, annotation, arbitrary=self._arbitrary(f)))
        self.own_models.append(ModelView(cls, f"An object of the JSON column ``{name}``.", views))
        return cls

    def _arbitrary(self, f: ColumnIR) -> bool:
        if self.mapper.has_override(self._declared(f), _key(f)):
            return True  # the user's type: pydantic may have no schema for it
        t = _base(f.type)
        while t.kind == "array" and t.element is not None:
            t = _base(t.element)
        return t.kind in ("range", "multirange")

    def _field(self, f: ColumnIR) -> str:
        """The annotation of a non-NULL value of ``f`` read from JSON."""
        if f.shape is not None:
            return self.annotation(f.shape, f.name)
        return self._json_type(self._declared(f), f.dims, column=_key(f))

    def _declared(self, f: ColumnIR) -> TypeRef:
        """A table column's declared type: its domain (PostgreSQL describes the base type),
        which an override may name."""
        for c in self.table_columns.get(f.table or "", ()) if f.table_column else ():
            if c.name == f.table_column and c.type.kind == "domain":
                return c.type
        return f.type

    def _json_type(
        self, t: TypeRef, dims: int = 1, *, column: str | None = None, override: bool = True
    ) -> str:
        path = self.mapper.override_path(t, column) if override else None
        if path is not None:
            return self._overridden(t, dims, path)
        t = _base(t)
        if t.kind == "array" and t.element is not None:
            inner = self._json_type(t.element)
            out = f"list[{inner} | None]"
            for _ in range(max(dims, 1) - 1):
                out = f"list[{out}]"
            return out
        if is_any(t) or t.kind == "pseudo":
            return "typing.Any"
        if t.name in ("json", "jsonb"):
            return _PLAIN_JSON
        if t.name == "numeric":
            self.mapper.imports.modules.add("decimal")
            return _NUMERIC
        if t.kind == "composite":
            key = f"{t.schema}.{t.name}"
            cols = self.composite_columns.get(key)
            if cols is None:
                return _PLAIN_JSON
            if all(self._native(c, key) for c in cols):
                return self.mapper.map(t).annotation
            # a row whose JSON pydantic cannot read as the composite's model (an interval,
            # bytea, an override inside): a model of its own, each field read back exactly
            return self.annotation(ShapeIR(cols, model=key), naming.singular(t.name))
        if t.kind in ("range", "multirange") and t.oid >= FIRST_USER_OID:
            return "typing.Any"
        plain = self.mapper.map(t).annotation
        if t.name in _TEXT_FORM or t.kind in ("range", "multirange"):
            return (
                f"typing.Annotated[{plain}, "
                f"pydantic.BeforeValidator(_runtime.jsonshape.text_form({t.oid}))]"
            )
        return plain

    def _overridden(self, t: TypeRef, dims: int, path: str) -> str:
        """A value an override types as ``path``, read from JSON as the flat column's
        loader reads it: json/jsonb validated as the user's type (numbers as a plain json
        column gives them), anything else read as its own type, then ``path(value)``."""
        self.mapper.imports.runtime = True
        if json_base(t) is not None:
            return (
                f"typing.Annotated[{path}, pydantic.BeforeValidator(_runtime.jsonshape.plain_json)]"
            )
        inner = self._json_type(t, dims, override=False)
        convert = f"_runtime.jsonshape.converted(pydantic.TypeAdapter({inner}), {path})"
        return f"typing.Annotated[{path}, pydantic.PlainValidator({convert})]"

    def _native(self, c: ColumnIR, owner: str | None = None, *, table: bool = False) -> bool:
        """pydantic reads ``c`` from its JSON exactly as psycopg loads it (numerics too:
        a relation's model takes NaN and infinities).
        ``table``: ``c`` is a field of a table's or view's model, whose json/jsonb fields
        (plain or the user's type) read JSON as a shape's own model's do."""
        if c.shape is not None:
            return False
        if table and json_base(c.type) is not None:
            return True
        if self.mapper.has_override(c.type, _key(c, owner)):
            return False  # the model's field is the user's type
        if table and _base(c.type).name in TEXT_FORM_FIELDS and _base(c.type).kind != "array":
            return True  # the table's model reads the text form as psycopg does
        t = _base(c.type)
        while t.kind == "array" and t.element is not None:
            t = _base(t.element)
        if self.mapper.has_override(t):
            return False
        if t.name == "numeric":
            return True
        if t.kind == "composite":
            key = f"{t.schema}.{t.name}"
            cols = self.composite_columns.get(key)
            return cols is not None and all(self._native(x, key) for x in cols)
        return self._json_type(t, override=False) == self.mapper.map(t).annotation

    def _native_table(self, model: str) -> bool:
        cols = self.table_columns.get(model)
        if cols is None or model not in self.table_classes:
            return False
        if self.field_names(cols, model) != [c.name for c in cols]:
            return False
        table = model not in self.composites
        return all(self._native(c, model, table=table) for c in cols)


def _key(c: ColumnIR, owner: str | None = None) -> str | None:
    """ "schema.table.column" of a table's column, as column overrides name it."""
    table = c.table or owner
    return f"{table}.{c.table_column or c.name}" if table else None


def _base(t: TypeRef) -> TypeRef:
    while t.kind == "domain" and t.base is not None:
        t = t.base
    return t


def _holds(
    shape: ShapeIR, names: tuple[str, ...], composites: dict[str, tuple[ColumnIR, ...]]
) -> bool:
    """Some value of ``shape`` (nested shapes, arrays and composites' fields included) is
    of one of these types."""
    return _any_of(shape.fields, names, composites, set())


def _any_of(
    cols: tuple[ColumnIR, ...],
    names: tuple[str, ...],
    composites: dict[str, tuple[ColumnIR, ...]],
    seen: set[str],
) -> bool:
    for f in cols:
        if f.shape is not None and _any_of(f.shape.fields, names, composites, seen):
            return True
        t = _base(f.type)
        while t.kind == "array" and t.element is not None:
            t = _base(t.element)
        if t.name in names:
            return True
        key = f"{t.schema}.{t.name}"
        if t.kind == "composite" and key not in seen and key in composites:
            seen.add(key)
            if _any_of(composites[key], names, composites, seen):
                return True
    return False
