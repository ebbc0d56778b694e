"""Resume a stopped run of a kind that can resume: it starts again on what it has not stored
(mining: the items its config has not mined; training: the curve points it has not stored)."""
from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select

from nearmiss.errors import NotFoundError
from nearmiss.jobs import mine, train
from nearmiss.registry import Registry
from nearmiss.store import Store
from nearmiss.store.tables import Run

STOPPED = ("cancelled", "interrupted", "failed")  # the statuses a run resumes from
RESUMERS: Registry[Callable[[Store, int], None]] = Registry("resumable run kind", {
    "mine": mine.resume,
    "train": train.resume,
})


def resumable(kind: str, status: str) -> bool:
    """Whether a run of ``kind`` in ``status`` can be resumed."""
    return kind in RESUMERS and status in STOPPED


def resume(store: Store, run_id: int) -> str:
    """Resume the stopped run ``run_id`` in a new worker; returns what was done."""
    with store.session() as s:
        kind = s.scalar(select(Run.kind).where(Run.id == run_id))
    if kind is None:
        raise NotFoundError(f"no run {run_id}")
    RESUMERS.lookup(kind, "kind")(store, run_id)
    return f"run {run_id} resumed"
