"""Short bulk-write transactions (loads) and store contention as one clear error.

A load writes batch by batch, each batch its own transaction holding the store's load
lock: SQLite's write lock (``BEGIN IMMEDIATE``, after the process's writer lock that
labeling threads queue on) or, on PostgreSQL, a transaction-scoped advisory lock, so two
loads interleave batch by batch instead of racing on the same ids. Between batches the
writer pauses on SQLite long enough for a waiting writer's busy handler (which polls at
most every 100 ms) to get in: a key press waits for at most one batch.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

from sqlalchemy import CursorResult, Delete, Update, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from nearmiss.errors import StoreBusy
from nearmiss.store import Store
from nearmiss.store.locks import _process_lock

LOAD_LOCK_KEY = 0x6E6D6C64  # "nmld": the advisory lock loads take on PostgreSQL
SQLITE_YIELD_S = 0.1  # >= SQLite's longest busy-handler sleep (100 ms)
BUSY_SQLSTATES = {"40001", "40P01", "55P03", "23505"}  # serialization failure, deadlock, lock not available, unique
BUSY_SQLITE = ("database is locked", "database is busy", "UNIQUE constraint failed")


def rows_changed(session: Session, statement: Update | Delete) -> int:
    """Run an UPDATE or DELETE in ``session``; how many rows it changed."""
    result = session.execute(statement)
    assert isinstance(result, CursorResult)  # what a DML statement returns
    return result.rowcount


def is_contention(e: DBAPIError) -> bool:
    """Whether ``e`` is another writer getting in the way (not bad data, not a bug)."""
    orig = e.orig
    return getattr(orig, "sqlstate", None) in BUSY_SQLSTATES or any(s in str(orig) for s in BUSY_SQLITE)


@contextmanager
def busy_as_error(what: str = "another load") -> Iterator[None]:
    """Turn store contention into ``StoreBusy`` (one line, no SQL, no row values)."""
    try:
        yield
    except DBAPIError as e:
        if not is_contention(e):
            raise
        raise StoreBusy(f"the store is busy with {what}; retry") from None


@contextmanager
def exclusive_transaction(store: Store, key: int, what: str) -> Iterator[Session]:
    """One committed-or-rolled-back transaction that no other holder of ``key`` overlaps:
    SQLite's write lock, or PostgreSQL's transaction-scoped advisory lock ``key``."""
    with busy_as_error(what), _process_lock(store), store.sessionmaker() as session, session.begin():
        if store.engine.dialect.name == "sqlite":
            session.connection().exec_driver_sql("BEGIN IMMEDIATE")
        else:
            session.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": key})
        yield session


def load_transaction(store: Store) -> AbstractContextManager[Session]:
    """One committed-or-rolled-back batch of a load, holding the load lock."""
    return exclusive_transaction(store, LOAD_LOCK_KEY, "another load")


def yield_write_lock(store: Store) -> None:
    """Between two batches of a load: let a waiting writer in (SQLite; PostgreSQL writers
    do not wait on loads)."""
    if store.engine.dialect.name == "sqlite":
        time.sleep(SQLITE_YIELD_S)
