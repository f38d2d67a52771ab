"""Stand-ins for extensions the analyzer's server does not have.

sqlc never installs an extension: it only needs to know the types of what an
extension's functions take and return. When the analyzer's server lacks one
that many schemas create (the embedded server ships contrib, but not pgcrypto or
uuid-ossp, which need OpenSSL and libuuid), the schema's ``CREATE EXTENSION``
creates SQL functions with the extension's documented signatures instead, in
the schema the extension would use. Queries then type exactly as with the real
extension. Their values are not the extension's (``digest`` hashes with
PostgreSQL's own functions, ``crypt`` does not encrypt): the analyzer only
prepares queries, and a schema's defaults and seed rows still run.

Every stand-in is reported as a warning; a server that has the extension is
always preferred (``--database-url``).
"""

from __future__ import annotations

from multica_db_codegen.analyze import standin_postgis as postgis

#: what each stand-in function does, in SQL, over its arguments $1, $2, …
_PGCRYPTO: tuple[tuple[str, str, str], ...] = (
    # (name(argument types), result type, body)
    (
        "digest(bytea, text)",
        "bytea",
        "SELECT CASE lower($2) WHEN 'md5' THEN decode(md5($1), 'hex') "
        "WHEN 'sha224' THEN sha224($1) WHEN 'sha256' THEN sha256($1) "
        "WHEN 'sha384' THEN sha384($1) WHEN 'sha512' THEN sha512($1) "
        "ELSE sha256($1) END",
    ),
    ("digest(text, text)", "bytea", "SELECT {s}.digest(convert_to($1, 'UTF8'), $2)"),
    ("hmac(bytea, bytea, text)", "bytea", "SELECT {s}.digest($2 || $1, $3)"),
    (
        "hmac(text, text, text)",
        "bytea",
        "SELECT {s}.digest(convert_to($2 || $1, 'UTF8'), $3)",
    ),
    ("crypt(text, text)", "text", "SELECT $2 || md5($2 || $1)"),
    ("gen_salt(text)", "text", "SELECT '$' || $1 || '$' || substr(md5(random()::text), 1, 16)"),
    ("gen_salt(text, integer)", "text", "SELECT {s}.gen_salt($1)"),
    (
        "gen_random_bytes(integer)",
        "bytea",
        "SELECT substring(sha512(convert_to(random()::text, 'UTF8')) for $1)",
    ),
    ("encrypt(bytea, bytea, text)", "bytea", "SELECT $1"),
    ("decrypt(bytea, bytea, text)", "bytea", "SELECT $1"),
    ("encrypt_iv(bytea, bytea, bytea, text)", "bytea", "SELECT $1"),
    ("decrypt_iv(bytea, bytea, bytea, text)", "bytea", "SELECT $1"),
    ("pgp_sym_encrypt(text, text)", "bytea", "SELECT convert_to($1, 'UTF8')"),
    ("pgp_sym_encrypt(text, text, text)", "bytea", "SELECT convert_to($1, 'UTF8')"),
    ("pgp_sym_encrypt_bytea(bytea, text)", "bytea", "SELECT $1"),
    ("pgp_sym_encrypt_bytea(bytea, text, text)", "bytea", "SELECT $1"),
    ("pgp_sym_decrypt(bytea, text)", "text", "SELECT convert_from($1, 'UTF8')"),
    ("pgp_sym_decrypt(bytea, text, text)", "text", "SELECT convert_from($1, 'UTF8')"),
    ("pgp_sym_decrypt_bytea(bytea, text)", "bytea", "SELECT $1"),
    ("pgp_sym_decrypt_bytea(bytea, text, text)", "bytea", "SELECT $1"),
    ("pgp_pub_encrypt(text, bytea)", "bytea", "SELECT convert_to($1, 'UTF8')"),
    ("pgp_pub_encrypt(text, bytea, text)", "bytea", "SELECT convert_to($1, 'UTF8')"),
    ("pgp_pub_encrypt_bytea(bytea, bytea)", "bytea", "SELECT $1"),
    ("pgp_pub_encrypt_bytea(bytea, bytea, text)", "bytea", "SELECT $1"),
    ("pgp_pub_decrypt(bytea, bytea)", "text", "SELECT convert_from($1, 'UTF8')"),
    ("pgp_pub_decrypt(bytea, bytea, text)", "text", "SELECT convert_from($1, 'UTF8')"),
    ("pgp_pub_decrypt(bytea, bytea, text, text)", "text", "SELECT convert_from($1, 'UTF8')"),
    ("pgp_pub_decrypt_bytea(bytea, bytea)", "bytea", "SELECT $1"),
    ("pgp_pub_decrypt_bytea(bytea, bytea, text)", "bytea", "SELECT $1"),
    ("pgp_pub_decrypt_bytea(bytea, bytea, text, text)", "bytea", "SELECT $1"),
    ("pgp_key_id(bytea)", "text", "SELECT substr(encode(sha256($1), 'hex'), 1, 16)"),
    ("armor(bytea)", "text", "SELECT encode($1, 'base64')"),
    ("armor(bytea, text[], text[])", "text", "SELECT encode($1, 'base64')"),
    (
        "pgp_armor_headers(text, OUT key text, OUT value text)",
        "SETOF record",
        "SELECT NULL::text, NULL::text WHERE false",
    ),
    ("gen_random_uuid()", "uuid", "SELECT pg_catalog.gen_random_uuid()"),
    ("dearmor(text)", "bytea", "SELECT decode($1, 'base64')"),
)

_UUID_OSSP: tuple[tuple[str, str, str], ...] = (
    ("uuid_nil()", "uuid", "SELECT '00000000-0000-0000-0000-000000000000'::uuid"),
    ("uuid_ns_dns()", "uuid", "SELECT '6ba7b810-9dad-11d1-80b4-00c04fd430c8'::uuid"),
    ("uuid_ns_url()", "uuid", "SELECT '6ba7b811-9dad-11d1-80b4-00c04fd430c8'::uuid"),
    ("uuid_ns_oid()", "uuid", "SELECT '6ba7b812-9dad-11d1-80b4-00c04fd430c8'::uuid"),
    ("uuid_ns_x500()", "uuid", "SELECT '6ba7b814-9dad-11d1-80b4-00c04fd430c8'::uuid"),
    ("uuid_generate_v1()", "uuid", "SELECT gen_random_uuid()"),
    ("uuid_generate_v1mc()", "uuid", "SELECT gen_random_uuid()"),
    ("uuid_generate_v3(namespace uuid, name text)", "uuid", "SELECT md5($1::text || $2)::uuid"),
    ("uuid_generate_v4()", "uuid", "SELECT gen_random_uuid()"),
    (
        "uuid_generate_v5(namespace uuid, name text)",
        "uuid",
        "SELECT substr(encode(sha256(convert_to($1::text || $2, 'UTF8')), 'hex'), 1, 32)::uuid",
    ),
)


def _vector_type(t: str) -> tuple[str, ...]:
    """pgvector's type ``t`` as a base type over PostgreSQL's own I/O functions: values
    are kept as text, ``t(n)`` keeps ``n`` as its type modifier (bit's ``bittypmodin``
    stores it as written, as pgvector's does). Needs a superuser, like pgvector."""
    return (
        f"CREATE TYPE {{s}}.{t}",
        f"CREATE FUNCTION {{s}}.{t}_in(cstring, oid, integer) RETURNS {{s}}.{t} "
        "LANGUAGE internal IMMUTABLE STRICT AS 'textin'",
        f"CREATE FUNCTION {{s}}.{t}_out({{s}}.{t}) RETURNS cstring "
        "LANGUAGE internal IMMUTABLE STRICT AS 'textout'",
        f"CREATE FUNCTION {{s}}.{t}_typmod_in(cstring[]) RETURNS integer "
        "LANGUAGE internal IMMUTABLE STRICT AS 'bittypmodin'",
        f"CREATE TYPE {{s}}.{t} (INPUT = {{s}}.{t}_in, OUTPUT = {{s}}.{t}_out, "
        f"TYPMOD_IN = {{s}}.{t}_typmod_in, INTERNALLENGTH = VARIABLE, STORAGE = extended)",
        f"CREATE CAST (real[] AS {{s}}.{t}) WITH INOUT AS ASSIGNMENT",
        f"CREATE CAST ({{s}}.{t} AS real[]) WITH INOUT AS ASSIGNMENT",
        *_vector_comparisons(t),
    )


#: pgvector's comparison functions (its btree support) → PostgreSQL's own over bytes
_BYTE_COMPARISONS = (
    ("lt", "bytealt", "boolean"),
    ("le", "byteale", "boolean"),
    ("eq", "byteaeq", "boolean"),
    ("ne", "byteane", "boolean"),
    ("ge", "byteage", "boolean"),
    ("gt", "byteagt", "boolean"),
    ("cmp", "byteacmp", "integer"),
)


def _vector_comparisons(t: str) -> tuple[str, ...]:
    """pgvector's comparison functions of ``t``, as its btree operator class needs them:
    a ``UNIQUE`` over a vector column, ``DISTINCT``, ``ORDER BY`` and ``GROUP BY`` of one
    run with the extension, so they must with its stand-in. A stand-in's value is its
    text, so PostgreSQL's byte comparisons order it (not as pgvector does: the analyzer
    only needs them to exist)."""
    return tuple(
        f"CREATE FUNCTION {{s}}.{t}_{name}({{s}}.{t}, {{s}}.{t}) RETURNS {result} "
        f"LANGUAGE internal IMMUTABLE STRICT AS '{internal}'"
        for name, internal, result in _BYTE_COMPARISONS
    )


def _vector_functions(t: str, norm: str) -> tuple[tuple[str, str, str], ...]:
    pair = f"{{s}}.{t}, {{s}}.{t}"
    zero = "SELECT 0::double precision"
    return (
        (f"l2_distance({pair})", "double precision", zero),
        (f"inner_product({pair})", "double precision", zero),
        (f"cosine_distance({pair})", "double precision", zero),
        (f"l1_distance({pair})", "double precision", zero),
        (f"{t}_negative_inner_product({pair})", "double precision", zero),
        (f"{norm}({{s}}.{t})", "double precision", zero),
        (f"l2_normalize({{s}}.{t})", f"{{s}}.{t}", "SELECT $1"),
    )


def _vector_operators(t: str) -> tuple[str, ...]:
    """pgvector's distance and comparison operators of ``t``, and its default btree
    operator class (``vector_ops``, ``halfvec_ops``, ``sparsevec_ops``)."""
    s = "{s}"
    operators = tuple(
        f"CREATE OPERATOR {s}.{op} (LEFTARG = {s}.{t}, RIGHTARG = {s}.{t}, FUNCTION = {s}.{fn})"
        for op, fn in (
            ("<->", "l2_distance"),
            ("<#>", f"{t}_negative_inner_product"),
            ("<=>", "cosine_distance"),
            ("<+>", "l1_distance"),
            ("<", f"{t}_lt"),
            ("<=", f"{t}_le"),
            ("=", f"{t}_eq"),
            ("<>", f"{t}_ne"),
            (">=", f"{t}_ge"),
            (">", f"{t}_gt"),
        )
    )
    btree = (
        f"CREATE OPERATOR CLASS {s}.{t}_ops DEFAULT FOR TYPE {s}.{t} USING btree AS "
        f"OPERATOR 1 {s}.<, OPERATOR 2 {s}.<=, OPERATOR 3 {s}.=, OPERATOR 4 {s}.>=, "
        f"OPERATOR 5 {s}.>, FUNCTION 1 {s}.{t}_cmp({s}.{t}, {s}.{t})"
    )
    if t == "sparsevec":  # pgvector has no aggregates over sparsevec
        return (*operators, btree)
    # avg() and sum() of a vector column are vectors, over pgvector's own support
    # functions; the stand-ins keep the first value
    support = (
        f"CREATE FUNCTION {s}.{t}_add({s}.{t}, {s}.{t}) RETURNS {s}.{t} "
        "LANGUAGE sql IMMUTABLE AS 'SELECT coalesce($1, $2)'",
        f"CREATE FUNCTION {s}.{t}_accum(double precision[], {s}.{t}) "
        "RETURNS double precision[] LANGUAGE sql IMMUTABLE "
        "AS $b$SELECT coalesce($1, ('{' || btrim($2::text, '[]') || '}')::double precision[])$b$",
        f"CREATE FUNCTION {s}.{t}_avg(double precision[]) RETURNS {s}.{t} "
        f"LANGUAGE sql IMMUTABLE AS $b$SELECT ('[' || array_to_string($1, ',') || ']')::{s}.{t}$b$",
        f"CREATE AGGREGATE {s}.sum({s}.{t}) (SFUNC = {s}.{t}_add, STYPE = {s}.{t})",
        f"CREATE AGGREGATE {s}.avg({s}.{t}) (SFUNC = {s}.{t}_accum, "
        f"STYPE = double precision[], FINALFUNC = {s}.{t}_avg)",
    )
    return (*operators, btree, *support)


#: pgvector: its types, their distance functions and operators
_VECTOR_TYPES = tuple(sql for t in ("vector", "halfvec", "sparsevec") for sql in _vector_type(t))
_VECTOR: tuple[tuple[str, str, str], ...] = (
    *_vector_functions("vector", "vector_norm"),
    ("vector_dims({s}.vector)", "integer", "SELECT 0"),
    ("subvector({s}.vector, integer, integer)", "{s}.vector", "SELECT $1"),
    *_vector_functions("halfvec", "l2_norm"),
    ("vector_dims({s}.halfvec)", "integer", "SELECT 0"),
    *_vector_functions("sparsevec", "l2_norm"),
)
_VECTOR_OPERATORS = tuple(
    sql for t in ("vector", "halfvec", "sparsevec") for sql in _vector_operators(t)
)

STANDINS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "pgcrypto": _PGCRYPTO,
    "uuid-ossp": _UUID_OSSP,
    "vector": _VECTOR,
    "postgis": postgis.STANDIN_FUNCTIONS,
    "postgis_raster": (),
    "postgis_sfcgal": (),
    "postgis_topology": (),
}
#: what a stand-in creates before its functions (types), and after them (operators)
_BEFORE: dict[str, tuple[str, ...]] = {
    "vector": _VECTOR_TYPES,
    "postgis": postgis.TYPES,
    "postgis_raster": postgis.RASTER_TYPES,
    "postgis_topology": postgis.TOPOLOGY_TYPES,
}
_AFTER: dict[str, tuple[str, ...]] = {"vector": _VECTOR_OPERATORS, "postgis": postgis.AFTER}
#: a type whose existence says the stand-in was created (CREATE EXTENSION IF NOT EXISTS
#: twice, or an extension that requires it); a qualified name is in that schema, else in
#: the stand-in's
_DONE: dict[str, str] = {
    "vector": "vector",
    "postgis": "geometry",
    "postgis_raster": "raster",
    "postgis_topology": "topology.topogeometry",
}
#: stand-ins created first, as the extension requires them (what CASCADE would install)
_REQUIRES: dict[str, tuple[str, ...]] = {
    "postgis_raster": ("postgis",),
    "postgis_sfcgal": ("postgis",),
    "postgis_topology": ("postgis",),
}
#: functions an index expression or a generated column may call are IMMUTABLE, as the
#: extension declares them
_VOLATILITY: dict[str, str] = {"postgis": "IMMUTABLE"}


def has_standin(extension: str) -> bool:
    return extension in STANDINS


def standin_sql(extension: str, schema: str | None) -> str:
    """One ``DO`` block creating ``extension``'s stand-ins in ``schema``, or where
    ``CREATE EXTENSION`` would put them without one: the first existing schema of the
    search path (decided when it runs, as the extension would).

    While it runs, the search path is that schema then ``pg_catalog``, so the type names
    of a stand-in's signatures are the stand-in's own; it is put back at the end."""
    target = _quote(schema) if schema is not None else "current_schema()"
    lines = [
        f"DO $multica_db_standin$ DECLARE s text := {target}; "
        "kept_path text := current_setting('search_path'); BEGIN",
        "IF s IS NULL THEN RAISE invalid_schema_name USING MESSAGE = "
        "'no schema has been selected to create in'; END IF;",
        "PERFORM set_config('search_path', quote_ident(s) || ', pg_catalog', true);",
    ]
    for part in (*_REQUIRES.get(extension, ()), extension):
        lines += _part(part)
    lines.append("PERFORM set_config('search_path', kept_path, true);")
    lines.append("END $multica_db_standin$;")
    return "\n".join(lines)


def _part(extension: str) -> list[str]:
    """The statements of one extension's stand-ins, skipped when they already exist."""
    lines: list[str] = []
    done = _DONE.get(extension)
    if done is not None:
        where = _quote(done) if "." in done else f"quote_ident(s) || {_quote('.' + done)}"
        lines.append(f"IF to_regtype({where}) IS NULL THEN")
    volatility = _VOLATILITY.get(extension, "VOLATILE")
    lines += [_execute(sql) for sql in _BEFORE.get(extension, ())]
    for name, result, body in STANDINS[extension]:
        lines.append(
            "EXECUTE format('CREATE OR REPLACE FUNCTION %s RETURNS %s LANGUAGE sql "
            f"{volatility} AS %L', {_placed('{s}.' + name)}, {_placed(result)}, "
            f"{_placed(body)});"
        )
    lines += [_execute(sql) for sql in _AFTER.get(extension, ())]
    if done is not None:
        lines.append("END IF;")
    return lines


def _placed(text: str) -> str:
    """A SQL expression: ``text`` with ``{s}`` replaced by the quoted schema ``s``."""
    return f"replace({_quote(text)}, '{{s}}', quote_ident(s))"


def _execute(sql: str) -> str:
    return f"EXECUTE {_placed(sql)};"


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"
