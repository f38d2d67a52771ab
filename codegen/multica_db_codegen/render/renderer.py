"""IR → Python source text for every generated file (no formatting, no I/O).

The renderer decides every name once (render/naming.py), builds typed view
objects (render/views.py) and hands them to the templates, which only place
what the views say. It imports nothing from the parse or analyze stages but
the IR.
"""

from __future__ import annotations

import keyword
from collections.abc import Collection
from dataclasses import dataclass, replace
from pathlib import Path, PurePosixPath

import jinja2

from multica_db_codegen.analyze.ir import (
    AnalysisIR,
    ColumnIR,
    FileIR,
    QueryIR,
    TableIR,
    TypeKind,
    TypeRef,
)
from multica_db_codegen.errors import GenerateError
from multica_db_codegen.render import naming
from multica_db_codegen.render.runtime_files import HEADER, runtime_files
from multica_db_codegen.render.settings import Settings
from multica_db_codegen.render.shapes import TEXT_FORM_FIELDS, ShapeRenderer
from multica_db_codegen.render.typemap import (
    FIRST_USER_OID,
    PyType,
    TypeMapper,
    json_base,
    type_expression_names,
    user_defined,
)
from multica_db_codegen.render.views import (
    CodecView,
    Command,
    FieldView,
    MakerView,
    ModelView,
    ParamView,
    QueryView,
    ResultView,
)


def use_bytecode_cache(directory: Path) -> None:
    """Keep compiled templates in ``directory`` (the user's cache, like ``__pycache__``).

    Compiling the templates costs a cold run ~45 ms, as much as rendering every
    file; Jinja keys each entry by the template's source checksum, so an edited
    template is compiled again. No usable directory: compiled every run.
    """
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError:
        return
    _env.bytecode_cache = jinja2.FileSystemBytecodeCache(str(directory))


_env = jinja2.Environment(
    loader=jinja2.PackageLoader("multica_db_codegen.render", "templates"),
    trim_blocks=True,
    lstrip_blocks=True,
    keep_trailing_newline=True,
    undefined=jinja2.StrictUndefined,
    autoescape=False,
)


@dataclass(frozen=True, slots=True)
class Origin:
    """Where a generated top-level name comes from: reported with a generator bug."""

    file: str
    line: int
    query: str


def _docstring(text: str) -> str:
    body = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"').rstrip()
    if body.endswith('"'):
        body += " "
    return body


def _sql_literal(sql: str) -> str:
    if "\\" in sql or '"""' in sql or sql.endswith('"') or "\r" in sql:
        return repr(sql)
    return '"""' + sql + '"""' if "\n" in sql else repr(sql)


#: A column that must not get a loader (the slot of a nested sqlc.embed model).
_NO_CONVERSION = ColumnIR(name="", type=TypeRef(0, "", TypeKind.BASE, "", "text"), nullable=True)


class Renderer:
    """Renders one analysis: a models module and a sync + async module per query file."""

    def __init__(self, ir: AnalysisIR, settings: Settings) -> None:
        self.ir = ir
        self.settings = settings
        # the module being rendered: loader/dumper expressions → their module-level names
        self._hoisted: dict[str, str] = {}
        # what override types bind at the top of a module (``import mypkg.types``)
        self.override_roots = frozenset(
            name.split(".", 1)[0]
            for o in settings.overrides
            for name in type_expression_names(o.python_type) or ()
            if "." in name
        )
        self.reserved = naming.IMPORTED | naming.USED_BUILTINS | self.override_roots
        for new in settings.rename.values():
            if not new.isidentifier() or keyword.iskeyword(new) or new in self.reserved:
                raise GenerateError(
                    f"[tool.multica-db.rename] {new!r} is not a valid Python identifier "
                    "for a class or field",
                    hint="a valid Python identifier that is not a keyword or one of "
                    + ", ".join(sorted(self.reserved)),
                )
        for o in settings.overrides:
            names = type_expression_names(o.python_type)
            if not names or any(
                "." not in n and n not in naming.ALL_BUILTINS and n != "None" for n in names
            ):
                raise GenerateError(
                    f"override python_type {o.python_type!r} is neither a builtin nor a "
                    "dotted path the generated code can import (nor, for a json or jsonb "
                    "column, a type expression of them such as list[mypkg.Item])",
                    hint='name the module too, e.g. python_type = "decimal.Decimal"',
                )
        models = naming.Scope(self.reserved)
        self.enum_classes = {
            f"{e.schema}.{e.name}": self._class_name(models, e.schema, e.name, singularize=False)
            for e in ir.enums
        }
        self.table_classes = {
            f"{t.schema}.{t.name}": self._class_name(models, t.schema, t.name, singularize=True)
            for t in ir.tables
        }
        self.model_classes = frozenset([*self.enum_classes.values(), *self.table_classes.values()])
        # Composite types, and the row types of tables and views that queries use as
        # values (``SELECT a FROM author a``, a function returning ``author``).
        row_types = _composite_refs(ir)
        self.composite_classes = {
            k: v
            for k, v in self.table_classes.items()
            if k in row_types
            or any(f"{t.schema}.{t.name}" == k and t.kind == "composite" for t in ir.tables)
        }
        self.codecs = {
            cls: (
                models.claim(f"decode_{naming.function_base(cls)}"),
                models.claim(f"encode_{naming.function_base(cls)}"),
            )
            for cls in sorted(self.composite_classes.values())
        }
        self._column_types = {
            (f"{t.schema}.{t.name}", c.name): c.type for t in ir.tables for c in t.columns
        }
        # "schema.table.column" → declared dimensions: a parameter stored into a
        # text[][] column is a nested list too
        self._column_dims = {
            f"{t.schema}.{t.name}.{c.name}": c.dims for t in ir.tables for c in t.columns
        }
        self.modules = _module_names(ir.files)
        self._relation_columns = {f"{t.schema}.{t.name}": t.columns for t in ir.tables}
        self._shapes: ShapeRenderer | None = None
        self.origins: dict[str, dict[str, Origin]] = {}

    def _class_name(self, scope: naming.Scope, schema: str, name: str, *, singularize: bool) -> str:
        rename = self.settings.rename
        for key in (f"{schema}.{name}", name):
            if key in rename:
                return scope.claim(rename[key])
        base = naming.camel(naming.singular(name) if singularize else name)
        return scope.claim(base if schema == "public" else naming.camel(schema) + base)

    def _declared(self, c: ColumnIR) -> TypeRef:
        """A table column's declared type (its domain: PostgreSQL describes the base type)."""
        if c.table and c.table_column:
            declared = self._column_types.get((c.table, c.table_column))
            if declared is not None and declared.kind == "domain":
                return declared
        return c.type

    def _py(self, mapper: TypeMapper, c: ColumnIR, owner: str | None) -> PyType:
        """How column ``c`` looks in Python: its type's mapping, or the shape it was built as."""
        if c.shape is not None and self._shapes is not None:
            return self._shapes.column(c)
        return mapper.map(self._declared(c), column=_column_key(c, owner), dims=c.dims)

    def _mapper(self, *, in_models: bool) -> TypeMapper:
        return TypeMapper(
            enum_classes=self.enum_classes,
            composite_classes=self.composite_classes,
            codecs=self.codecs,
            overrides=self.settings.overrides,
            in_models=in_models,
        )

    # --- files --------------------------------------------------------------------------
    def render(
        self, only: Collection[str] | None = None, *, package: bool = True
    ) -> dict[str, str]:
        """Relative path (POSIX) → source text, for every generated file.

        ``only``: the paths (``FileIR.path``) of the query files whose modules to
        render. Every file of the IR still shapes the output (a row type any query uses
        is decoded in models.py), so an incremental run passes the whole IR and renders
        only what changed. ``package``: also the models, package and runtime modules
        (an incremental run that has them already leaves them out).
        """
        files: dict[str, str] = {}
        if package:
            files["models.py"] = self.models()
            init = _env.get_template("package_init.py.j2")
            files["queries/__init__.py"] = init.render(
                doc="Generated query modules: one per query file (synchronous)."
            )
            files["queries/aio/__init__.py"] = init.render(
                doc="Generated query modules: one per query file (asyncio)."
            )
        for f in self.ir.files:
            if only is not None and f.path not in only:
                continue
            module = self.modules[f.path]
            sync, aio = self.query_module(f, module)
            files[f"queries/{module}.py"] = sync
            files[f"queries/aio/{module}.py"] = aio
        if package:
            files.update(runtime_files())  # the same for every package (render/runtime_files.py)
        return files

    def models(self) -> str:
        mapper = self._mapper(in_models=True)
        enums = [
            {
                "class_name": self.enum_classes[f"{e.schema}.{e.name}"],
                "pg_name": f"{e.schema}.{e.name}" if e.schema != "public" else e.name,
                "members": list(
                    zip(naming.enum_members(e.labels), [repr(x) for x in e.labels], strict=True)
                ),
            }
            for e in sorted(self.ir.enums, key=lambda e: self.enum_classes[f"{e.schema}.{e.name}"])
        ]
        tables = sorted(self.ir.tables, key=lambda t: self.table_classes[f"{t.schema}.{t.name}"])
        models = [
            ModelView(
                self.table_classes[f"{t.schema}.{t.name}"],
                f"A row of the {t.kind} ``{t.schema}.{t.name}``.",
                self._fields(
                    mapper,
                    t.columns,
                    owner=f"{t.schema}.{t.name}",
                    json_ready=t.kind != "composite",
                    relation=True,
                ),
            )
            for t in tables
        ]
        codecs: list[CodecView] = []
        for t in tables:
            cls = self.composite_classes.get(f"{t.schema}.{t.name}")
            if cls is None:
                continue
            names = tuple(self._field_names(t.columns, f"{t.schema}.{t.name}"))
            decoders = [
                (i, conv)
                for i, c in enumerate(t.columns)
                if (conv := mapper.text_decoder(c.type)) is not None
            ]
            encoders = [
                (i, enc)
                for i, c in enumerate(t.columns)
                if (enc := mapper.text_encoder(c.type, c.dims)) is not None
            ]
            decode, encode = self.codecs[cls]
            nested = tuple(
                sorted(
                    self.composite_classes[k]
                    for c in t.columns
                    for k in _nested_composites(c.type)
                    if k in self.composite_classes
                )
            )
            codecs.append(CodecView(decode, cls, names, decoders, "composite_decoder", nested))
            codecs.append(
                CodecView(encode, "", names, encoders, "composite_encoder", nested, encodes=cls)
            )
        if codecs:
            mapper.imports.runtime = True
        return _env.get_template("models.py.j2").render(
            enums=enums,
            models=models,
            codecs=_codec_order(codecs),
            imports=mapper.imports,
            package=self.settings.package,
        )

    def _fields(
        self,
        mapper: TypeMapper,
        columns: tuple[ColumnIR, ...],
        *,
        owner: str | None,
        json_ready: bool = False,
        relation: bool = False,
    ) -> list[FieldView]:
        """``json_ready``: a table's or view's model, which JSON a statement builds
        (``json_agg(t)``) decodes into too: its json/jsonb fields (plain, or the user's
        type) read numbers parsed as ``Decimal`` back as a plain json column gives them.
        ``relation``: a table's, view's or composite's model, whose numerics take NaN and
        infinities as PostgreSQL's do (from JSON, and when the model is made to be sent).
        Rows never run either (they are built without validation)."""
        names = self._field_names(columns, owner)
        out = []
        for name, c in zip(names, columns, strict=True):
            py = self._py(mapper, c, owner)
            annotation = py.annotation
            if relation and _numeric_based(c.type) and "decimal.Decimal" in annotation:
                mapper.imports.modules.update({"pydantic", "typing"})
                annotation = annotation.replace("decimal.Decimal", _ANY_NUMERIC)
            text_oid = _text_form_oid(c.type) if json_ready and py.loader is None else None
            if text_oid is not None:
                # JSON holds PostgreSQL's text form ("1 day 02:00:00"): read it as psycopg does
                mapper.imports.modules.update({"pydantic", "typing"})
                mapper.imports.runtime = True
                annotation = (
                    f"typing.Annotated[{annotation}, pydantic.BeforeValidator("
                    f"_runtime.jsonshape.text_form({text_oid}))]"
                )
            if json_ready and c.shape is None and json_base(c.type) is not None:
                mapper.imports.modules.update({"pydantic", "typing"})
                mapper.imports.runtime = True
                annotation = (
                    f"typing.Annotated[{annotation}, "
                    "pydantic.BeforeValidator(_runtime.jsonshape.plain_json)]"
                )
            annotation = f"{annotation} | None" if c.nullable else annotation
            out.append(FieldView(name, annotation, arbitrary=py.arbitrary))
        return out

    def _field_names(self, columns: tuple[ColumnIR, ...], owner: str | None) -> list[str]:
        rename = self.settings.rename
        scope = naming.field_scope(classes=self.model_classes)
        names = []
        for i, c in enumerate(columns):
            key_table = c.table or owner
            short = key_table.split(".", 1)[-1] if key_table else None
            renamed = next(
                (
                    rename[k]
                    for k in (f"{key_table}.{c.name}", f"{short}.{c.name}", c.name)
                    if k in rename
                ),
                None,
            )
            names.append(scope.claim(renamed or naming.field_base(c.name, i)))
        return names

    def _row_maker(
        self,
        mapper: TypeMapper,
        makers: dict[tuple[object, ...], MakerView],
        cls: str,
        fields: list[str],
        columns: tuple[ColumnIR, ...],
        owner: str | None,
        embeds: list[tuple[int, int, str, bool]] | None = None,
    ) -> str:
        """The module-level maker building ``cls`` from a row (shared by equal shapes)."""
        loaders: list[tuple[int, str]] = []
        for i, c in enumerate(columns):
            conv = self._py(mapper, c, owner).loader
            if conv is not None:
                loaders.append((i, conv))
        key = (cls, tuple(fields), tuple(loaders), tuple(embeds or ()))
        if key not in makers:
            base = naming.function_base(cls.rsplit(".", 1)[-1])
            taken = {m.var for m in makers.values()}
            var, k = f"_make_{base}", 2
            while var in taken:
                var, k = f"_make_{base}_{k}", k + 1
            makers[key] = MakerView(var, cls, tuple(fields), loaders, list(embeds or ()))
        return makers[key].var

    def _embed_row(
        self,
        mapper: TypeMapper,
        makers: dict[tuple[object, ...], MakerView],
        q: QueryIR,
        row_cls: str,
        own_models: list[ModelView],
        scope: naming.Scope,
    ) -> str:
        """A row model nesting each ``sqlc.embed`` block as its table's model (or, for a
        CTE or subquery, as a model of its own)."""
        tables = {f"{t.schema}.{t.name}": t for t in self.ir.tables}
        by_start = {e.start: e for e in q.embeds}
        inside = {i for e in q.embeds for i in range(e.start, e.start + e.width)}
        plain = tuple(c for i, c in enumerate(q.columns) if i not in inside)
        plain_fields = iter(self._fields(mapper, plain, owner=None))
        wanted: list[tuple[str, str, bool]] = []  # (wanted name, annotation, arbitrary)
        slots: list[ColumnIR] = []  # one per model field: what its loader is derived from
        embeds: list[tuple[int, int, str, bool]] = []
        i = 0
        while i < len(q.columns):
            e = by_start.get(i)
            if e is None:
                fv = next(plain_fields)
                wanted.append((fv.name, fv.annotation, fv.arbitrary))
                slots.append(q.columns[i])
                i += 1
                continue
            if e.own_model:
                # a CTE or subquery: a model of its own, with the block's columns
                block = q.columns[e.start : e.start + e.width]
                if len(e.fields_nullable) == len(block):  # the block's own, not the join's
                    block = tuple(
                        replace(c, nullable=n)
                        for c, n in zip(block, e.fields_nullable, strict=True)
                    )
                cls = scope.claim(row_cls.removesuffix("Row") + naming.camel(e.field))
                block_fields = self._fields(mapper, block, owner=None)
                own_models.append(
                    ModelView(cls, f"``sqlc.embed({e.field})`` of ``{q.name}``.", block_fields)
                )
                sub = self._row_maker(
                    mapper, makers, cls, [fl.name for fl in block_fields], block, None
                )
            else:
                table = tables.get(e.model)
                if table is None:
                    raise GenerateError(f"query {q.name}: sqlc.embed of unknown relation {e.model}")
                cls = mapper.model_ref(self.table_classes[e.model])
                sub = self._row_maker(
                    mapper,
                    makers,
                    cls,
                    self._field_names(table.columns, e.model),
                    table.columns,
                    e.model,
                )
            embeds.append((e.start, e.width, sub, e.nullable))
            name = naming.field_base(naming.singular(e.field), i)
            wanted.append((name, f"{cls} | None" if e.nullable else cls, False))
            slots.append(_NO_CONVERSION)
            i += e.width
        scope = naming.field_scope(classes=self.model_classes)
        fields = [FieldView(scope.claim(n), a, arb) for n, a, arb in wanted]
        own_models.append(ModelView(row_cls, f"A row of ``{q.name}``.", fields))
        return self._row_maker(
            mapper, makers, row_cls, [f.name for f in fields], tuple(slots), None, embeds=embeds
        )

    def query_module(self, f: FileIR, module: str) -> tuple[str, str]:
        scope = naming.Scope(self.reserved)
        names = []
        for q in f.queries:
            if q.error is not None:
                raise GenerateError(f"{q.file}:{q.line}: query {q.name}: {q.error}")
            func = scope.claim(naming.function_base(q.name))
            names.append((func, scope.claim(func.upper())))
        own_models: list[ModelView] = []
        makers: dict[tuple[object, ...], MakerView] = {}
        self._hoisted = {}
        queries: list[QueryView] = []
        mapper = self._mapper(in_models=False)
        origins: dict[str, Origin] = {}
        for q, (func, const) in zip(f.queries, names, strict=True):
            before = len(own_models)
            try:
                view = self._one_query(q, func, const, scope, mapper, own_models, makers)
            except GenerateError as exc:
                if exc.location is not None or exc.query is not None:
                    raise
                raise GenerateError(
                    exc.message, where=f"{q.file}:{q.line}", query=q.name, hint=exc.hint
                ) from None
            queries.append(view)
            origin = Origin(q.file, q.line, q.name)
            for name in (
                func,
                const,
                view.copy_const,
                *(m.class_name for m in own_models[before:]),
            ):
                if name:
                    origins[name] = origin
        self.origins[f"queries/{module}.py"] = origins
        self.origins[f"queries/aio/{module}.py"] = origins
        sync_exports = sorted(
            [q.const for q in queries]
            + [q.copy_const for q in queries if q.copy_const]
            + [m.class_name for m in own_models]
        ) + sorted([m.var for m in makers.values()] + list(self._hoisted.values()))
        source = _display_path(f.path, self.settings.root)
        imports = mapper.imports
        common = {
            "source": source,
            "module": module,
            "package": self.settings.package,
            "queries": queries,
            "imports": imports,
            "needs_iterator": any(q.cmd == Command.ITER for q in queries),
            "needs_iterable": any(q.cmd.takes_sets for q in queries),
            "needs_typing": bool(queries),
        }
        template = _env.get_template("queries.py.j2")
        sync = template.render(
            **common,
            is_async=False,
            module_doc=f"Queries of {source} for psycopg.Connection.",
            own_models=own_models,
            makers=list(makers.values()),
            hoisted=[(name, expr) for expr, name in self._hoisted.items()],
            needs_named_tuple=any(m.named_tuple for m in own_models),
            needs_pydantic=any(not m.named_tuple for m in own_models),
            runtime=imports.runtime or bool(makers) or any(q.needs_runtime for q in queries),
            models=imports.models,
            sync_exports=[],
        )
        aio = template.render(
            **common,
            is_async=True,
            module_doc=f"Queries of {source} for psycopg.AsyncConnection.",
            own_models=[],
            makers=[],
            hoisted=[],
            needs_named_tuple=False,
            needs_pydantic=False,
            runtime=any(q.needs_runtime for q in queries),
            models=any(q.uses_models for q in queries),
            sync_exports=sync_exports,
        )
        return sync, aio

    def _hoist(self, expr: str | None, kind: str) -> str | None:
        """A module-level name for a loader or dumper built by a factory call, so that a
        function builds it once at import, not once per row or parameter set."""
        if expr is None:
            return None
        if expr not in self._hoisted:
            self._hoisted[expr] = f"_{kind}_{len(self._hoisted) + 1}"
        return self._hoisted[expr]

    def _result(
        self,
        q: QueryIR,
        cmd: Command,
        row_cls: str,
        mapper: TypeMapper,
        own_models: list[ModelView],
        makers: dict[tuple[object, ...], MakerView],
        scope: naming.Scope,
    ) -> ResultView | None:
        if not cmd.reads_rows or not q.columns:
            return None
        if q.embeds:
            return ResultView(
                row_cls, maker=self._embed_row(mapper, makers, q, row_cls, own_models, scope)
            )
        single = (len(q.columns) == 1 and q.table_model is None) or cmd == Command.EXECLASTID
        # A nullable single column of a command that may find no row would make "no row"
        # and "NULL" one None: it gets a one-field row model instead (see README).
        ambiguous = cmd in (Command.ONE, Command.BATCHONE) and not q.row_guaranteed
        if single and not (q.columns[0].nullable and ambiguous and cmd != Command.EXECLASTID):
            c = q.columns[0]
            py = self._py(mapper, c, None)
            annotation = f"{py.annotation} | None" if c.nullable else py.annotation
            loader = self._hoist(py.loader, "load") if py.loader_call else py.loader
            return ResultView(annotation, loader=loader, nullable=c.nullable)
        if q.table_model is not None:
            cls = mapper.model_ref(self.table_classes[q.table_model])
            fields = self._field_names(q.columns, q.table_model)
        else:
            cls = row_cls
            model_fields = self._fields(mapper, q.columns, owner=None)
            own_models.append(ModelView(cls, f"A row of ``{q.name}``.", model_fields))
            fields = [fl.name for fl in model_fields]
        maker = self._row_maker(mapper, makers, cls, fields, q.columns, q.table_model)
        return ResultView(cls, maker=maker)

    def _one_query(
        self,
        q: QueryIR,
        func: str,
        const: str,
        scope: naming.Scope,
        mapper: TypeMapper,
        own_models: list[ModelView],
        makers: dict[tuple[object, ...], MakerView],
    ) -> QueryView:
        cmd = Command(q.cmd)
        stem = q.name if q.name.isidentifier() and q.name[:1].isupper() else naming.camel(func)
        body = mapper.child()  # records what this function's body refers to
        # JSON the statement builds is decoded from its text: the cursor hands json over
        # as it came, and the query's other json values are parsed by the maker
        raw_json = any(c.shape is not None for c in q.columns)
        body.raw_json = raw_json
        self._shapes = ShapeRenderer(
            mapper=body,
            scope=scope,
            stem=stem,
            own_models=own_models,
            table_classes=self.table_classes,
            table_columns=self._relation_columns,
            field_names=self._field_names,
            model_classes=self.model_classes,
            composite_columns=self._relation_columns,
            composites=frozenset(
                f"{t.schema}.{t.name}" for t in self.ir.tables if t.kind == "composite"
            ),
        )
        row_cls = scope.claim(f"{stem}Row") if cmd.reads_rows and q.columns else ""
        result = self._result(q, cmd, row_cls, body, own_models, makers, scope)
        self._shapes = None
        locals_ = naming.Scope(self.reserved | naming.LOCALS | naming.AMBIGUOUS)
        params_class = scope.claim(f"{stem}Params") if cmd.takes_sets else ""
        params = []
        for i, p in enumerate(q.params):
            dims = max(p.dims, self._column_dims.get(p.column or "", 1))
            py = body.map(p.type, element_nullable=False, column=p.column, dims=dims)
            annotation = f"{py.annotation} | None" if p.nullable else py.annotation
            name = locals_.claim(naming.identifier(p.name, fallback=f"p{p.number}"))
            # Only sqlc.narg parameters may be left out: a parameter that is nullable because
            # its column is (owner_id) must still be passed, so forgetting it is a type error.
            dumper = self._hoist(py.dumper, "dump") if py.dumper_call else py.dumper
            typed = None
            # (int2vector is an array PostgreSQL writes as '1 2': a str here, sent as it is)
            listed = py.annotation.startswith("list[")
            if dumper is None and py.loader is None and listed and _number_array(p.type):
                body.imports.runtime = True
                typed = self._hoist(f"_runtime.pgtext.number_array({dims})", "dump")
            params.append(
                ParamView(name, annotation, i, dumper, p.nullable, p.optional, py.sends_text, typed)
            )
        view = QueryView(
            name=q.name,
            func=func,
            const=const,
            cmd=cmd,
            doc=_docstring(_doc(q)),
            sql_literal=_sql_literal(_annotated_sql(q)),
            params=params,
            result=result,
            guaranteed=q.row_guaranteed,
            params_class=params_class,
            raw_json=raw_json,
        )
        if cmd.takes_sets:
            fields = naming.fields(
                [p.name for p in params], named_tuple=True, classes=self.model_classes
            )
            own_models.append(
                ModelView(
                    params_class,
                    f"One parameter set of ``{q.name}``.",
                    [FieldView(n, p.annotation) for n, p in zip(fields, params, strict=True)],
                    named_tuple=True,
                )
            )
        if cmd == Command.COPYFROM:
            self._copy(q, view, scope)
        view.uses_runtime = body.imports.runtime
        view.uses_models = body.imports.models
        mapper.imports.merge(body.imports)
        return view

    def _copy(self, q: QueryIR, view: QueryView, scope: naming.Scope) -> None:
        """COPY … FROM STDIN: binary with the described types when psycopg knows them all."""
        target = q.copy
        if target is None:
            raise GenerateError(f"query {q.name}: :copyfrom without its COPY target in the IR")
        binary = all(not user_defined(p.type) for p in q.params) and not any(
            p.sends_text for p in view.params
        )
        cols = ", ".join(_quote_ident(c) for c in target.columns)
        # the COPY is what the server sees: it keeps the query's name line too
        view.copy_sql = (
            f"-- name: {q.name} :{q.cmd}\nCOPY {target.relation} ({cols}) FROM STDIN"
            + (" (FORMAT BINARY)" if binary else "")
        )
        view.copy_const = scope.claim(f"{view.const}_COPY")
        index = {p.number: i for i, p in enumerate(q.params)}
        view.copy_order = tuple(index[n] for n in target.param_numbers)
        if binary:
            view.copy_types = repr([_builtin_oid(q.params[i].type) for i in view.copy_order])


def _annotated_sql(q: QueryIR) -> str:
    """The SQL sent, headed by its ``-- name: X :cmd`` line, as sqlc keeps it.

    ``pg_stat_statements``, ``log_min_duration_statement`` and ``pg_stat_activity`` show
    the statement's text: the line leads from what the server saw back to the function.
    """
    return f"-- name: {q.name} :{q.cmd}\n{q.sql}"


def _doc(q: QueryIR) -> str:
    doc = "\n    ".join(q.doc) if q.doc else f"Run ``{q.name}`` (:{q.cmd})."
    if len(q.doc) > 1:
        doc += "\n    "
    return doc


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _module_names(files: tuple[FileIR, ...]) -> dict[str, str]:
    """Each query file's module name: the analysis's choice (distinct per package, files with
    one base name in two folders apart), kept clear of the ``aio`` package, keywords and
    names that differ only in case (one file on a case-insensitive file system)."""
    scope = naming.Scope(naming.MODULE_RESERVED, casefold=True)
    return {
        f.path: scope.claim(naming.module_base(f.module or PurePosixPath(f.path).stem))
        for f in files
    }


def _composite_refs(ir: AnalysisIR) -> set[str]:
    """``schema.name`` of every composite type a query or a model holds as a value."""
    found: set[str] = set()

    def visit(t: TypeRef | None) -> None:
        if t is None:
            return
        if t.kind == "composite":
            found.add(f"{t.schema}.{t.name}")
        visit(t.element)
        visit(t.base)

    for f in ir.files:
        for q in f.queries:
            for c in q.columns:
                visit(c.type)
            for p in q.params:
                visit(p.type)
    for table in ir.tables:
        for c in table.columns:
            visit(c.type)
    return found


def _codec_order(codecs: list[CodecView]) -> list[CodecView]:
    """Composite codecs after the codecs of the composites nested in them."""
    encoders = {d.encodes: d for d in codecs if not d.cls}
    decoders = {d.cls: d for d in codecs if d.cls}
    done: dict[str, CodecView] = {}

    def visit(d: CodecView) -> None:
        if d.var in done:
            return
        done[d.var] = d  # composites cannot nest themselves, so no cycle
        for cls in d.nested:
            other = decoders.get(cls) if d.cls else encoders.get(cls)
            if other is not None and other is not d:
                visit(other)
        done.pop(d.var)
        done[d.var] = d

    for d in codecs:
        visit(d)
    return list(done.values())


def _nested_composites(t: TypeRef) -> set[str]:
    """``schema.name`` of the composites a value of ``t`` holds (through arrays, domains)."""
    found: set[str] = set()
    stack: list[TypeRef | None] = [t]
    while stack:
        x = stack.pop()
        if x is None:
            continue
        if x.kind == "composite":
            found.add(f"{x.schema}.{x.name}")
        stack.extend((x.element, x.base))
    return found


def _builtin_oid(t: TypeRef) -> int:
    while t.kind == "domain" and t.base is not None:
        t = t.base
    return t.oid


def _display_path(path: str, root: str | None) -> str:
    """The source path relative to the project root: generated text must not vary by clone."""
    p = PurePosixPath(Path(path).resolve().as_posix())
    if root is not None:
        try:
            return p.relative_to(PurePosixPath(Path(root).resolve().as_posix())).as_posix()
        except ValueError:
            pass
    return PurePosixPath(path).name


def _column_key(c: ColumnIR, owner: str | None) -> str | None:
    table = c.table or owner
    if table is None:
        return None
    return f"{table}.{c.table_column or c.name}"


def render(ir: AnalysisIR, settings: Settings) -> dict[str, str]:
    """Every generated file's text, keyed by its path relative to the output directory."""
    return Renderer(ir, settings).render()


def render_with_origins(
    ir: AnalysisIR, settings: Settings
) -> tuple[dict[str, str], dict[str, dict[str, Origin]]]:
    """:func:`render`, plus which query each top-level name of each module comes from."""
    r = Renderer(ir, settings)
    return r.render(), r.origins


__all__ = ["HEADER", "Origin", "Renderer", "Settings", "TableIR", "render", "render_with_origins"]


#: Built-in numbers psycopg types by a Python value's size or kind (an int as
#: smallint, integer, bigint or numeric; a float as double precision)
_PSYCOPG_TYPED_NUMBERS = frozenset({"int2", "int4", "int8", "float4", "float8"})


def _number_array(t: TypeRef) -> bool:
    """An array of built-in numbers: psycopg would send a list of ints as ``smallint[]``,
    which PostgreSQL will not compare with an ``integer[]``."""
    while t.kind == "domain" and t.base is not None:
        t = t.base
    if t.kind != "array" or t.element is None:
        return False
    e: TypeRef | None = t.element
    while e is not None and e.kind in ("domain", "array"):
        e = e.base if e.kind == "domain" else e.element
    return e is not None and e.oid < FIRST_USER_OID and e.name in _PSYCOPG_TYPED_NUMBERS


#: a model's numeric field: pydantic refuses NaN and infinities, which PostgreSQL's
#: numeric has (and psycopg loads); a row is built without validation, JSON is not
_ANY_NUMERIC = "typing.Annotated[decimal.Decimal, pydantic.AllowInfNan(True)]"


def _numeric_based(t: TypeRef) -> bool:
    """``t`` is numeric, or an array or domain of it."""
    e: TypeRef | None = t
    while e is not None and e.kind in ("domain", "array"):
        e = e.base if e.kind == "domain" else e.element
    return e is not None and e.name == "numeric" and e.oid < FIRST_USER_OID


def _text_form_oid(t: TypeRef) -> int | None:
    """The OID of ``t`` (or of its domain's base) when it is one of TEXT_FORM_FIELDS."""
    while t.kind == "domain" and t.base is not None:
        t = t.base
    ok = t.kind != "array" and t.name in TEXT_FORM_FIELDS and t.oid < FIRST_USER_OID
    return t.oid if ok else None
