"""Write transactions serialized per annotator, so a check-then-write (one active decision
per annotator and candidate, one lease per candidate) cannot race with itself.

SQLite: ``BEGIN IMMEDIATE`` takes the write lock up front, so writers queue on the busy
timeout instead of failing a read-to-write upgrade. PostgreSQL: the annotator's row is
locked ``FOR UPDATE``, so only that annotator's own requests queue behind each other.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.orm import Session

from curator.errors import NotFoundError
from curator.store import Store
from curator.tables import Annotator


def _begin_immediate(session: Session, annotator_id: int) -> Annotator | None:
    session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    return session.get(Annotator, annotator_id)


def _lock_annotator_row(session: Session, annotator_id: int) -> Annotator | None:
    return session.scalar(select(Annotator).where(Annotator.id == annotator_id).with_for_update())


LOCKS: dict[str, Callable[[Session, int], Annotator | None]] = {
    "sqlite": _begin_immediate,
    "postgresql": _lock_annotator_row,
}


@contextmanager
def annotator_transaction(store: Store, annotator_id: int) -> Iterator[tuple[Session, Annotator]]:
    """One committed-or-rolled-back transaction holding the annotator's write lock."""
    with store.sessionmaker() as session, session.begin():
        user = LOCKS[session.get_bind().dialect.name](session, annotator_id)
        if user is None:
            raise NotFoundError(f"no annotator with id {annotator_id}")
        yield session, user
