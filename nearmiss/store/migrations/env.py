"""Alembic environment: runs on the connection the store hands over, or on a URL."""
from alembic import context
from sqlalchemy import create_engine

from nearmiss.store.tables import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        from nearmiss.store import resolve_url

        engine = create_engine(config.get_main_option("sqlalchemy.url") or resolve_url())
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()


run()
