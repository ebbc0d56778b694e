"""Start a run's worker as a detached process (the app does, so a page rerun or a closed
browser tab never stops it). The store URL, which may hold a password, travels in the
environment (``NEARMISS_DB``), never on the command line, where `ps` would show it."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from nearmiss.store import Store


def detach(store: Store, module_args: list[str], log: Path | None = None) -> subprocess.Popen:
    """``python -m <module_args>`` in its own session on ``store``; its output goes to ``log``
    (appended) or nowhere."""
    env = {**os.environ, "NEARMISS_DB": store.url}
    with log.open("ab") if log else open(os.devnull, "wb") as out:
        return subprocess.Popen([sys.executable, "-m", *module_args], env=env, stdin=subprocess.DEVNULL,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
