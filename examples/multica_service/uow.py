"""One transaction plus the events it earns, delivered only after COMMIT."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from psycopg import Connection
from psycopg.pq import TransactionStatus

from multica_db.analytics import AnalyticsClient, Event


class Outbox:
    """Events decided inside a transaction, held back until it commits."""

    def __init__(self) -> None:
        self.events: list[Event] = []

    def add(self, event: Event) -> None:
        self.events.append(event)


@contextmanager
def unit_of_work(conn: Connection[Any], analytics: AnalyticsClient) -> Iterator[Outbox]:
    """Run the block in a transaction; capture its outbox after the COMMIT succeeded.

    The connection must be idle: inside a caller's transaction
    ``conn.transaction()`` would only be a savepoint, and "after commit" would be
    a lie — the caller could still roll the facts back after the event left.
    If the block or the COMMIT raises, the outbox is discarded.
    """
    if conn.info.transaction_status != TransactionStatus.IDLE:
        raise RuntimeError("unit_of_work needs an idle connection, not one inside a transaction")
    outbox = Outbox()
    with conn.transaction():
        yield outbox
    for event in outbox.events:
        analytics.capture(event)
