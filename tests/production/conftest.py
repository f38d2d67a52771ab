"""A generated package with every function kind, and pgbouncer in front of its database."""

from __future__ import annotations

import os
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.dialect.harness import Generated, database_with, generate, write_project
from tests.pgbouncer import NoPgbouncerError, Pgbouncer, running

SCHEMA = """
CREATE TABLE item (
    id bigserial PRIMARY KEY,
    name text NOT NULL,
    qty integer NOT NULL DEFAULT 0
);
"""

QUERIES = """
-- name: AddItem :one
INSERT INTO item (name, qty) VALUES ($1, $2) RETURNING *;

-- name: GetItem :one
SELECT * FROM item WHERE id = $1;

-- name: ListItems :many
SELECT id, name FROM item WHERE name LIKE @prefix || '%' ORDER BY id;

-- name: TouchItem :exec
UPDATE item SET qty = qty + 1 WHERE id = $1;

-- name: BumpItems :execrows
UPDATE item SET qty = qty + 1 WHERE name LIKE @prefix || '%';

-- name: RenameItem :execresult
UPDATE item SET name = $2 WHERE id = $1;

-- name: AddItems :batchexec
INSERT INTO item (name, qty) VALUES ($1, $2);

-- name: AddItemsReturning :batchone
INSERT INTO item (name, qty) VALUES ($1, $2) RETURNING id;

-- name: ItemsNamed :batchmany
SELECT id FROM item WHERE name = $1 ORDER BY id;

-- name: CopyItems :copyfrom
INSERT INTO item (name, qty) VALUES ($1, $2);

-- name: IterItems :iter
SELECT id, name FROM item WHERE name LIKE @prefix || '%' ORDER BY id;
"""


@pytest.fixture(scope="session")
def kinds_package(tmp_path_factory: pytest.TempPathFactory, pg_server: str) -> Generated:
    root = tmp_path_factory.mktemp("kinds")
    write_project(
        root, schema={"001_init.sql": SCHEMA}, queries={"items.sql": QUERIES}, package="kinds_pkg"
    )
    return generate(root, pg_server, "kinds_pkg")


@pytest.fixture(scope="session")
def items(kinds_package: Generated) -> types.ModuleType:
    return kinds_package.module("queries.items")


@pytest.fixture(scope="session")
def aitems(kinds_package: Generated) -> types.ModuleType:
    return kinds_package.module("queries.aio.items")


@pytest.fixture(scope="session")
def kinds_db(pg_server: str, kinds_package: Generated) -> Iterator[str]:
    with database_with(pg_server, [kinds_package.root.parent / "schema"]) as url:
        yield url


@pytest.fixture(scope="session")
def pgbouncer(kinds_db: str) -> Iterator[Pgbouncer]:
    """pgbouncer in transaction mode, two server connections, in front of ``kinds_db``."""
    try:
        with running(kinds_db, pool_size=2) as bouncer:
            yield bouncer
    except NoPgbouncerError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI has no pgbouncer: {exc}")
        pytest.skip(str(exc))


@pytest.fixture(scope="session")
def pgbouncer_one(kinds_db: str) -> Iterator[Pgbouncer]:
    """pgbouncer with a single server connection: every client shares it."""
    try:
        with running(kinds_db, pool_size=1) as bouncer:
            yield bouncer
    except NoPgbouncerError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI has no pgbouncer: {exc}")
        pytest.skip(str(exc))


__all__ = ["Path"]
