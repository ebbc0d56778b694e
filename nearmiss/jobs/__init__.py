"""Detached runs: the mining worker, the training launcher, and run owners (who holds a
dataset's mining lock, which runs' processes died)."""
from __future__ import annotations

import os
import site
from pathlib import Path

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
