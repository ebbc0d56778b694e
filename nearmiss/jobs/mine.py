"""Background mining: ``start_mining`` records a pending run and starts a detached worker
process that mines it, so the app stays responsive and the run survives page reloads.

    NEARMISS_DB=URL python -m nearmiss.jobs.mine --run-id N
"""
from __future__ import annotations

import argparse
import logging
import subprocess

from sqlalchemy import update

from nearmiss.jobs.launch import start_worker
from nearmiss.jobs.owners import ensure_free
from nearmiss.jobs.runs import reopen
from nearmiss.mine.run import MineConfig, create_run, mine
from nearmiss.store import Store, resolve_url
from nearmiss.store.tables import Run, utcnow


def start_mining(store: Store, cfg: MineConfig) -> int:
    """Record a pending run for ``cfg`` and start a worker on it; returns the run id. Refused
    (DatasetBusy), with no run recorded, while another run mines the dataset."""
    ensure_free(store, cfg.dataset)
    run_id = create_run(store, cfg)
    launch_worker(store, run_id)
    return run_id


def resume(store: Store, run_id: int) -> None:
    """Reopen an interrupted, cancelled or failed mining run and start its worker, which mines only
    the items the run's config has not mined (DatasetBusy while another run mines the dataset)."""
    with store.session() as s:
        run = s.get(Run, run_id)
        dataset = run.config.get("dataset") if run else None
    if dataset:
        ensure_free(store, dataset)
    reopen(store, run_id)
    launch_worker(store, run_id)


def launch_worker(store: Store, run_id: int) -> subprocess.Popen:
    """Start a detached worker on the pending run ``run_id``."""
    return start_worker(store, run_id, ["nearmiss.jobs.mine", "--run-id", str(run_id)])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description="Mine one pending run of the store named by NEARMISS_DB.")
    ap.add_argument("--run-id", type=int, required=True, help="id of the pending mining run")
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO)
    store = Store(resolve_url())
    with store.session() as s:
        run = s.get(Run, args.run_id)
        if run is None:
            ap.error(f"no run {args.run_id} in the store")
        config = run.config
    try:
        mine(store, MineConfig.from_dict(config), run_id=args.run_id, progress=False)
    except Exception as e:  # recorded on the run for the app; mine() records its own failures too
        with store.session() as s:
            s.execute(update(Run).where(Run.id == args.run_id, Run.status.in_(("pending", "running")))
                      .values(status="failed", message=f"failed: {e!r}"[:2000], finished_at=utcnow()))
        raise


if __name__ == "__main__":
    main()
