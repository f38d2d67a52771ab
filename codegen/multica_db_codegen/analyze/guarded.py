"""One statement tried inside a schema file's own transaction.

A schema file may run in a transaction of its own (``BEGIN; … COMMIT;``); a statement
the analysis tries there (a stand-in, a part left out, a schema made) must not end it
when it fails, so it runs under a savepoint that its failure rolls back.
"""

from __future__ import annotations

from typing import Any

import psycopg


def attempt(conn: psycopg.Connection[Any], sql: str) -> psycopg.Error | None:
    """Run ``sql``; its error, if any, undone without ending the file's transaction."""
    guarded = conn.info.transaction_status == psycopg.pq.TransactionStatus.INTRANS
    if guarded:
        conn.execute(b"SAVEPOINT multica_db_attempt")
    try:
        conn.execute(sql.encode())
    except psycopg.Error as error:
        if guarded:
            conn.execute(b"ROLLBACK TO SAVEPOINT multica_db_attempt")
        return error
    if guarded:
        conn.execute(b"RELEASE SAVEPOINT multica_db_attempt")
    return None
