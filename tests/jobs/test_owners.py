"""Mining runs: one writing run per dataset, and runs whose process died marked interrupted."""
import subprocess
import sys
import time

import psutil
import pytest
from sqlalchemy import select

from nearmiss.errors import StoreBusy
from nearmiss.jobs.mine import start_mining
from nearmiss.jobs.owners import dataset_lock, owner_alive, owner_tag
from nearmiss.jobs.runs import list_runs
from nearmiss.mine.run import MineConfig, create_run, mine
from nearmiss.store.tables import MiningLock, Run
from tests.labeling import add_candidates


def _running(store, cfg, owner):
    run_id = create_run(store, cfg)
    with store.session() as s:
        s.get(Run, run_id).status, s.get(Run, run_id).owner = "running", owner
    return run_id


@pytest.fixture
def dead_owner():
    """The owner tag of a real process that has since been killed."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    tag = owner_tag(proc.pid)
    proc.kill()
    proc.wait()
    return tag


def test_a_killed_mining_run_is_not_left_running(store, dead_owner):
    cfg = MineConfig(dataset="quiz")
    dead, alive = _running(store, cfg, dead_owner), _running(store, cfg, owner_tag())
    status = {r["id"]: (r["status"], r["message"]) for r in list_runs(store, kind="mine")}
    assert status[dead][0] == "interrupted" and "is gone" in status[dead][1]
    assert status[alive][0] == "running"


def test_a_second_run_of_a_dataset_is_refused_naming_the_holder(store):
    add_candidates(store, 3, dataset="quiz")
    cfg = MineConfig(dataset="quiz", pools=("distractors",), scorers=("embedding",))
    holder = _running(store, cfg, owner_tag())
    with dataset_lock(store, "quiz", holder):
        with pytest.raises(StoreBusy, match=f"dataset 'quiz' is being mined by run {holder} "):
            mine(store, cfg, progress=False)
        with pytest.raises(StoreBusy, match=f"dataset 'quiz' is being mined by run {holder} "):
            start_mining(store, cfg)  # the page's way: refused before a run is recorded or a worker started
        with store.session() as s:
            assert s.scalars(select(Run.id)).all() == [holder]  # no failed (or any) row for the refused runs
        adopted = create_run(store, cfg)  # a worker's run recorded before the holder took the lock
        with pytest.raises(StoreBusy, match="being mined by run"):
            mine(store, cfg, run_id=adopted, progress=False)
    with store.session() as s:
        refused = s.get(Run, adopted)
        assert refused.status == "refused" and refused.message.startswith("refused: dataset 'quiz' is being mined")
        assert s.scalars(select(MiningLock)).all() == []  # released when the holder finished


def test_the_lock_of_a_dead_run_is_taken_over(store, dead_owner):
    cfg = MineConfig(dataset="quiz")
    dead = _running(store, cfg, dead_owner)
    with dataset_lock(store, "quiz", dead):
        pass
    with store.session() as s:
        s.add(MiningLock(dataset="quiz", run_id=dead))  # as the killed process left it
    fresh = create_run(store, cfg)
    with dataset_lock(store, "quiz", fresh):
        with store.session() as s:
            assert s.get(MiningLock, "quiz").run_id == fresh and s.get(Run, dead).status == "interrupted"


def test_a_zombie_owner_counts_as_dead():
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    tag = owner_tag(proc.pid)
    assert owner_alive(tag)
    proc.kill()  # not waited for: a zombie until proc.wait()
    deadline = time.monotonic() + 10
    while psutil.Process(proc.pid).status() != psutil.STATUS_ZOMBIE and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not owner_alive(tag)
    proc.wait()
