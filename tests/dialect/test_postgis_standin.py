"""The PostGIS stand-in, on a server without PostGIS (the test server has none).

A schema creating PostGIS, with ``geometry``/``geography`` columns with and without type
modifiers and GiST indexes, loads; queries using PostGIS's common functions and operators
generate, pass mypy --strict and ruff, and are typed as with PostGIS: its functions'
result types, parameters typed from their argument types. The type modifiers are read
as PostGIS reads them (a property test over their spellings), and on a server that has
PostGIS every stand-in has the real extension's signature.
"""

from __future__ import annotations

import secrets
import typing
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg.conninfo import make_conninfo

from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.analyze.standin_postgis import (
    GEOGRAPHY_DEFAULT_SRID,
    GEOMETRY_KINDS,
    SRID_MAXIMUM,
    SRID_USER_MAXIMUM,
)
from multica_db_codegen.analyze.standins import standin_sql
from multica_db_codegen.processors import run_generate
from tests.dialect.harness import Generated, generate, write_project
from tests.pg import fresh_database, has_extensions

SCHEMA = """
CREATE EXTENSION IF NOT EXISTS postgis;
CREATE TABLE places (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    geom geometry(Point, 4326) NOT NULL,
    area geometry(MultiPolygon,4326),
    loc geography(POINT),
    anything geometry,
    lng double precision,
    lat double precision,
    pos geography(Point, 4326)
        GENERATED ALWAYS AS (ST_SetSRID(ST_MakePoint(lng, lat), 4326)::geography) STORED
);
CREATE INDEX places_geom ON places USING gist (geom);
CREATE INDEX places_loc ON places USING GIST (loc);
"""

QUERIES = """
-- name: CreatePlace :one
INSERT INTO places (name, geom, loc)
VALUES (sqlc.arg(name), ST_SetSRID(ST_MakePoint(sqlc.arg(x), sqlc.arg(y)), sqlc.arg(srid)),
        ST_GeogFromText(sqlc.arg(wkt)))
RETURNING id, ST_AsText(geom) AS wkt, ST_X(geom) AS x, ST_Y(geom) AS y;

-- name: InsertRaw :exec
INSERT INTO places (name, geom) VALUES ($1, $2);

-- name: Nearby :many
SELECT id, name, geom, anything,
       ST_Distance(loc, ST_MakePoint(sqlc.arg(lng), sqlc.arg(lat))::geography) AS meters
FROM places
WHERE ST_DWithin(loc, ST_MakePoint(sqlc.arg(lng), sqlc.arg(lat))::geography, sqlc.arg(radius))
ORDER BY geom <-> ST_SetSRID(ST_Point(sqlc.arg(lng), sqlc.arg(lat)), 4326)
LIMIT sqlc.arg(max);

-- name: InBox :many
SELECT id, ST_AsGeoJSON(geom) AS geojson, ST_AsBinary(geom) AS wkb, ST_AsEWKB(geom) AS ewkb
FROM places
WHERE geom && ST_MakeEnvelope(sqlc.arg(x1), sqlc.arg(y1), sqlc.arg(x2), sqlc.arg(y2), 4326)
  AND ST_Within(geom, ST_MakeEnvelope(sqlc.arg(x1), sqlc.arg(y1), sqlc.arg(x2), sqlc.arg(y2)));

-- name: Containing :many
SELECT id, ST_Area(area) AS area, ST_Area(area::geography) AS m2,
       ST_Length(ST_Transform(area, 3857)) AS len
FROM places
WHERE ST_Contains(area, ST_GeomFromText(sqlc.arg(wkt), 4326))
   OR ST_Intersects(area, ST_Buffer(geom, sqlc.arg(margin)));

-- name: FromGeoJSON :one
SELECT ST_GeomFromGeoJSON(sqlc.arg(doc))::geography AS g, pos,
       ST_Transform(ST_GeomFromGeoJSON(sqlc.arg(doc)), 3857) AS t
FROM places LIMIT 1;

-- name: Summary :one
SELECT ST_Extent(geom)::text AS extent, ST_Union(area) AS merged, count(DISTINCT geom) AS n
FROM places;

-- name: EchoGeometries :one
SELECT sqlc.arg(geoms)::geometry[] AS geoms, sqlc.arg(geogs)::geography[] AS geogs;
"""


@pytest.fixture(scope="module")
def without_postgis(pg_server: str) -> str:
    with psycopg.connect(pg_server, autocommit=True) as conn:
        has = conn.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'postgis'")
        if has.fetchone():
            pytest.skip("the test server has PostGIS: the stand-in is not used")
    return pg_server


@pytest.fixture(scope="module")
def generated(
    tmp_path_factory: pytest.TempPathFactory, without_postgis: str
) -> tuple[Generated, tuple[str, ...]]:
    root = tmp_path_factory.mktemp("postgis")
    write_project(
        root, schema={"schema.sql": SCHEMA}, queries={"q.sql": QUERIES}, package="gis_standin"
    )
    result = run_generate(cwd=root, database_url=without_postgis)
    return generate(root, without_postgis, "gis_standin"), result.warnings


def test_the_schema_loads_with_a_warning_for_the_stand_in_and_each_gist_index(
    generated: tuple[Generated, tuple[str, ...]],
) -> None:
    _, warnings = generated
    assert any("CREATE EXTENSION postgis" in w and "stand-ins" in w for w in warnings), warnings
    skipped = [w for w in warnings if 'access method "gist"' in w]
    assert [w.split(".sql:", 1)[1].split(":", 1)[0] for w in skipped] == ["15", "16"]
    assert not any("statement skipped (it needs postgis)" in w for w in warnings), warnings


def test_queries_type_as_with_postgis(generated: tuple[Generated, tuple[str, ...]]) -> None:
    gen, _ = generated
    q = gen.module("queries.q")
    hints = typing.get_type_hints
    params = {k: v for k, v in hints(q.create_place).items() if k not in ("conn", "return")}
    assert params == {"name": str, "x": float, "y": float, "srid": int, "wkt": str}
    assert hints(q.CreatePlaceRow) == {
        "id": int,
        "wkt": str | None,
        "x": float | None,
        "y": float | None,
    }
    assert hints(q.insert_raw)["geom"] is str  # a geometry: its text form, as psycopg loads it
    params = {k: v for k, v in hints(q.nearby).items() if k not in ("conn", "return")}
    assert params == {"lng": float, "lat": float, "radius": float, "max": int}
    assert hints(q.NearbyRow) == {
        "id": int,
        "name": str,
        "geom": str,
        "anything": str | None,
        "meters": float | None,
    }
    params = {k: v for k, v in hints(q.in_box).items() if k not in ("conn", "return")}
    assert params == {"x1": float, "y1": float, "x2": float, "y2": float}
    assert hints(q.InBoxRow) == {
        "id": int,
        "geojson": str | None,
        "wkb": bytes | None,
        "ewkb": bytes | None,
    }
    params = {k: v for k, v in hints(q.containing).items() if k not in ("conn", "return")}
    assert params == {"wkt": str, "margin": float}
    assert hints(q.ContainingRow) == {
        "id": int,
        "area": float | None,
        "m2": float | None,
        "len": float | None,
    }
    assert hints(q.from_geo_json)["doc"] is str
    assert hints(q.FromGeoJSONRow) == {"g": str | None, "pos": str | None, "t": str | None}
    assert hints(q.SummaryRow) == {"extent": str | None, "merged": str | None, "n": int}
    gen.mypy()
    gen.ruff()


def test_the_warnings_name_geometry_and_geography_as_text_form_types(
    generated: tuple[Generated, tuple[str, ...]],
) -> None:
    _, warnings = generated
    text_form = {
        w.split("PostgreSQL type ", 1)[1].split(" ", 1)[0]
        for w in warnings
        if "has no Python type of its own" in w
    }
    assert text_form == {"geometry", "geography"}


@pytest.fixture(scope="module")
def standin_db(without_postgis: str) -> Iterator[psycopg.Connection[tuple[object, ...]]]:
    with (
        fresh_database(without_postgis, prefix="multica_postgis") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        conn.execute(standin_sql("postgis", None).encode())
        yield conn


#: Two points as PostGIS writes them (hex EWKB), and texts holding the other delimiters
GEOMETRIES = [
    "0101000020E6100000000000000000F03F0000000000000040",
    None,
    "0101000000000000000000084000000000000010C0",
    "a,b;c",
    "",
]


def test_geometry_arrays_are_delimited_by_colons(
    generated: tuple[Generated, tuple[str, ...]],
    standin_db: psycopg.Connection[tuple[object, ...]],
) -> None:
    """PostGIS declares ``DELIMITER = ':'`` for geometry and geography, as the stand-in
    does: ``{0101…:0101…}``. Generated code reads and sends them so."""
    delimiters = standin_db.execute(
        "SELECT typname, typdelim::text FROM pg_type "
        "WHERE typname IN ('geometry', 'geography', '_geometry', '_geography') ORDER BY 1"
    ).fetchall()
    assert delimiters == [
        ("_geography", ":"),
        ("_geometry", ":"),
        ("geography", ":"),
        ("geometry", ":"),
    ]
    written = standin_db.execute(
        "SELECT ARRAY[%s::geometry, NULL, %s]::text", (GEOMETRIES[0], GEOMETRIES[2])
    ).fetchone()
    assert written == (f"{{{GEOMETRIES[0]}:NULL:{GEOMETRIES[2]}}}",)
    gen, _ = generated
    q = gen.module("queries.q")
    got = q.echo_geometries(standin_db, geoms=GEOMETRIES, geogs=GEOMETRIES[:2])
    assert (got.geoms, got.geogs) == (GEOMETRIES, GEOMETRIES[:2])
    assert q.echo_geometries(standin_db, geoms=[], geogs=[]).geoms == []


def _typmod(text: str) -> tuple[str, int] | None:
    """PostGIS's reading of one type name modifier: (error, 0) or None for the name, else
    its bits (type << 2 | Z << 1 | M)."""
    kind = text.strip(" ").translate(
        str.maketrans("abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ")
    )
    for dims in ("", "Z", "M", "ZM"):
        base = kind[: len(kind) - len(dims)] if dims else kind
        if kind.endswith(dims) and base in GEOMETRY_KINDS:
            return ("", GEOMETRY_KINDS.index(base) << 2 | ("Z" in dims) << 1 | ("M" in dims))
    return None


def expected(type_name: str, mods: list[str]) -> tuple[str, int]:
    """(SQLSTATE, "") of PostGIS's refusal, or ("", typmod): the facts of its typmod_in."""
    bits = _typmod(mods[0])
    if bits is None:
        return ("22023", 0)
    srid = GEOGRAPHY_DEFAULT_SRID if type_name == "geography" else 0
    if len(mods) >= 2:
        written = mods[1].lstrip(" \t\n\v\f\r")
        digits = written.lstrip("+-")
        if not digits.isascii() or not digits.isdigit() or len(written) - len(digits) > 1:
            return ("22P02", 0)
        value = int(written)
        if not -(2**31) <= value < 2**31:
            return ("22003", 0)
        if value > SRID_MAXIMUM:
            value = SRID_USER_MAXIMUM + 1 + value % (SRID_MAXIMUM - SRID_USER_MAXIMUM - 1)
        if value > 0:
            srid = value
    return ("", (srid & 0x1FFFFF) << 8 | bits[1])


def _spelled(kind: str, case: list[bool]) -> str:
    lows = (case + [False] * len(kind))[: len(kind)]
    return "".join(c.lower() if low else c for c, low in zip(kind, lows, strict=True))


type_names = st.builds(
    lambda kind, dims, case, left, right: " " * left + _spelled(kind + dims, case) + " " * right,
    st.sampled_from(GEOMETRY_KINDS),
    st.sampled_from(["", "Z", "M", "ZM", "MZ", "ZZ"]),
    st.lists(st.booleans(), max_size=24),
    st.integers(0, 2),
    st.integers(0, 2),
) | st.sampled_from(["", "PONT", "POINT Z", "Point\t", "pöint", "GEOGRAPHY", "NURBS"])
srids = st.one_of(
    st.integers(-(2**31), 2**31 - 1).map(str),
    st.sampled_from(
        [
            "4326",
            "0",
            "-1",
            "999999",
            "1000000",
            "2147483648",
            "+3857",
            " 4326",
            "4326 ",
            "43x",
            "",
            "--1",
            "0x10",
        ]
    ),
)


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    type_name=st.sampled_from(["geometry", "geography"]),
    mods=st.tuples(type_names, srids, srids).flatmap(
        lambda t: st.sampled_from([[t[0]], [t[0], t[1]], list(t)])
    ),
)
def test_typmods_are_read_as_postgis_reads_them(
    standin_db: psycopg.Connection[tuple[object, ...]], type_name: str, mods: list[str]
) -> None:
    """Every spelling PostGIS takes gives PostGIS's typmod; every other is refused with
    PostGIS's SQLSTATE. Modifiers written as string literals reach typmod_in as written."""
    want = expected(type_name, mods)
    written = ", ".join(_literal(m) for m in mods)
    conn = standin_db
    try:
        with conn.transaction():
            conn.execute(f"CREATE TEMP TABLE t (c {type_name}({written}))".encode())
            row = conn.execute(
                "SELECT atttypmod FROM pg_attribute WHERE attrelid = 't'::regclass "
                "AND attname = 'c'"
            ).fetchone()
            got: tuple[str, int] = ("", int(typing.cast(int, row[0]))) if row else ("?", 0)
            raise _Undo(got)
    except _Undo as undo:
        got = undo.got
    except psycopg.Error as exc:
        got = (exc.diag.sqlstate or "?", 0)
    assert got == want, (type_name, mods)


class _Undo(Exception):
    """Rolls the table back while carrying what was read."""

    def __init__(self, got: tuple[str, int]) -> None:
        self.got = got


@pytest.mark.parametrize(
    ("column", "typmod"),
    [
        ("geometry(Point, 4326)", 4326 << 8 | 1 << 2),
        ("geometry(MultiPolygon,4326)", 4326 << 8 | 6 << 2),
        ("geography(POINT)", 4326 << 8 | 1 << 2),
        ("geography(PointZM, 4269)", 4269 << 8 | 1 << 2 | 3),
        ("geometry(LINESTRINGM)", 2 << 2 | 1),
        ("geometry", -1),
    ],
)
def test_written_modifiers(
    standin_db: psycopg.Connection[tuple[object, ...]], column: str, typmod: int
) -> None:
    """Spellings as schemas write them (identifiers and numbers, not string literals)."""
    with standin_db.transaction(force_rollback=True):
        standin_db.execute(f"CREATE TEMP TABLE w (c {column})".encode())
        row = standin_db.execute(
            "SELECT atttypmod, format_type(atttypid, NULL) FROM pg_attribute "
            "WHERE attrelid = 'w'::regclass AND attname = 'c'"
        ).fetchone()
    assert row == (typmod, column.split("(")[0])


def test_family_extensions_bring_postgis(without_postgis: str, tmp_path: Path) -> None:
    """postgis_raster / postgis_topology require PostGIS: their stand-ins create it too,
    once, whatever the order of the CREATE EXTENSIONs. AddGeometryColumn and
    DropGeometryColumn change the table, as PostGIS's do."""
    (tmp_path / "s.sql").write_text(
        "CREATE EXTENSION postgis_raster;\nCREATE EXTENSION postgis_topology;\n"
        "CREATE EXTENSION IF NOT EXISTS postgis;\n"
        "CREATE TABLE tiles (id int, rast raster, g geometry(Polygon, 3857), "
        "tg topology.topogeometry);\n"
        "SELECT AddGeometryColumn('tiles', 'center', 4326, 'POINT', 3);\n"
        "SELECT AddGeometryColumn('public', 'tiles', 'gone', 4326, 'POINT', 2);\n"
        "SELECT DropGeometryColumn('tiles', 'gone');\n"
    )
    with (
        fresh_database(without_postgis, prefix="multica_postgis") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        apply_schema(conn, load_schema([tmp_path / "s.sql"]))
        cols = conn.execute(
            "SELECT attname, format_type(atttypid, NULL), atttypmod FROM pg_attribute "
            "WHERE attrelid = 'tiles'::regclass AND attnum > 0 AND NOT attisdropped "
            "ORDER BY attnum"
        ).fetchall()
        typed = conn.execute("SELECT pg_typeof(ST_Area(g))::text FROM tiles").fetchone()
    assert cols == [
        ("id", "integer", -1),
        ("rast", "raster", -1),
        ("g", "geometry", 3857 << 8 | 3 << 2),
        ("tg", "topology.topogeometry", -1),
        ("center", "geometry", 4326 << 8 | 1 << 2 | 2),  # AddGeometryColumn, 3 dimensions: Z
    ]
    assert typed is None  # no rows: the query prepared and ran


SIGNATURES = (
    "SELECT p.proname, pg_get_function_identity_arguments(p.oid), "
    "format_type(p.prorettype, NULL), p.prokind FROM pg_proc p "
    "WHERE p.pronamespace = %s::regnamespace"
)


def test_stand_ins_have_the_real_signatures(pg_server: str) -> None:
    """On a server with PostGIS: every stand-in function is one of PostGIS's, with the
    same arguments and result (PostGIS has many more). PostGIS is not part of
    PostgreSQL's contrib: a server without it (CI's included) skips this comparison."""
    if not has_extensions(pg_server, "postgis"):
        pytest.skip("the test server has no postgis extension")
    with (
        fresh_database(pg_server, prefix="multica_standin") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        conn.execute(b"CREATE SCHEMA real_ext; CREATE SCHEMA stand_in")
        conn.execute(b"CREATE EXTENSION postgis WITH SCHEMA real_ext")
        conn.execute(standin_sql("postgis", "stand_in").encode())
        real = {
            (n, a.replace("real_ext.", ""), r.replace("real_ext.", ""), k)
            for n, a, r, k in conn.execute(SIGNATURES, ("real_ext",)).fetchall()
        }
        stand = {
            (n, a.replace("stand_in.", ""), r.replace("stand_in.", ""), k)
            for n, a, r, k in conn.execute(SIGNATURES, ("stand_in",)).fetchall()
        }
    # the I/O functions differ (PostGIS's are C, with their own extra arguments)
    assert {s for s in stand - real if not s[0].endswith(("_in", "_out"))} == set()


def test_without_a_superuser_postgis_is_skipped_as_before(
    without_postgis: str, tmp_path: Path
) -> None:
    """Base types need a superuser: for any other role the stand-in cannot be created, and
    the extension is skipped with a warning saying why. A table using its types is still
    made, as sqlc reads it: text domains stand in for them, without their modifiers, and
    the generated column calling its functions is left out."""
    (tmp_path / "s.sql").write_text(SCHEMA + "CREATE TABLE plain (id int);\n")
    role = f"multica_gis_{secrets.token_hex(4)}"
    with psycopg.connect(without_postgis, autocommit=True) as admin:
        admin.execute(f"CREATE ROLE {role} LOGIN".encode())
    try:
        with fresh_database(without_postgis, prefix="multica_postgis") as url:
            with psycopg.connect(url, autocommit=True) as admin:
                admin.execute(f"ALTER DATABASE {admin.info.dbname} OWNER TO {role}".encode())
            with psycopg.connect(make_conninfo(url, user=role), autocommit=True) as conn:
                notes = apply_schema(conn, load_schema([tmp_path / "s.sql"]))
                tables = conn.execute(
                    "SELECT relname::text FROM pg_class WHERE relname IN ('places', 'plain')"
                ).fetchall()
    finally:
        with psycopg.connect(without_postgis, autocommit=True) as admin:
            admin.execute(f"DROP ROLE {role}".encode())
    assert tables == [("places",), ("plain",)]
    assert any(
        "CREATE EXTENSION postgis skipped: its stand-in could not be created" in n for n in notes
    ), notes
    assert any(
        'type "geometry" does not exist: its extension postgis was skipped' in n
        and "domain over text" in n
        for n in notes
    ), notes
    assert any("type modifiers of the stand-in types left out" in n for n in notes), notes
    assert any("generation expression of pos left out" in n for n in notes), notes
