"""The renderer on hand-built IR: no database, no parser — names, adaptation, shapes.

A few golden files pin the shapes that matter (set ``MULTICA_DB_UPDATE_GOLDEN=1`` to
rewrite them after an intended change, and read the diff).
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path

import pytest

from multica_db_codegen.analyze.ir import (
    AnalysisIR,
    ColumnIR,
    CopyIR,
    EmbedIR,
    EnumIR,
    FileIR,
    ParamIR,
    QueryIR,
    ShapeIR,
    TableIR,
    TypeRef,
)
from multica_db_codegen.render import naming, writer
from multica_db_codegen.render.renderer import Origin, Settings, render, render_with_origins
from multica_db_codegen.render.views import Command, ParamView, QueryView, ResultView

GOLDEN = Path(__file__).parent / "golden"

INT = TypeRef(23, "integer", "base", "pg_catalog", "int4")
TEXT = TypeRef(25, "text", "base", "pg_catalog", "text")
JSONB = TypeRef(3802, "jsonb", "base", "pg_catalog", "jsonb")
JSONB_ARRAY = TypeRef(3807, "jsonb[]", "array", "pg_catalog", "_jsonb", element=JSONB)
MOOD = TypeRef(16400, "mood", "enum", "public", "mood")
ADDRESS = TypeRef(16410, "address", "composite", "public", "address")


def query(name: str, cmd: str, **kw: object) -> QueryIR:
    base: dict[str, object] = {
        "file": "queries/q.sql",
        "line": 1,
        "name": name,
        "cmd": cmd,
        "doc": (),
        "sql": "SELECT 1",
        "statement": "select",
        "params": (),
        "columns": (),
        "table_model": None,
        "row_guaranteed": False,
    }
    base.update(kw)
    return QueryIR(**base)  # type: ignore[arg-type]


def analysis(*queries: QueryIR, tables: tuple[TableIR, ...] = ()) -> AnalysisIR:
    return AnalysisIR(
        files=(FileIR("queries/q.sql", "q", tuple(queries)),),
        tables=tables,
        enums=(EnumIR("public", "mood", ("happy", "Happy", "2nd", "class")),),
    )


def col(name: str, t: TypeRef, nullable: bool = False, table: str | None = None) -> ColumnIR:
    return ColumnIR(name, t, nullable, table=table, table_column=name if table else None)


TABLES = (
    TableIR("public", "base_model", "table", (col("id", INT), col("list", TEXT, True))),
    TableIR("public", "json_value", "table", (col("id", INT), col("doc", JSONB))),
    TableIR("public", "address", "composite", (col("street", TEXT, True),)),
)

SHAPES = analysis(
    query(
        "GetURL",
        "one",
        params=(ParamIR(1, "id", INT, False),),
        columns=(col("id", INT), col("list", TEXT, True)),
        table_model="public.base_model",
        sql="SELECT id, list FROM base_model WHERE id = $1",
    ),
    query("GetUrl", "one", columns=(col("e", JSONB, True),), sql="SELECT e FROM t"),
    query(
        "InsertDocs",
        "batchexec",
        params=(ParamIR(1, "b", JSONB, False), ParamIR(2, "e", JSONB_ARRAY, True)),
        sql="INSERT INTO t (b, e) VALUES ($1, $2)",
        statement="insert",
    ),
    query(
        "CopyAddresses",
        "copyfrom",
        params=(ParamIR(1, "a", ADDRESS, True), ParamIR(2, "class", INT, False)),
        sql="INSERT INTO t (n, a) VALUES ($2, $1)",
        statement="insert",
        copy=CopyIR('"t"', ("n", "a"), (2, 1)),
    ),
    query("Class", "many", params=(ParamIR(1, "conn", MOOD, False),), columns=(col("m", MOOD),)),
    query(
        "ModelsAsJson",
        "many",
        sql="SELECT json_agg(b) AS docs, json_build_object('n', 1, 'tags', …) AS card, "
        "json_object_agg(b.id, b) AS by_key FROM …",
        columns=(
            # a table's row whose field names are not its column names ("list" → list_)
            replace(
                col("docs", JSONB, True),
                shape=ShapeIR(TABLES[0].columns, many=True, model="public.base_model"),
            ),
            replace(
                col("card", JSONB),
                shape=ShapeIR(
                    (
                        col("n", INT),
                        replace(
                            col("tags", JSONB, True),
                            shape=ShapeIR(
                                (col("value", TEXT, True),),
                                many=True,
                                scalar=True,
                                element_nullable=True,
                            ),
                        ),
                    )
                ),
            ),
            # json_object_agg(k, b): a dict of the table's rows (with null values)
            replace(
                col("by_key", JSONB, True),
                shape=ShapeIR(
                    TABLES[0].columns, keyed=True, element_nullable=True, model="public.base_model"
                ),
            ),
        ),
    ),
    query(
        "EmbedCte",
        "many",
        sql="WITH c AS (SELECT 1 AS id, 'x' AS name) SELECT c.id, c.name FROM c",
        columns=(col("id", INT, True), col("name", TEXT, True)),
        embeds=(EmbedIR("c", "", 0, 2, True, own_model=True),),
    ),
    tables=TABLES,
)


def test_names_are_safe_and_distinct() -> None:
    assert naming.identifier("class", fallback="x") == "class_"
    assert naming.identifier("2fa", fallback="x") == "f_2fa"
    assert naming.identifier("__init__", fallback="x") == "init"
    assert naming.identifier("a b-c", fallback="x") == "a_b_c"
    assert naming.identifier("", fallback="column_1") == "column_1"
    scope = naming.Scope({"list", "pydantic"})
    assert [scope.claim(n) for n in ("list", "pydantic", "get_url", "get_url")] == [
        "list_",
        "pydantic_",
        "get_url",
        "get_url_2",
    ]
    folded = naming.Scope(casefold=True)
    assert [folded.claim(n) for n in ("List", "list")] == ["List", "list_2"]
    nfkc = naming.Scope()
    assert [nfkc.claim(n) for n in ("ﬁ", "fi")] == ["ﬁ", "fi_2"]  # Python's identifiers are NFKC
    assert naming.enum_members(["happy", "Happy", "2nd", "class", ""]) == [
        "HAPPY",
        "HAPPY_2",
        "V_2ND",
        "CLASS",
        "VALUE_4",
    ]
    assert naming.fields(["uuid", "model_config", "count", "id"], named_tuple=True) == [
        "uuid_",
        "model_config_",
        "count_",
        "id",
    ]


def test_parameter_adaptation_in_each_path() -> None:
    p = ParamView("e", "list[JsonValue] | None", 1, "_runtime.array_encoder(x)", True, False)
    assert p.call_arg == "None if e is None else _runtime.array_encoder(x)(e)"
    assert p.batch_arg == "None if p[1] is None else _runtime.array_encoder(x)(p[1])"
    assert p.copy_arg == "None if row[1] is None else _runtime.array_encoder(x)(row[1])"
    plain = ParamView("b", "int", 0, None, False, False)
    assert (plain.call_arg, plain.batch_arg, plain.copy_arg) == ("b", "p[0]", "row[0]")


def test_return_annotations_by_command() -> None:
    def returns(cmd: Command, result: ResultView | None, guaranteed: bool = False) -> str:
        q = QueryView("Q", "q", "Q", cmd, "", "''", [], result, guaranteed)
        return q.returns(is_async=False)

    row = ResultView("QRow", maker="_make_q_row")
    nullable = ResultView("int | None", nullable=True)
    assert returns(Command.ONE, row) == "QRow | None"
    assert returns(Command.ONE, nullable, guaranteed=True) == "int | None"
    assert returns(Command.MANY, row) == "list[QRow]"
    assert returns(Command.BATCHONE, row) == "list[QRow | None]"
    assert returns(Command.BATCHONE, nullable) == "list[int | None]"
    assert returns(Command.EXECLASTID, ResultView("int")) == "int | None"
    assert returns(Command.EXECROWS, None) == "int"
    assert returns(Command.EXEC, None) == "None"


def test_tables_named_like_imports_and_folding_queries() -> None:
    files = render(SHAPES, Settings(package="pkg"))
    models = files["models.py"]
    assert "class BaseModel(pydantic.BaseModel):" in models
    assert "class JsonValue(pydantic.BaseModel):" in models
    assert "    list_: str | None" in models
    q = files["queries/q.py"]
    assert "def get_url(" in q and "def get_url_2(" in q
    assert "def class_(" in q and "    conn_: models.Mood," in q
    # one nullable column that may find no row: a row model tells "no row" from NULL
    assert "class GetUrlRow(pydantic.BaseModel):" in q
    # jsonb[] travels as its text form; plain tuples work (parameters by position)
    # (built once per module, not once per parameter set)
    assert "_dump_1 = _runtime.pgtext.array_encoder(_runtime.pgtext.json_text)" in q
    assert "None if p[1] is None else _dump_1(p[1])" in q
    assert "psycopg.types.json.Jsonb(p[0])" in q
    # COPY: columns in the statement's order, text format (a composite's text form)
    assert r'= "-- name: CopyAddresses :copyfrom\nCOPY \"t\" (\"n\", \"a\") FROM STDIN"' in q
    assert "copy.write_row((p" not in q and "row[1]" in q  # "n" is fed by $2


def test_every_module_is_checked_and_a_bug_names_its_query() -> None:
    broken = {"queries/q.py": "X = 1\n\n\ndef get_url():\n    return undefined_name\n"}
    origins = {"queries/q.py": {"get_url": Origin("queries/q.sql", 3, "GetURL")}}
    with pytest.raises(writer.GeneratorBug) as caught:
        writer.format_sources(broken, package="pkg", pyproject=None, origins=origins)
    message = caught.value.message
    assert "queries/q.py:5" in message and "F821" in message
    assert "query GetURL at queries/q.sql:3" in message and "undefined_name" in message
    with pytest.raises(writer.GeneratorBug) as syntax:
        writer.check_compiles({"queries/q.py": "def get_url(:\n"}, origins)
    assert "query GetURL" in syntax.value.message


@pytest.mark.parametrize("name", ["models.py", "queries/q.py", "queries/aio/q.py"])
def test_golden(name: str) -> None:
    files, origins = render_with_origins(SHAPES, Settings(package="pkg"))
    text = writer.format_sources(
        {name: files[name]}, package="pkg", pyproject=None, origins=origins
    )[name]
    golden = GOLDEN / (name.replace("/", "__") + ".txt")  # not linted as the repo's code
    if os.environ.get("MULTICA_DB_UPDATE_GOLDEN") == "1" or not golden.exists():
        golden.write_text(text, encoding="utf-8")
    assert text == golden.read_text(encoding="utf-8")


def test_render_imports_nothing_of_parse_or_analyze_but_the_ir() -> None:
    import ast

    render_dir = Path(writer.__file__).parent
    for path in render_dir.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            else:
                continue
            for name in names:
                stage = name.startswith(("multica_db_codegen.parse", "multica_db_codegen.analyze"))
                assert not stage or name == "multica_db_codegen.analyze.ir", (path.name, name)


BOX = TypeRef(603, "box", "base", "pg_catalog", "box", delimiter=";")
BOX_ARRAY = TypeRef(1020, "box[]", "array", "pg_catalog", "_box", element=BOX, delimiter=";")
GEOM = TypeRef(16500, "geometry", "base", "public", "geometry", delimiter=":")
GEOM_ARRAY = TypeRef(16501, "geometry[]", "array", "public", "_geometry", element=GEOM)


def test_arrays_are_parsed_and_built_with_their_element_delimiter() -> None:
    """The IR's delimiter reaches every runtime call that handles an array's text."""
    ir = analysis(
        query(
            "Shapes",
            "one",
            params=(ParamIR(1, "boxes", BOX_ARRAY, False), ParamIR(2, "geoms", GEOM_ARRAY, False)),
            columns=(col("boxes", BOX_ARRAY), col("geoms", GEOM_ARRAY)),
            sql="SELECT $1::box[] AS boxes, $2::geometry[] AS geoms",
        ),
        query(
            "Grid",
            "one",
            params=(replace(ParamIR(1, "grid", GEOM_ARRAY, False), dims=2),),
            columns=(col("grid", GEOM_ARRAY),),
            sql="SELECT $1::geometry[][] AS grid",
        ),
    )
    text = render(ir, Settings(package="pkg"))["queries/q.py"]
    # box[]: psycopg loads the result (it knows box's ';'), but would send ',' between elements
    assert "_runtime.pgtext.array_encoder(delimiter=';')" in text
    assert "_runtime.pgtext.array_decoder(delimiter=':')" in text
    assert "_runtime.pgtext.array_encoder(delimiter=':')" in text
    assert "_runtime.pgtext.array_encoder(None, 2, delimiter=':')" in text
    assert "array_decoder()" not in text


def test_the_delimiter_survives_the_ir_codec_and_is_left_out_when_default() -> None:
    from multica_db_codegen.analyze import ir_codec

    assert ir_codec.encode(BOX)["delimiter"] == ";"
    assert "delimiter" not in ir_codec.encode(TEXT)
    assert ir_codec.decode(TypeRef, ir_codec.encode(BOX_ARRAY)) == BOX_ARRAY
