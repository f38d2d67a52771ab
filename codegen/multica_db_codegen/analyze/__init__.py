"""Analyze parsed queries against a real PostgreSQL: types, columns, nullability → IR."""
