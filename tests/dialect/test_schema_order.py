"""Schemas PostgreSQL cannot run as written but sqlc reads: what sqlc never evaluates is
left out, with a warning, and the tables queries read still exist.

Dump tools that sort objects by name put a table before the sequence its default calls
or the table its foreign key names; a default may call a function of a newer server
(``uuidv7()``) or of an extension the analyzer's server lacks; a function body may name
a type a later file creates.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.analyze.schema import apply_schema, load_schema
from multica_db_codegen.errors import GenerateError
from tests.pg import fresh_database

Conn = psycopg.Connection[tuple[object, ...]]


@pytest.fixture
def scratch(pg_server: str) -> Iterator[Conn]:
    with (
        fresh_database(pg_server, prefix="multica_order") as url,
        psycopg.connect(url, autocommit=True) as conn,
    ):
        yield conn


def _columns(conn: Conn, table: str) -> list[tuple[object, ...]]:
    """(name, type, not null, has a default) of each column."""
    return conn.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull, atthasdef "
        "FROM pg_attribute WHERE attrelid = %s::regclass AND attnum > 0 ORDER BY attnum",
        (table,),
    ).fetchall()


# A dump sorted by name, as some tools write it: functions, tables, then sequences.
SORTED_DUMP = """\
CREATE FUNCTION booking_state_now(b bigint) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
    s booking_state := 'held';
BEGIN
    RETURN s::text;
END $$;

CREATE TABLE bookings (
    id bigint DEFAULT nextval('bookings_id_seq'::regclass) NOT NULL,
    room_id uuid NOT NULL REFERENCES rooms(id),
    code text NOT NULL,
    created_at timestamptz DEFAULT now() NOT NULL,
    CONSTRAINT bookings_code_key UNIQUE (code)
);

CREATE UNIQUE INDEX bookings_code_key ON public.bookings USING btree (code);

CREATE TABLE rooms (
    id uuid DEFAULT uuid_generate_v9() PRIMARY KEY,
    label text CHECK (is_room_label(label)),
    floor int NOT NULL
);

ALTER TABLE ONLY rooms ALTER COLUMN floor SET DEFAULT next_free_floor();
"""
TYPES = "CREATE TYPE booking_state AS ENUM ('held', 'paid');\n"


def test_a_dump_sorted_by_name_loads_as_sqlc_reads_it(tmp_path: Path, scratch: Conn) -> None:
    (tmp_path / "1_dump.sql").write_text(SORTED_DUMP)
    (tmp_path / "2_types.sql").write_text(TYPES)
    chunks = load_schema([tmp_path / "1_dump.sql", tmp_path / "2_types.sql"])
    notes = apply_schema(scratch, chunks)
    assert _columns(scratch, "bookings") == [
        ("id", "bigint", True, False),
        ("room_id", "uuid", True, False),
        ("code", "text", True, False),
        ("created_at", "timestamp with time zone", True, True),  # a default that works stays
    ]
    assert _columns(scratch, "rooms") == [
        ("id", "uuid", True, False),
        ("label", "text", False, False),
        ("floor", "integer", True, False),
    ]
    dump = tmp_path / "1_dump.sql"
    text = "\n".join(notes)
    assert f"{dump}:8: " in text and "bookings_id_seq" in text and "default of id" in text
    assert "foreign key of room_id" in text
    assert f"{dump}:16: " in text and "an index" in text  # the constraint's index, again
    assert f"{dump}:18: " in text and "uuid_generate_v9" in text
    assert "default of id, check constraint of label left out" in text
    assert f"{dump}:24: " in text and "next_free_floor" in text and "default of floor" in text
    assert len(notes) == 4, notes
    # the function body was not checked when created, and runs once the type exists
    assert scratch.execute("SELECT booking_state_now(1)").fetchone() == ("held",)


def test_a_missing_column_type_stands_in_and_the_default_is_left_out(
    tmp_path: Path, scratch: Conn
) -> None:
    """Whichever PostgreSQL meets first, the type the schema never creates gets its
    stand-in and the default calling a missing function is left out: t is made as
    sqlc reads it."""
    (tmp_path / "s.sql").write_text(
        "CREATE TABLE t (\n  id bigint DEFAULT missing_fn() NOT NULL,\n  v no_such_type\n);\n"
    )
    notes = apply_schema(scratch, load_schema([tmp_path / "s.sql"]))
    assert len(notes) == 2, notes
    assert any(
        'type "no_such_type" does not exist: the schema never creates it' in n for n in notes
    )
    assert any("default of id left out" in n for n in notes)
    cols = scratch.execute(
        "SELECT attname, format_type(atttypid, atttypmod), attnotnull FROM pg_attribute "
        "WHERE attrelid = 't'::regclass AND attnum > 0 ORDER BY attnum"
    ).fetchall()
    assert cols == [("id", "bigint", True), ("v", "no_such_type", False)]


def test_the_error_left_once_the_default_is_out_is_the_one_reported(
    tmp_path: Path, scratch: Conn
) -> None:
    # the default fails first; without it, the exclusion constraint still cannot be made
    (tmp_path / "s.sql").write_text(
        "CREATE TABLE t (\n  id int DEFAULT missing_fn(),\n  r int,\n"
        "  EXCLUDE USING gist (r WITH =)\n);\n"
    )
    with pytest.raises(GenerateError) as err:
        apply_schema(scratch, load_schema([tmp_path / "s.sql"]))
    assert str(err.value).startswith(
        f"{tmp_path / 's.sql'}:1:1: schema error: data type integer has no default operator class"
    )


TYPES_AND_GOOD_DEFAULTS = {
    "integer": "7",
    "text": "'x'",
    "uuid": "'00000000-0000-0000-0000-000000000000'",
    "timestamp with time zone": "now()",
    "boolean": "true",
}


@st.composite
def tables(draw: st.DrawFn) -> list[tuple[str, bool, str, str, bool]]:
    """Columns: (type, not null, default kind, check kind, references a missing table)."""
    return draw(
        st.lists(
            st.tuples(
                st.sampled_from(sorted(TYPES_AND_GOOD_DEFAULTS)),
                st.booleans(),
                st.sampled_from(["", "good", "bad"]),
                st.sampled_from(["", "good", "bad"]),
                st.booleans(),
            ),
            min_size=1,
            max_size=6,
        )
    )


@settings(
    max_examples=12,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(columns=tables(), table_check=st.sampled_from(["", "good", "bad"]))
def test_only_the_failing_parts_are_left_out(
    tmp_path: Path,
    scratch: Conn,
    columns: list[tuple[str, bool, str, str, bool]],
    table_check: str,
) -> None:
    scratch.execute("DROP TABLE IF EXISTS t")
    defs = []
    for i, (typ, notnull, default, check, fk) in enumerate(columns):
        d = f"c{i} {typ}"
        if default == "good":
            d += f" DEFAULT {TYPES_AND_GOOD_DEFAULTS[typ]}"
        elif default == "bad":
            d += f" DEFAULT missing_default_{i}()"
        if notnull:
            d += " NOT NULL"
        if check == "good":
            d += f" CHECK (c{i} IS NOT NULL OR true)"
        elif check == "bad":
            d += f" CHECK (missing_check_{i}(c{i}))"
        if fk:
            d += f" REFERENCES missing_table_{i}(id)"
        defs.append(d)
    if table_check == "good":
        defs.append("CONSTRAINT t_ok CHECK (c0 IS NULL OR true)")
    elif table_check == "bad":
        defs.append("CONSTRAINT t_bad CHECK (missing_table_check(c0))")
    path = tmp_path / "t.sql"
    path.write_text("CREATE TABLE t (\n    " + ",\n    ".join(defs) + "\n);\n")
    notes = apply_schema(scratch, load_schema([path]))

    expected = [
        (f"c{i}", typ, notnull, default == "good")
        for i, (typ, notnull, default, *_) in enumerate(columns)
    ]
    assert _columns(scratch, "t") == expected
    checks = scratch.execute(
        "SELECT count(*) FROM pg_constraint WHERE conrelid = 't'::regclass AND contype = 'c'"
    ).fetchone()
    good_checks = sum(c[3] == "good" for c in columns) + (table_check == "good")
    assert checks == (good_checks,)
    bad_parts = {f"default of c{i}" for i, c in enumerate(columns) if c[2] == "bad"}
    bad_parts |= {f"check constraint of c{i}" for i, c in enumerate(columns) if c[3] == "bad"}
    bad_parts |= {f"foreign key of c{i}" for i, c in enumerate(columns) if c[4]}
    bad_parts |= {"check constraint t_bad"} if table_check == "bad" else set()
    if not bad_parts:
        assert notes == []
        return
    (note,) = notes
    left_out = note.split(": the ", 1)[1].split(" left out", 1)[0].split(", ")
    assert sorted(left_out) == sorted(bad_parts)


#: (type, a default PostgreSQL cannot read for it, one it can)
_DEFAULTS = [
    ("numeric(3, 1)", "'0o0'", "'0.0'"),
    ("timestamptz", "'not a time'", "'2024-01-01'"),
    ("integer", "'x'", "'7'"),
    ("uuid", "'nope'", "'00000000-0000-0000-0000-000000000000'"),
    ("boolean", "'maybe'", "'yes'"),
    ("date", "'2024-13-45'", "'2024-02-29'"),
]


@settings(
    max_examples=15,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(picks=st.lists(st.tuples(st.integers(0, len(_DEFAULTS) - 1), st.booleans()), max_size=6))
def test_a_default_constant_postgresql_cannot_read_is_left_out(
    tmp_path: Path, scratch: Conn, picks: list[tuple[int, bool]]
) -> None:
    """sqlc never reads a default: one whose constant PostgreSQL refuses (a typo such as
    ``numeric DEFAULT '0o0'``) is left out with a warning, the others kept."""
    scratch.execute("DROP TABLE IF EXISTS t")
    cols = ["id int PRIMARY KEY"]
    for i, (which, bad) in enumerate(picks):
        typ, wrong, right = _DEFAULTS[which]
        cols.append(f"c{i} {typ} DEFAULT {wrong if bad else right} NOT NULL")
    path = tmp_path / "s.sql"
    body = ",\n  ".join(cols)
    path.write_text(f"CREATE TABLE t (\n  {body}\n);\n")
    notes = apply_schema(scratch, load_schema([path]))
    kept = scratch.execute(
        "SELECT a.attname FROM pg_attribute a JOIN pg_attrdef d "
        "ON d.adrelid = a.attrelid AND d.adnum = a.attnum WHERE a.attrelid = 't'::regclass"
    ).fetchall()
    assert sorted(str(r[0]) for r in kept) == sorted(
        f"c{i}" for i, (_, bad) in enumerate(picks) if not bad
    )
    out = [f"c{i}" for i, (_, bad) in enumerate(picks) if bad]
    if not out:
        assert notes == []
        return
    (note,) = notes
    assert "left out" in note and all(f"default of {c}" in note for c in out), note
