"""Write transactions serialized per annotator, so a check-then-write (one active decision
per annotator and candidate, one lease per candidate) cannot race with itself.

SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front, so writers queue instead of
failing a read-to-write upgrade. Threads of one process (the app serves every browser
session from one process) first queue on an in-process lock per database: the lock is
handed over at once, where SQLite's busy handler would poll with sleeps of up to 100 ms.
Other processes still wait on the busy timeout. PostgreSQL: the annotator's row is locked
``FOR UPDATE``, so only that annotator's own requests queue behind each other.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext

from sqlalchemy import select
from sqlalchemy.orm import Session

from nearmiss.errors import NotFoundError
from nearmiss.store import Store
from nearmiss.store.tables import Annotator

_writers: dict[str, threading.Lock] = {}
_writers_guard = threading.Lock()


def _begin_immediate(session: Session, annotator_id: int) -> Annotator | None:
    session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    return session.get(Annotator, annotator_id)


def _lock_annotator_row(session: Session, annotator_id: int) -> Annotator | None:
    return session.scalar(select(Annotator).where(Annotator.id == annotator_id).with_for_update())


LOCKS: dict[str, Callable[[Session, int], Annotator | None]] = {
    "sqlite": _begin_immediate,
    "postgresql": _lock_annotator_row,
}


def _process_lock(store: Store) -> threading.Lock | nullcontext:
    if store.engine.dialect.name != "sqlite":
        return nullcontext()
    with _writers_guard:
        return _writers.setdefault(store.url, threading.Lock())


@contextmanager
def annotator_transaction(store: Store, annotator_id: int) -> Iterator[tuple[Session, Annotator]]:
    """One committed-or-rolled-back transaction holding the annotator's write lock."""
    with _process_lock(store), store.sessionmaker() as session, session.begin():
        user = LOCKS[store.engine.dialect.name](session, annotator_id)
        if user is None:
            raise NotFoundError(f"no annotator with id {annotator_id}")
        yield session, user
