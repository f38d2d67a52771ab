"""What the engine knows about built-in functions and operators.

Each list is a promise checked against PostgreSQL's documented behaviour: a name
is only here if the built-in never returns NULL in the stated circumstances. A
function that is missing is simply treated as "can return NULL".
"""

from __future__ import annotations

from pglast.enums import parsenodes as _pn

SYSTEM_COLUMNS = frozenset({"xmin", "xmax", "cmin", "cmax", "ctid", "tableoid"})

COMPARISON_OPS = frozenset(
    {"=", "<>", "!=", "<", ">", "<=", ">=", "~~", "!~~", "~~*", "!~~*", "~", "~*", "!~", "!~*"}
)
ARITHMETIC_OPS = frozenset({"+", "-", "*", "/", "%", "^"})
#: Binary operators that return a non-NULL value for non-NULL operands (built-in types).
STRICT_OPS = COMPARISON_OPS | ARITHMETIC_OPS | {"||", "@>", "<@", "&&", "?", "?|", "?&", "#-"}

#: Never NULL, whatever the arguments.
NEVER_NULL = frozenset(
    {
        "now",
        "clock_timestamp",
        "statement_timestamp",
        "transaction_timestamp",
        "timeofday",
        "random",
        "gen_random_uuid",
        "concat",
        "json_build_object",
        "jsonb_build_object",
        "json_build_array",
        "jsonb_build_array",
        "num_nulls",
        "num_nonnulls",
        "quote_nullable",
        "current_database",
        "pg_backend_pid",
        "version",
    }
)

#: NULL exactly when the first argument is (the separator / the format string).
FIRST_ARG = frozenset({"concat_ws", "format"})

#: Strict built-ins that return a non-NULL value for non-NULL arguments. The engine
#: also checks the catalog says every candidate is strict and not set-returning.
STRICT_SAFE = frozenset(
    {
        "lower",
        "upper",
        "initcap",
        "length",
        "char_length",
        "character_length",
        "octet_length",
        "bit_length",
        "btrim",
        "ltrim",
        "rtrim",
        "trim",
        "replace",
        "translate",
        "left",
        "right",
        "lpad",
        "rpad",
        "repeat",
        "reverse",
        "split_part",
        "strpos",
        "position",
        "starts_with",
        "md5",
        "sha256",
        "encode",
        "decode",
        "quote_ident",
        "quote_literal",
        "regexp_replace",
        "to_char",
        "date_trunc",
        "age",
        "abs",
        "round",
        "ceil",
        "ceiling",
        "floor",
        "trunc",
        "sign",
        "mod",
        "power",
        "cardinality",
        "array_to_string",
        "to_json",
        "to_jsonb",
        "row_to_json",
        "jsonb_typeof",
        "json_typeof",
        "jsonb_array_length",
        "json_array_length",
        "jsonb_strip_nulls",
        "jsonb_pretty",
        "nextval",
        "similar_to_escape",
        "like_escape",
        "textcat",
        "int4",
        "int8",
        "text",
    }
)
#: ``lower``/``upper`` of a range return NULL for an infinite bound: only trusted on text.
TEXT_ONLY = frozenset({"lower", "upper"})

#: Set-returning built-ins: their columns (name, nullable) — ``None`` for one column
#: named after the alias or the function whose values are never NULL.
SRF_COLUMNS: dict[str, tuple[tuple[str, bool], ...] | None] = {
    "generate_series": None,
    "generate_subscripts": None,
    "regexp_split_to_table": None,
    "regexp_matches": None,
    "string_to_table": None,  # only with two arguments (a third makes NULLs)
    "jsonb_object_keys": None,
    "json_object_keys": None,
    "jsonb_array_elements": (("value", False),),
    "json_array_elements": (("value", False),),
    "jsonb_array_elements_text": (("value", True),),
    "json_array_elements_text": (("value", True),),
    "jsonb_each": (("key", False), ("value", False)),
    "json_each": (("key", False), ("value", False)),
    "jsonb_each_text": (("key", False), ("value", True)),
    "json_each_text": (("key", False), ("value", True)),
}

AGG_ALWAYS = frozenset({"count", "regr_count"})
#: Not NULL over a non-empty group, whatever the values (NULLs become elements).
AGG_NONEMPTY = frozenset(
    {"array_agg", "json_agg", "jsonb_agg", "json_object_agg", "jsonb_object_agg"}
)
#: Not NULL over a non-empty group of non-NULL values.
AGG_NONEMPTY_STRICT = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "bool_and",
        "bool_or",
        "every",
        "bit_and",
        "bit_or",
        "bit_xor",
        "string_agg",
        "stddev_pop",
        "var_pop",
    }
)
RANKING = frozenset({"row_number", "rank", "dense_rank", "percent_rank", "cume_dist"})

_START_OK = _pn.FRAMEOPTION_START_UNBOUNDED_PRECEDING | _pn.FRAMEOPTION_START_CURRENT_ROW
_END_OK = _pn.FRAMEOPTION_END_CURRENT_ROW | _pn.FRAMEOPTION_END_UNBOUNDED_FOLLOWING
_EXCLUDE = (
    _pn.FRAMEOPTION_EXCLUDE_CURRENT_ROW
    | _pn.FRAMEOPTION_EXCLUDE_GROUP
    | _pn.FRAMEOPTION_EXCLUDE_TIES
)


def frame_has_current_row(options: int) -> bool:
    """The window frame always contains the current row, so it is never empty."""
    return bool(options & _START_OK) and bool(options & _END_OK) and not options & _EXCLUDE
