"""The generator: annotated SQL → typed psycopg functions (parse → analyze → render)."""
