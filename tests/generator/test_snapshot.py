"""The analysis snapshot on its own: its format, its staleness rules, its errors (no database).

The end-to-end behaviour (``generate`` writes it, ``generate --check`` on a clone with
an unreachable analyzer reads it) is in ``test_offline_check.py``.
"""

from __future__ import annotations

import dataclasses
import json
import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from multica_db_codegen.analyze import migrations
from multica_db_codegen.analyze.ir import (
    AnalysisIR,
    ColumnIR,
    Command,
    EnumIR,
    FileIR,
    ParamIR,
    QueryIR,
    RelationKind,
    StatementKind,
    TableIR,
    TypeKind,
    TypeRef,
)
from multica_db_codegen.analyze.ir_codec import decode, encode
from multica_db_codegen.snapshot import document, fingerprint, jsonfile
from multica_db_codegen.snapshot import files as sfiles

# --- IR strategies ---------------------------------------------------------------------------

names = st.text(string.ascii_lowercase + "_", min_size=1, max_size=8)
texts = st.text(max_size=30)  # any unicode: SQL and comments carry it
oids = st.one_of(st.integers(0, 16383), st.integers(16384, 2**32 - 1))


def type_refs() -> st.SearchStrategy[TypeRef]:
    leaf = st.builds(
        TypeRef,
        oid=oids,
        pg_type=texts,
        kind=st.sampled_from(TypeKind),
        schema=names,
        name=names,
        domain_not_null=st.booleans(),
    )

    def nest(inner: st.SearchStrategy[TypeRef]) -> st.SearchStrategy[TypeRef]:
        return st.builds(
            TypeRef,
            oid=oids,
            pg_type=texts,
            kind=st.sampled_from([TypeKind.ARRAY, TypeKind.DOMAIN, TypeKind.RANGE]),
            schema=names,
            name=names,
            element=st.none() | inner,
            base=st.none() | inner,
        )

    return st.recursive(leaf, nest, max_leaves=4)


columns = st.builds(
    ColumnIR,
    name=names,
    type=type_refs(),
    nullable=st.booleans(),
    table=st.none() | names,
    table_column=st.none() | names,
    dims=st.integers(1, 3),
)
params = st.builds(
    ParamIR,
    number=st.integers(1, 20),
    name=names,
    type=type_refs(),
    nullable=st.booleans(),
    column=st.none() | names,
    optional=st.booleans(),
)


@st.composite
def file_irs(draw: st.DrawFn, path: str = "/clone/queries/users.sql") -> FileIR:
    queries = draw(
        st.lists(
            st.builds(
                QueryIR,
                file=st.just(path),
                line=st.integers(1, 500),
                name=names,
                cmd=st.sampled_from(Command),
                doc=st.lists(texts, max_size=2).map(tuple),
                sql=texts,
                statement=st.sampled_from(StatementKind),
                params=st.lists(params, max_size=3).map(tuple),
                columns=st.lists(columns, max_size=3).map(tuple),
                table_model=st.none() | names,
                row_guaranteed=st.booleans(),
                warnings=st.lists(texts, max_size=2).map(tuple),
                error=st.none() | texts,
            ),
            max_size=3,
        )
    )
    notes = draw(st.lists(texts.map(lambda t: f"{path}:1:1: {t}") | texts, max_size=2))
    return FileIR(path, "", tuple(queries), warnings=tuple(notes))


tables = st.builds(
    TableIR,
    schema=names,
    name=names,
    kind=st.sampled_from(RelationKind),
    columns=st.lists(columns, max_size=3).map(tuple),
)
enums = st.builds(EnumIR, schema=names, name=names, labels=st.lists(texts, max_size=3).map(tuple))


def _user_oids_normalized(value: Any) -> Any:
    """What the snapshot promises to give back: the IR with user-type OIDs at 16384."""
    if isinstance(value, tuple):
        return tuple(_user_oids_normalized(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: _user_oids_normalized(getattr(value, f.name)) for f in dataclasses.fields(value)
        }
        if isinstance(value, TypeRef) and value.oid >= document.USER_OID:
            fields["oid"] = document.USER_OID
        return dataclasses.replace(value, **fields)
    return value


# --- the format ------------------------------------------------------------------------------


@given(file_irs())
@settings(max_examples=150, deadline=None)
def test_a_query_file_round_trips_with_its_clone_path(fir: FileIR) -> None:
    text = document.query_document(fir, "queries/users.sql", {"query": "q"})
    assert "/clone/" not in text  # no machine path is committed
    inputs, back = document.read_query_document(text, "users.sql.json", fir.path)
    assert inputs == {"query": "q"}
    assert back == _user_oids_normalized(fir)
    # read in another clone, the paths are that clone's
    _, moved = document.read_query_document(text, "x", "/other/queries/users.sql")
    assert all(q.file == "/other/queries/users.sql" for q in moved.queries)


@given(file_irs())
@settings(max_examples=100, deadline=None)
def test_the_same_analysis_is_the_same_bytes_whatever_the_oids_of_user_types(
    fir: FileIR,
) -> None:
    shifted = _shift_user_oids(fir, 1000)
    a = document.query_document(fir, "queries/users.sql", {})
    assert a == document.query_document(shifted, "queries/users.sql", {})
    assert a == document.query_document(_user_oids_normalized(fir), "queries/users.sql", {})


def _shift_user_oids(value: Any, by: int) -> Any:
    if isinstance(value, tuple):
        return tuple(_shift_user_oids(v, by) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {
            f.name: _shift_user_oids(getattr(value, f.name), by) for f in dataclasses.fields(value)
        }
        if isinstance(value, TypeRef) and value.oid >= document.USER_OID:
            fields["oid"] = value.oid + by
        return dataclasses.replace(value, **fields)
    return value


@given(st.lists(tables, max_size=3).map(tuple), st.lists(enums, max_size=3).map(tuple))
@settings(max_examples=100, deadline=None)
def test_the_schema_round_trips(ts: tuple[TableIR, ...], es: tuple[EnumIR, ...]) -> None:
    text = document.schema_document(ts, es, ("an extension is missing",), {"schema": "s"})
    inputs, t2, e2, w2 = document.read_schema_document(text, "schema.json")
    assert inputs == {"schema": "s"}
    assert (t2, e2, w2) == (_user_oids_normalized(ts), es, ("an extension is missing",))


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=30,
)


@given(st.dictionaries(texts, json_values, max_size=5))
@settings(max_examples=200, deadline=None)
def test_the_layout_is_json_deterministic_and_line_safe(doc: dict[str, Any]) -> None:
    doc = {**doc, "version": jsonfile.VERSION}
    text = jsonfile.dumps(doc)
    assert json.loads(text) == doc
    assert jsonfile.dumps(json.loads(text)) == text  # stable: writing it again changes nothing
    assert jsonfile.dumps(dict(reversed(list(doc.items())))) == text  # key order is irrelevant
    assert jsonfile.loads(text, "x") == doc  # no line looks like a merge-conflict marker
    assert text.endswith("\n")


def test_a_changed_column_is_one_changed_line() -> None:
    t = TypeRef(25, "text", TypeKind.BASE, "pg_catalog", "text")
    col = ColumnIR("name", t, nullable=False, table="public.author", table_column="name")
    q = QueryIR(
        "/p/q.sql",
        1,
        "Get",
        Command.ONE,
        (),
        "SELECT name FROM author",
        StatementKind.SELECT,
        (),
        (col,),
        None,
        False,
    )
    before = document.query_document(FileIR("/p/q.sql", "", (q,)), "q.sql", {}).splitlines()
    col2 = dataclasses.replace(col, nullable=True)
    q2 = dataclasses.replace(q, columns=(col2,))
    after = document.query_document(FileIR("/p/q.sql", "", (q2,)), "q.sql", {}).splitlines()
    assert len(before) == len(after)
    assert [(a, b) for a, b in zip(before, after, strict=True) if a != b] == [
        ('            "nullable": false,', '            "nullable": true,')
    ]


@pytest.mark.parametrize("marker", ["<<<<<<< HEAD", "=======", ">>>>>>> feature"])
def test_merge_conflict_markers_are_named_with_the_fix(marker: str) -> None:
    good = document.query_document(_analysis(Path("/p/q.sql")), "q.sql", {}).splitlines()
    assert len(good) > 3
    conflicted = "\n".join([*good[:2], marker, *good[2:]])
    with pytest.raises(jsonfile.DocumentError, match=r"q\.sql\.json:3: merge-conflict markers"):
        document.read_query_document(conflicted, "q.sql.json", "/p/q.sql")


def test_another_layout_version_is_refused_by_name() -> None:
    text = jsonfile.dumps({"version": 999, "analysis": {}})
    with pytest.raises(jsonfile.DocumentError, match=r"layout 999.*reads layout 1"):
        jsonfile.loads(text, "schema.json")


# --- a project on disk -----------------------------------------------------------------------


def _project(root: Path) -> list[Path]:
    (root / "migrations").mkdir()
    (root / "migrations" / "001_init.up.sql").write_text("CREATE TABLE a (id int);\n")
    (root / "migrations" / "001_init.down.sql").write_text("DROP TABLE a;\n")
    (root / "migrations" / "002_b.up.sql").write_text("CREATE TABLE b (id int);\n")
    (root / "queries" / "sub").mkdir(parents=True)
    (root / "queries" / "a.sql").write_text("-- name: GetA :one\nSELECT id FROM a;\n")
    (root / "queries" / "sub" / "b.sql").write_text("-- name: GetB :one\nSELECT id FROM b;\n")
    return [root / "queries" / "a.sql", root / "queries" / "sub" / "b.sql"]


INT = TypeRef(23, "integer", TypeKind.BASE, "pg_catalog", "int4")


def _analysis(p: Path) -> FileIR:
    col = ColumnIR("id", INT, nullable=True)
    q = QueryIR(
        str(p),
        1,
        "Get",
        Command.ONE,
        (),
        "SELECT id",
        StatementKind.SELECT,
        (),
        (col,),
        None,
        False,
    )
    return FileIR(str(p), "", (q,))


def _schema() -> tuple[tuple[TableIR, ...], tuple[EnumIR, ...], tuple[str, ...]]:
    return (TableIR("public", "a", RelationKind.TABLE, (ColumnIR("id", INT, True),)),), (), ()


def _inputs(root: Path, files: list[Path], schema: list[Path] | None = None) -> sfiles.Inputs:
    return sfiles.current_inputs(root, schema or [root / "migrations"], files, {})


def _write(root: Path, files: list[Path], now: sfiles.Inputs, generated: dict[str, str]) -> None:
    sfiles.write(
        sfiles.snapshot_dir(root),
        root,
        now,
        files,
        analysis=_analysis,
        fresh=files,
        schema=_schema,
        schema_fresh=True,
        renderer="r1",
        generated=generated,
    )


def _reasons(root: Path, files: list[Path], schema: list[Path] | None = None) -> list[str]:
    d = sfiles.snapshot_dir(root)
    now = _inputs(root, files, schema)
    quick = sfiles.stale_reasons(d, sfiles.read_index(d), now)
    try:
        sfiles.load(d, root, files, now)
    except sfiles.Stale as exc:
        slow = exc.reasons
    else:
        slow = []
    assert bool(quick) == bool(slow)  # the index and the files agree
    return quick


@pytest.fixture
def snapped(tmp_path: Path) -> tuple[Path, list[Path]]:
    files = _project(tmp_path)
    _write(tmp_path, files, _inputs(tmp_path, files), {"models.py": "M\n"})
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "models.py").write_text("M\n")
    return tmp_path, files


def test_a_fresh_snapshot_is_current_and_vouches_for_its_outputs(
    snapped: tuple[Path, list[Path]],
) -> None:
    root, files = snapped
    d = sfiles.snapshot_dir(root)
    assert sorted(p.relative_to(d).as_posix() for p in d.rglob("*.json")) == [
        "index.json",
        "queries/a.sql.json",
        "queries/sub/b.sql.json",
        "schema.json",
    ]
    assert _reasons(root, files) == []
    index = sfiles.read_index(d)
    assert index is not None
    assert sfiles.vouches(d, index, "r1", root / "out")
    assert not sfiles.vouches(d, index, "r2", root / "out")  # another renderer: render again
    loaded = sfiles.load(d, root, files, _inputs(root, files))
    assert loaded.files[files[1]] == _analysis(files[1])
    assert loaded.tables == _schema()[0]
    assert (root / ".multica-db" / "cache" / ".gitignore").read_text().splitlines()[-1] == "*"


def test_an_edited_query_file_is_named(snapped: tuple[Path, list[Path]]) -> None:
    root, files = snapped
    files[1].write_text("-- name: GetB :many\nSELECT id FROM b;\n")
    assert _reasons(root, files) == ["query file queries/sub/b.sql changed since the snapshot"]


def test_added_and_deleted_query_files_are_named(snapped: tuple[Path, list[Path]]) -> None:
    root, files = snapped
    new = root / "queries" / "c.sql"
    new.write_text("-- name: C :exec\nSELECT 1;\n")
    files[0].unlink()
    reasons = _reasons(root, [files[1], new])
    assert reasons == [
        "query file queries/c.sql is new since the snapshot",
        "query file queries/a.sql was removed since the snapshot",
    ]
    with pytest.raises(sfiles.Stale) as err:
        sfiles.load(
            sfiles.snapshot_dir(root), root, [files[1], new], _inputs(root, [files[1], new])
        )
    assert "query file queries/c.sql is not in the snapshot" in str(err.value)
    assert "a.sql.json describes a query file that no longer exists" in str(err.value)
    assert "multica-db generate" in str(err.value)


@pytest.mark.parametrize("change", ["edit", "add", "remove"])
def test_a_migration_change_is_named(snapped: tuple[Path, list[Path]], change: str) -> None:
    root, files = snapped
    m = root / "migrations"
    if change == "edit":
        (m / "002_b.up.sql").write_text("CREATE TABLE b (id bigint);\n")
        expected = "schema file migrations/002_b.up.sql changed since the snapshot"
    elif change == "add":
        (m / "003_c.up.sql").write_text("CREATE TABLE c ();\n")
        expected = "schema file migrations/003_c.up.sql is new since the snapshot"
    else:
        (m / "002_b.up.sql").unlink()
        expected = "schema file migrations/002_b.up.sql was removed since the snapshot"
    assert _reasons(root, files) == [expected]


def test_a_down_migration_is_not_an_input(snapped: tuple[Path, list[Path]]) -> None:
    root, files = snapped
    (root / "migrations" / "001_init.down.sql").write_text("DROP TABLE a CASCADE;\n")
    assert _reasons(root, files) == []


def test_a_configuration_change_is_named(snapped: tuple[Path, list[Path]]) -> None:
    root, files = snapped
    other = [root / "migrations" / "001_init.up.sql", root / "migrations" / "002_b.up.sql"]
    reasons = _reasons(root, files, other)
    assert reasons[0].startswith("the configuration's schema paths are")
    assert "'migrations'" in reasons[0]


def test_another_generator_version_is_named(tmp_path: Path) -> None:
    files = _project(tmp_path)
    old = dataclasses.replace(_inputs(tmp_path, files), generator="0.0.9+0123456789ab")
    _write(tmp_path, files, old, {})
    reasons = _reasons(tmp_path, files)
    assert reasons == [
        f"the generator is {fingerprint.generator_version()}, "
        "the snapshot was made by 0.0.9+0123456789ab"
    ]


def test_a_query_file_merged_from_another_schema_is_stale(
    snapped: tuple[Path, list[Path]],
) -> None:
    """Two branches: one changed a migration, one a query file; git merged both cleanly."""
    root, files = snapped
    d = sfiles.snapshot_dir(root)
    theirs = (d / "queries" / "a.sql.json").read_text()
    (root / "migrations" / "003_c.up.sql").write_text("CREATE TABLE c ();\n")
    _write(root, files, _inputs(root, files), {"models.py": "M\n"})
    (d / "queries" / "a.sql.json").write_text(theirs)  # the other side's file won the merge
    now = _inputs(root, files)
    assert sfiles.stale_reasons(d, sfiles.read_index(d), now) == []  # the index cannot tell…
    index = sfiles.read_index(d)
    assert index is not None
    assert not sfiles.vouches(d, index, "r1", root / "out")  # …so it vouches for nothing
    with pytest.raises(sfiles.Stale, match=r"a\.sql was analyzed against another schema"):
        sfiles.load(d, root, files, now)


def test_conflict_markers_in_the_index_or_a_file_are_named(
    snapped: tuple[Path, list[Path]],
) -> None:
    root, files = snapped
    d = sfiles.snapshot_dir(root)
    f = d / "queries" / "a.sql.json"
    f.write_text("<<<<<<< HEAD\n" + f.read_text() + "=======\n{}\n>>>>>>> other\n")
    with pytest.raises(sfiles.Unreadable, match=r"a\.sql\.json:1: merge-conflict markers"):
        sfiles.load(d, root, files, _inputs(root, files))
    idx = d / "index.json"
    idx.write_text(idx.read_text().replace('"files": {', '"files": {\n<<<<<<< HEAD', 1))
    with pytest.raises(sfiles.Unreadable, match=r"index\.json:\d+: merge-conflict markers"):
        sfiles.read_index(d)


def test_outputs_edited_or_added_by_hand_are_not_vouched_for(
    snapped: tuple[Path, list[Path]],
) -> None:
    root, _ = snapped
    d = sfiles.snapshot_dir(root)
    index = sfiles.read_index(d)
    assert index is not None
    (root / "out" / "models.py").write_text("M2\n")
    assert not sfiles.vouches(d, index, "r1", root / "out")
    (root / "out" / "models.py").write_text("M\n")
    (root / "out" / "queries").mkdir()
    (root / "out" / "queries" / "stray.py").write_text("# stray\n")
    assert not sfiles.vouches(d, index, "r1", root / "out")


def test_writing_again_touches_nothing_and_never_asks_for_an_analysis(
    snapped: tuple[Path, list[Path]],
) -> None:
    root, files = snapped

    def unasked(*_args: object) -> Any:
        raise AssertionError("an unchanged file's analysis was asked for")

    written = sfiles.write(
        sfiles.snapshot_dir(root),
        root,
        _inputs(root, files),
        files,
        analysis=unasked,
        fresh=[],
        schema=unasked,
        schema_fresh=False,
        renderer="r1",
        generated={"models.py": "M\n"},
    )
    assert written == []


def test_a_removed_query_file_leaves_the_snapshot(snapped: tuple[Path, list[Path]]) -> None:
    root, files = snapped
    files[1].unlink()
    _write(root, files[:1], _inputs(root, files[:1]), {})
    d = sfiles.snapshot_dir(root)
    assert not (d / "queries" / "sub").exists()
    assert _reasons(root, files[:1]) == []


def test_paths_outside_the_root_stay_inside_the_snapshot() -> None:
    assert sfiles.query_name("../shared/q.sql") == "__up__/shared/q.sql.json"
    assert sfiles.query_name("queries/q.sql") == "queries/q.sql.json"


migration_names = st.lists(
    st.one_of(
        st.builds(
            "{:03d}_{}.{}.sql".format, st.integers(0, 30), names, st.sampled_from(["up", "down"])
        ),
        st.builds("{}.sql".format, names),
        st.builds("{}.txt".format, names),
    ),
    unique=True,
    max_size=8,
)


@given(migration_names)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_the_schema_files_hashed_are_the_ones_applied(tmp_path: Path, listing: list[str]) -> None:
    import tempfile

    d = Path(tempfile.mkdtemp(dir=tmp_path))
    for n in listing:
        (d / n).write_text(f"-- {n}\n")
    assert fingerprint.schema_files([d]) == migrations.schema_files(d)


def test_ir_json_keeps_every_field_the_snapshot_needs() -> None:
    """The snapshot writes the IR with the IR's own JSON form: it must be lossless."""
    fir = _analysis(Path("/p/q.sql"))
    ir = AnalysisIR((fir,), *_schema()[:2])
    assert decode(AnalysisIR, encode(ir)) == ir


# --- generated: any set of changes is named, change by change -----------------------------

edits = st.lists(
    st.one_of(
        st.tuples(st.just("query"), st.integers(0, 2), texts),  # append to query file i
        st.tuples(st.just("new query"), st.integers(0, 9), texts),
        st.tuples(st.just("drop query"), st.integers(0, 2), st.just("")),
        st.tuples(st.just("migration"), st.integers(0, 2), texts),  # append to migration i
        st.tuples(st.just("new migration"), st.integers(10, 19), texts),
        st.tuples(st.just("drop migration"), st.integers(0, 2), st.just("")),
    ),
    max_size=4,
)


@given(edits)
@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_any_set_of_changes_is_named_file_by_file(
    tmp_path: Path, changes: list[tuple[str, int, str]]
) -> None:
    import tempfile

    root = Path(tempfile.mkdtemp(dir=tmp_path))
    (root / "migrations").mkdir()
    (root / "queries").mkdir()
    migrations = [root / "migrations" / f"00{i}_m.up.sql" for i in range(3)]
    queries = [root / "queries" / f"q{i}.sql" for i in range(3)]
    for i, m in enumerate(migrations):
        m.write_text(f"CREATE TABLE t{i} ();\n")
    for q in queries:
        q.write_text("-- name: Q :exec\nSELECT 1;\n")
    _write(root, queries, _inputs(root, queries), {})

    expected: set[str] = set()
    listed = list(queries)
    for kind, i, text in changes:
        if kind == "query" and queries[i] in listed and text.strip("\r"):
            queries[i].write_text(queries[i].read_text() + text + "\n")
            expected.add(f"queries/q{i}.sql")
        elif kind == "new query":
            p = root / "queries" / f"new{i}.sql"
            if p not in listed:
                p.write_text(text)
                listed.append(p)
                expected.add(f"queries/new{i}.sql")
        elif kind == "drop query" and queries[i] in listed:
            queries[i].unlink()
            listed.remove(queries[i])
            expected.add(f"queries/q{i}.sql")
        elif kind == "migration" and migrations[i].exists() and text.strip("\r"):
            migrations[i].write_text(migrations[i].read_text() + text + "\n")
            expected.add(f"migrations/00{i}_m.up.sql")
        elif kind == "new migration":
            p = root / "migrations" / f"{i}_n.up.sql"
            if not p.exists():
                p.write_text(text)
                expected.add(f"migrations/{i}_n.up.sql")
        elif kind == "drop migration" and migrations[i].exists():
            migrations[i].unlink()
            expected.add(f"migrations/00{i}_m.up.sql")
    # a file changed back to its old text is not a change: compare digests, not history
    now = _inputs(root, listed)
    index = sfiles.read_index(sfiles.snapshot_dir(root))
    assert index is not None
    recorded = {**index["inputs"]["queries"], **index["inputs"]["schema_files"]}
    current = {**now.queries, **now.schema_files}
    really = {k for k in recorded.keys() | current.keys() if recorded.get(k) != current.get(k)}
    assert really <= expected
    reasons = sfiles.stale_reasons(sfiles.snapshot_dir(root), index, now)
    named = {r.split(" ")[2] for r in reasons}
    assert named == really
    assert len(reasons) == len(really)


@given(st.data())
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
def test_conflict_markers_anywhere_are_named_with_their_line(
    snapped: tuple[Path, list[Path]], data: st.DataObject
) -> None:
    root, files = snapped
    d = sfiles.snapshot_dir(root)
    victim = data.draw(st.sampled_from(sorted(d.rglob("*.json"))))
    original = victim.read_text()
    lines = original.splitlines()
    at = data.draw(st.integers(0, len(lines)))
    marker = data.draw(
        st.sampled_from(["<<<<<<< HEAD", "=======", ">>>>>>> branch", "||||||| base"])
    )
    victim.write_text("\n".join([*lines[:at], marker, *lines[at:]]) + "\n")
    try:
        with pytest.raises(sfiles.Unreadable, match=rf"{victim.name}:{at + 1}: merge-conflict"):
            sfiles.read_index(d)
            sfiles.load(d, root, files, _inputs(root, files))
    finally:
        victim.write_text(original)
