"""Start a learning-curve run as a background process (the app does, so a page rerun or a
closed browser tab never stops training). Its progress and points live in the store."""
from __future__ import annotations

from nearmiss.jobs.launch import start_worker
from nearmiss.jobs.runs import reopen
from nearmiss.store import Store
from nearmiss.train.config import TrainConfig
from nearmiss.train.runs import create_run, run_dir, run_summary


def launch(store: Store, cfg: TrainConfig) -> int:
    """Create a pending run and start ``nearmiss train --run ID`` detached; returns the run id.
    The process log goes to ``log.txt`` in the run's folder (``runs.run_dir``)."""
    run_id = create_run(store, cfg)
    _start(store, cfg, run_id)
    return run_id


def resume(store: Store, run_id: int) -> None:
    """Reopen an interrupted, cancelled or failed run and start its worker, which computes only
    the points the run has not stored."""
    reopen(store, run_id)
    _start(store, TrainConfig.from_dict(run_summary(store, run_id)["config"]), run_id)


def _start(store: Store, cfg: TrainConfig, run_id: int) -> None:
    folder = run_dir(store, cfg, run_id)
    folder.mkdir(parents=True, exist_ok=True)
    start_worker(store, run_id, ["nearmiss.cli", "train", "--run", str(run_id)], log=folder / "log.txt")
