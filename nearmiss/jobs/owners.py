"""Who runs what: one writing mining run per dataset, and runs whose process died.

A run records its owner (host, pid and the process's start time, so a reused pid is not
mistaken for it). ``dataset_lock`` lets one run at a time write a dataset: a second run
is refused with the holder's run id and owner (``DatasetBusy``), unless the holder's process
is gone, in which case its lock is taken over. ``ensure_free`` asks the same before a run
row is written, so a refused run usually leaves none. ``reap_dead_runs`` marks runs still ``pending`` or
``running`` whose process on this host is gone as ``interrupted``, and, where the process runs on
another host (a worker sharing a PostgreSQL store), those whose heartbeat stopped: a process that
claims a run beats its ``beat_at`` every HEARTBEAT seconds from a thread (``start_heartbeat``), so a
run silent for STALE seconds has lost its process (host clocks are assumed in step to well under
STALE). The run lists call it.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import psutil
from sqlalchemy import Row, delete, select, update
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from nearmiss.errors import DatasetBusy
from nearmiss.jobs.progress import ACTIVE
from nearmiss.store import Store
from nearmiss.store.tables import MiningLock, Run, as_utc, utcnow
from nearmiss.store.writes import rows_changed

log = logging.getLogger(__name__)
HEARTBEAT_SECONDS = 15.0  # NEARMISS_HEARTBEAT_SECONDS overrides it (tests shorten it)
STALE_SECONDS = 60.0  # no beat for this long: the process on another host is gone


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


def _interrupted(owner: str, silent: float | None = None) -> dict:
    host, pid, _ = owner.rsplit(":", 2)
    why = "is gone" if silent is None else f"sent no heartbeat for {silent:.0f} s"
    return {"status": "interrupted", "finished_at": utcnow(), "message": f"interrupted: its process (pid {pid} on {host}) {why}"}


def start_heartbeat(store: Store, run_id: int, every: float | None = None) -> threading.Thread:
    """Beat ``run_id``'s ``beat_at`` every ``every`` seconds (default HEARTBEAT_SECONDS) from a daemon
    thread until the run is no longer active or this process ends. A failed beat (the store briefly
    unreachable) is logged and the next one tried."""
    period = every or float(os.environ.get("NEARMISS_HEARTBEAT_SECONDS", HEARTBEAT_SECONDS))
    stop = threading.Event()

    def beat() -> None:
        while not stop.wait(period):
            try:
                with store.session() as s:
                    if not rows_changed(s, update(Run).where(Run.id == run_id, Run.status.in_(ACTIVE))
                                        .values(beat_at=utcnow())):
                        stop.set()  # the run ended
            except SQLAlchemyError as e:
                log.warning("run %d: heartbeat not written (%s); trying again in %.0f s", run_id, e, period)

    thread = threading.Thread(target=beat, name=f"heartbeat-run-{run_id}", daemon=True)
    thread.start()
    return thread


def reap_dead_runs(store: Store, stale: float = STALE_SECONDS) -> int:
    """Mark active runs (of any kind) as interrupted whose process is gone: on this host by its pid,
    on another by a heartbeat older than ``stale`` seconds; returns how many."""
    now = utcnow()
    with store.session() as s:
        runs = s.execute(select(Run.id, Run.owner, Run.beat_at)
                         .where(Run.status.in_(ACTIVE), Run.owner.is_not(None))).all()
        dead = []
        for rid, owner, beat_at in runs:
            if owner is None or owner.count(":") < 2:  # no owner tag to tell a process by
                continue
            alive = owner_alive(owner)
            silent = (now - as_utc(beat_at)).total_seconds() if beat_at else None
            if alive is False:
                dead.append((rid, _interrupted(owner)))
            elif alive is None and silent is not None and silent > stale:
                dead.append((rid, _interrupted(owner, silent)))
        for rid, values in dead:
            s.execute(update(Run).where(Run.id == rid, Run.status.in_(ACTIVE)).values(**values))
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
