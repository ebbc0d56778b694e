"""Start a learning-curve run as a background process (the app does, so a page rerun or a
closed browser tab never stops training). Its progress and points live in the store."""
from __future__ import annotations

import subprocess
import sys

from nearmiss.jobs import run_env
from nearmiss.store import Store
from nearmiss.train.config import TrainConfig
from nearmiss.train.runs import create_run, run_dir


def launch(store: Store, cfg: TrainConfig) -> int:
    """Create a pending run and start ``nearmiss train --run ID`` detached; returns the run id.
    The process log goes to ``log.txt`` in the run's folder (``runs.run_dir``)."""
    run_id = create_run(store, cfg)
    folder = run_dir(store, cfg, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    with (folder / "log.txt").open("ab") as log:
        subprocess.Popen([sys.executable, "-m", "nearmiss.cli", "train", "--run", str(run_id)], env=run_env(store.url),
                         stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    return run_id
