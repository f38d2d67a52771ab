"""Parse annotated query files with pglast: no database involved."""

from multica_db_codegen.parse.annotations import parse_query_file
from multica_db_codegen.parse.spec import Command, Param, QuerySpec

__all__ = ["Command", "Param", "QuerySpec", "parse_query_file"]
