"""Start a run's worker as a detached process (the app does, so a page rerun or a closed
browser tab never stops it), recorded as the run's owner and watched until it exits."""
from __future__ import annotations

import os
import site
import subprocess
import sys
import threading
from pathlib import Path

from sqlalchemy import update

from nearmiss.jobs.owners import ACTIVE, owner_tag
from nearmiss.store import Store
from nearmiss.store.tables import Run, utcnow

IMPORT_ROOT = Path(__file__).resolve().parents[2]  # the folder holding this nearmiss/: a checkout or site-packages


def run_env(db_url: str) -> dict[str, str]:
    """A detached run's environment: the store URL in ``NEARMISS_DB`` (never on the command line, where `ps` shows
    it) and, when this nearmiss runs from a checkout, the checkout first on ``PYTHONPATH`` so the run executes the
    same code. An installed nearmiss needs no path: the same interpreter finds it (and site-packages on
    PYTHONPATH would go before the standard library)."""
    env = {**os.environ, "NEARMISS_DB": db_url}
    if IMPORT_ROOT not in {Path(p).resolve() for p in site.getsitepackages()}:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(IMPORT_ROOT), os.environ.get("PYTHONPATH")]))
    return env


def start_worker(store: Store, run_id: int, module_args: list[str], log: Path | None = None) -> subprocess.Popen:
    """Start ``python -m <module_args>``, the worker of the pending run ``run_id``, in its own session on
    ``store``, in this working folder; its output goes to ``log`` (appended) or nowhere. It is recorded
    as the run's owner at once, so a worker that dies before it claims the run is marked interrupted
    like one that dies later. A thread waits for it (so it never stays a zombie of this process, the
    app's server); when it exits with the run still pending or running (killed, or a crash before it
    could say so), the run is marked interrupted with its exit code."""
    with log.open("ab") if log else open(os.devnull, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", *module_args], env=run_env(store.url), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    tag = owner_tag(proc.pid)  # one that exited already is a zombie until waited for: its tag is still there
    with store.session() as s:
        s.execute(update(Run).where(Run.id == run_id, Run.status.in_(ACTIVE))
                  .values(owner=tag, stage="starting", stage_at=utcnow(), beat_at=utcnow()))
    threading.Thread(target=_watch, args=(store, run_id, proc, tag), name=f"reap-{proc.pid}", daemon=True).start()
    return proc


def _watch(store: Store, run_id: int, proc: subprocess.Popen, tag: str) -> None:
    code = proc.wait()
    with store.session() as s:  # only while the run is still this worker's (not resumed by another)
        s.execute(update(Run).where(Run.id == run_id, Run.status.in_(ACTIVE), Run.owner == tag)
                  .values(status="interrupted", finished_at=utcnow(),
                          message=f"interrupted: its process (pid {proc.pid}) ended with exit code {code} "
                                  "before the run finished"))
