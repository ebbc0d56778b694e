"""Opening the store: engine, connection settings, migrations and sessions.

SQLite by default (a file in the working directory, WAL, busy timeout, full fsync so a
committed label survives a crash) or PostgreSQL by URL. The URL comes from ``--db`` or
``NEARMISS_DB``.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker

DEFAULT_URL = "sqlite:///nearmiss.db"
MIGRATIONS = Path(__file__).parent / "migrations"


def resolve_url(url: str | None = None) -> str:
    """The store URL: the argument, else ``NEARMISS_DB``, else ``nearmiss.db`` here."""
    return url or os.environ.get("NEARMISS_DB") or DEFAULT_URL


def store_name(url: str) -> str:
    """The store's name, safe to show or record anywhere: the SQLite file's name or the
    database's name (never a path, host or credentials); ``memory`` for an in-memory SQLite."""
    database = make_url(url).database
    return Path(database).name if database and database != ":memory:" else "memory"


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA synchronous=FULL")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.close()


def make_engine(url: str) -> Engine:
    """An engine with the connection settings the store relies on."""
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


def _alembic_config():
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return cfg


def head_revision() -> str:
    """The newest Alembic revision this code knows (what a migrated store is at)."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic_config()).get_current_head()
    if head is None:
        raise RuntimeError("no schema migrations found beside nearmiss/store/engine.py")
    return head


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest Alembic revision."""
    from alembic import command

    cfg = _alembic_config()
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "head")


class Store:
    """A migrated database and a session factory over it."""

    def __init__(self, url: str | None = None, *, upgrade: bool = True, private: bool = False):
        self.url = resolve_url(url)
        self.engine = make_engine(self.url)
        if private:
            self.sessionmaker = self._private_view()
            return
        if upgrade:
            migrate(self.engine)
        self.sessionmaker = sessionmaker(self.engine, expire_on_commit=False)

    def _private_view(self) -> sessionmaker:
        """Sessions that read the store and see their own writes, which no one else ever sees
        (the secondary processes of a data-parallel launch): a SQLite store is copied to a
        scratch file first (no write lock held on the real one); any other runs every session
        as a savepoint of one transaction that is never committed."""
        if self.url.startswith("sqlite"):
            import sqlite3
            import tempfile

            copy = Path(tempfile.mkdtemp(prefix="nearmiss-view-")) / "store.db"
            with sqlite3.connect(self.engine.url.database or ":memory:") as src, sqlite3.connect(copy) as dst:
                src.backup(dst)
            self.engine.dispose()
            self.engine = make_engine(f"sqlite:///{copy}")
            return sessionmaker(self.engine, expire_on_commit=False)
        self._connection = self.engine.connect()
        self._connection.begin()
        return sessionmaker(bind=self._connection, expire_on_commit=False, join_transaction_mode="create_savepoint")

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in one transaction: committed on success, rolled back on error."""
        with self.sessionmaker() as s, s.begin():
            yield s

    def analyze(self, *tables: str) -> None:
        """Refresh PostgreSQL's planner statistics of ``tables`` after a bulk write. Until its
        autovacuum gets to them (a minute or more), a table loaded just now reads as empty and
        the label queue's probes sort every candidate instead of walking their index. SQLite's
        plans here need no statistics: nothing to do."""
        if self.engine.dialect.name != "postgresql" or getattr(self, "_connection", None) is not None:
            return  # (a private view's writes are never committed: no statistics to refresh)
        with self.engine.connect() as c:
            c.execution_options(isolation_level="AUTOCOMMIT").exec_driver_sql(f"ANALYZE {', '.join(tables)}")

    def dispose(self) -> None:
        if getattr(self, "_connection", None) is not None:  # a private view's open transaction
            self._connection.close()
        self.engine.dispose()


@lru_cache(maxsize=8)
def shared_store(url: str) -> Store:
    """One Store per URL per process (the app and long-lived workers share it)."""
    return Store(url)
