"""What generated query functions raise beyond psycopg's own errors."""


class NoRowError(LookupError):
    """A statement that must return a row (``INSERT … VALUES … RETURNING``) returned none.

    Only a trigger that suppressed the row, or a rule rewriting the statement, can
    cause it: the query's return type says a row always comes back, so ``None``
    would be a lie the type checker cannot catch.
    """
