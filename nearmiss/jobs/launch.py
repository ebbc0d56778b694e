"""Start a run's worker as a detached process (the app does, so a page rerun or a closed
browser tab never stops it)."""
from __future__ import annotations

import os
import site
import subprocess
import sys
import threading
from pathlib import Path

from nearmiss.store import Store

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


def detach(store: Store, module_args: list[str], log: Path | None = None) -> subprocess.Popen:
    """``python -m <module_args>`` in its own session on ``store``, in this working folder; its
    output goes to ``log`` (appended) or nowhere. A thread waits for it, so when it ends (or is
    killed) it does not stay a zombie of this process (the app's server)."""
    with log.open("ab") if log else open(os.devnull, "wb") as out:
        proc = subprocess.Popen([sys.executable, "-m", *module_args], env=run_env(store.url), stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    threading.Thread(target=proc.wait, name=f"reap-{proc.pid}", daemon=True).start()
    return proc
