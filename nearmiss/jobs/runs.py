"""Runs of every kind (mining, training, loads, exports) as jobs: claimed by the process that
works on them, listed, cancelled.

A run is created ``pending``; its process ``claim``s it (``running``, with its owner tag, and
a heartbeat: ``owners.start_heartbeat``) and refuses to start if it was cancelled meanwhile. ``cancel`` marks a pending or running
run ``cancelled``; a worker of its own on this host (mining, training) is stopped at once, and
every run's process stops at its next progress report (``progress.Reporter`` raises ``RunStopped``):
a load or export, which undoes its work first and may run in a thread of the app's server, is
never signalled. Whatever a mining or training run stored
before it stopped (mined batches, curve points) stays: each is its own transaction, and
``reopen`` makes the run pending again so its worker computes only what is missing.
"""
from __future__ import annotations

import os
import signal
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError

from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.jobs.owners import ACTIVE, owner_alive, owner_pid, owner_tag, reap_dead_runs, start_heartbeat
from nearmiss.jobs.progress import job_state
from nearmiss.registry import Registry
from nearmiss.store import Store
from nearmiss.store.tables import Run, utcnow
from nearmiss.store.writes import rows_changed


@dataclass(frozen=True)
class RunKind:
    """A kind of run: its name on pages, and whether cancel signals its process (else the process
    stops at its next progress report)."""

    name: str
    signalled: bool = True


RUN_KINDS = Registry("run kind", {"mine": RunKind("mining"), "train": RunKind("training"),
                                  "load": RunKind("load", signalled=False), "export": RunKind("export", signalled=False)})
NUMBER_TRIES = 5  # two runs of a kind created at the same moment: the second takes the next number


def create(store: Store, kind: str, **fields: Any) -> int:
    """A pending run of ``kind`` numbered after the kind's last run (mining run 1, 2, ...; training
    run 1, ...); returns its id, the key the CLI takes."""
    for _ in range(NUMBER_TRIES - 1):
        try:
            return _insert(store, kind, fields)
        except IntegrityError:  # another run of the kind took the number: take the next one
            continue
    return _insert(store, kind, fields)


def _insert(store: Store, kind: str, fields: dict[str, Any]) -> int:
    with store.session() as s:
        number = (s.scalar(select(func.max(Run.number)).where(Run.kind == kind)) or 0) + 1
        run = Run(kind=kind, number=number, status="pending", progress=0.0, **fields)
        s.add(run)
        s.flush()
        return run.id


def claim(store: Store, run_id: int, message: str) -> None:
    """Mark the pending (or re-adopted running) run as running in this process and start its
    heartbeat; ConfigError when it was cancelled or has ended."""
    with store.session() as s:
        done = rows_changed(s, update(Run).where(Run.id == run_id, Run.status.in_(ACTIVE))
                            .values(status="running", owner=owner_tag(), message=message, beat_at=utcnow()))
        if not done:
            status = s.scalar(select(Run.status).where(Run.id == run_id))
            raise ConfigError(f"run {run_id} is {status or 'missing'}; not started")
    start_heartbeat(store, run_id)


def reopen(store: Store, run_id: int) -> None:
    """Make an interrupted, cancelled or failed run pending again, to be resumed (its stored
    results stay); ConfigError for a run that is done or still has a live process."""
    reap_dead_runs(store)
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"no run {run_id}")
        if run.status == "done":
            raise ConfigError(f"run {run_id} is done; nothing to resume")
        if run.status == "running" and owner_alive(run.owner) is not False:
            raise ConfigError(f"run {run_id} is running ({run.owner or 'owner unknown'}); cancel it first")
        run.status, run.finished_at, run.message = "pending", None, "resuming"


def finish(store: Store, run_id: int, status: str, **values: Any) -> bool:
    """End a run with ``status`` (done, failed, interrupted, refused) and ``values``, unless it ended
    already (a cancelled run stays cancelled); whether it was ended here."""
    with store.session() as s:
        return rows_changed(s, update(Run).where(Run.id == run_id, Run.status.in_(ACTIVE))
                            .values(status=status, finished_at=utcnow(), **values)) == 1


def cancel(store: Store, run_id: int) -> str:
    """Cancel a pending or running run and stop its process; returns what was done."""
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"no run {run_id}")
        if run.status not in ACTIVE:
            raise ConfigError(f"run {run_id} is {run.status}; only pending or running runs can be cancelled")
        owner, kind = run.owner, RUN_KINDS.get(run.kind, RunKind(run.kind))
        s.execute(update(Run).where(Run.id == run_id)
                  .values(status="cancelled", finished_at=utcnow(), message="cancelled"))
    if not kind.signalled:
        return f"run {run_id} cancelled; it stops at its next progress report, undoing what it wrote"
    if owner and owner_alive(owner):
        os.kill(owner_pid(owner), signal.SIGTERM)
        return f"run {run_id} cancelled; its process was stopped"
    return f"run {run_id} cancelled"


def run_row(run: Run) -> dict[str, Any]:
    """A run as a job view lists it: its id (the CLI's key), its number within its kind, status,
    overall progress, message, dataset, times, and what it does now (stage, counter, rate, ETA, and
    ``doing``: all of those in one line)."""
    state = job_state(run)
    name = f"{RUN_KINDS.get(run.kind, RunKind(run.kind)).name} run {run.number}"
    return {"id": run.id, "number": run.number, "kind": run.kind, "name": name, "status": run.status,
            "progress": run.progress, "message": run.message, "dataset": run.config.get("dataset"),
            "started_at": run.started_at, "finished_at": run.finished_at, "stage": state.stage, "done": state.done,
            "total": state.total, "unit": state.unit, "rate": state.rate, "eta": state.eta,
            "updated_at": state.updated, "doing": state.describe()}


def job(store: Store, run_id: int) -> dict[str, Any]:
    """One run as ``run_row`` (marked interrupted first when its process died)."""
    reap_dead_runs(store)
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is None:
            raise NotFoundError(f"no run {run_id}")
        return run_row(run)


def list_runs(store: Store, kind: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The newest runs (of ``kind``, else every kind) as ``run_row``s, runs whose process died
    marked interrupted first."""
    if kind is not None:
        RUN_KINDS.lookup(kind, "kind")
    reap_dead_runs(store)
    with store.session() as s:
        q = select(Run).order_by(Run.id.desc()).limit(limit)
        return [run_row(r) for r in s.scalars(q.where(Run.kind == kind) if kind else q)]
