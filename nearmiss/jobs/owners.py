"""Who runs what: one writing mining run per dataset, and runs whose process died.

A run records its owner (host, pid and the process's start time, so a reused pid is not
mistaken for it). ``dataset_lock`` lets one run at a time write a dataset: a second run
is refused with the holder's run id and owner (``DatasetBusy``), unless the holder's process
is gone, in which case its lock is taken over. ``ensure_free`` asks the same before a run
row is written, so a refused run usually leaves none. ``reap_dead_runs`` marks runs still ``pending`` or
``running`` whose process on this host is gone as ``interrupted``; the run lists call it.
"""
from __future__ import annotations

import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
from sqlalchemy import Row, delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nearmiss.errors import DatasetBusy
from nearmiss.store import Store
from nearmiss.store.tables import MiningLock, Run, utcnow

ACTIVE = ("pending", "running")


def owner_tag(pid: int | None = None) -> str:
    """``host:pid:start`` of a process (default: this one)."""
    proc = psutil.Process(pid or os.getpid())
    return f"{socket.gethostname()}:{proc.pid}:{proc.create_time():.2f}"


def owner_pid(owner: str) -> int:
    """The process id in an owner tag (``host:pid:start``)."""
    return int(owner.rsplit(":", 2)[1])


def owner_alive(owner: str | None) -> bool | None:
    """Whether the owner's process still runs; None when it cannot be told (another host, no owner)."""
    if not owner or owner.count(":") < 2:
        return None
    host, pid, _ = owner.rsplit(":", 2)
    if host != socket.gethostname():
        return None
    try:
        proc = psutil.Process(int(pid))
        return owner_tag(proc.pid) == owner and proc.status() != psutil.STATUS_ZOMBIE  # a zombie has exited
    except (psutil.NoSuchProcess, psutil.AccessDenied, ValueError):
        return False


def _interrupted(owner: str) -> dict:
    host, pid, _ = owner.rsplit(":", 2)
    return {"status": "interrupted", "finished_at": utcnow(),
            "message": f"interrupted: its process (pid {pid} on {host}) is gone"}


def reap_dead_runs(store: Store) -> int:
    """Mark active runs (of any kind) whose process is gone as interrupted; returns how many."""
    with store.session() as s:
        runs = s.execute(select(Run.id, Run.owner).where(Run.status.in_(ACTIVE), Run.owner.is_not(None))).all()
        dead = [(rid, owner) for rid, owner in runs if owner is not None and owner_alive(owner) is False]
        for rid, owner in dead:
            s.execute(update(Run).where(Run.id == rid, Run.status.in_(ACTIVE)).values(**_interrupted(owner)))
    return len(dead)


def _holder(session: Session, dataset: str) -> Row[int, str | None] | None:
    """(run id, owner) of the run holding ``dataset``'s lock, or None."""
    return session.execute(select(MiningLock.run_id, Run.owner).join(Run, Run.id == MiningLock.run_id)
                           .where(MiningLock.dataset == dataset)).first()


def _busy(dataset: str, run_id: int, owner: str | None) -> DatasetBusy:
    return DatasetBusy(f"dataset '{dataset}' is being mined by run {run_id} ({owner or 'owner unknown'}); "
                       f"wait for it to finish or cancel run {run_id} (Jobs page, or runs cancel), then try again")


def ensure_free(store: Store, dataset: str) -> None:
    """Refuse (DatasetBusy) when a run whose process may still live holds ``dataset``'s lock."""
    with store.session() as s:
        held = _holder(s, dataset)
    if held and owner_alive(held.owner) is not False:
        raise _busy(dataset, held.run_id, held.owner)


def _take(store: Store, dataset: str, run_id: int) -> None:
    with store.session() as s:
        held = _holder(s, dataset)
        if held and held.run_id != run_id:
            if owner_alive(held.owner) is not False:
                raise _busy(dataset, held.run_id, held.owner)
            s.execute(update(Run).where(Run.id == held.run_id, Run.status.in_(ACTIVE)).values(**_interrupted(held.owner)))
            s.execute(delete(MiningLock).where(MiningLock.dataset == dataset))
        if not held or held.run_id != run_id:
            s.add(MiningLock(dataset=dataset, run_id=run_id))


@contextmanager
def dataset_lock(store: Store, dataset: str, run_id: int) -> Iterator[None]:
    """Hold ``dataset``'s mining lock for ``run_id`` (see the module docstring)."""
    try:
        _take(store, dataset, run_id)
    except IntegrityError:  # another run took it between our look and our insert
        raise DatasetBusy(f"dataset '{dataset}' is being mined by another run; wait for it to finish") from None
    try:
        yield
    finally:
        with store.session() as s:
            s.execute(delete(MiningLock).where(MiningLock.dataset == dataset, MiningLock.run_id == run_id))
