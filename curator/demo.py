"""The demo project: a bundled ARC-Easy slice, CHAMP math traces and two accounts,
built idempotently."""
from __future__ import annotations

from sqlalchemy import select

from curator.accounts import add_user
from curator.loading import load_source
from curator.store import Store
from curator.tables import Annotator

DEMO_SOURCES: list[tuple[str, str, int]] = [("arc-easy", "validation", 200), ("champ", "test", 400)]
DEMO_USERS: list[tuple[str, str, str]] = [("admin", "admin", "admin"), ("annie", "annotator", "annie")]


def build_demo(store: Store) -> list[str]:
    """Load the demo data and create the demo accounts (name = password) if missing."""
    done = []
    for source, split, limit in DEMO_SOURCES:
        result = load_source(store, source, split=split, limit=limit)
        done.append(f"{source}/{split}: {result.items_added} items added")
    with store.session() as s:
        existing = set(s.scalars(select(Annotator.name)))
    for name, role, password in DEMO_USERS:
        if name not in existing:
            add_user(store, name, role, password)
        done.append(f"user {name} ({role}), password '{password}'")
    return done
