"""Start a learning-curve run as a background process (the app does, so a page rerun or a
closed browser tab never stops training). Its progress and points live in the store."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from curator.store import Store
from curator.trainer.config import TrainConfig
from curator.trainer.runs import create_run

ROOT = Path(__file__).resolve().parents[2]


def launch(store: Store, cfg: TrainConfig) -> int:
    """Create a pending run and start ``nearmiss train --run ID`` detached; returns the run id.
    The process log goes to ``<out_dir>/run-<id>/log.txt``."""
    run_id = create_run(store, cfg)
    run_dir = Path(cfg.out_dir) / f"run-{run_id}"
    run_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "NEARMISS_DB": store.url,
           "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p)}
    with (run_dir / "log.txt").open("ab") as log:
        subprocess.Popen([sys.executable, "-m", "curator.cli", "train", "--run", str(run_id)], env=env,
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return run_id
