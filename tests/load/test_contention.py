"""Loads beside other writers: two loads at once, and labeling while a load runs."""
import json
import os
import subprocess
import sys
import time
import uuid

from sqlalchemy import func, select

from nearmiss.label.desk import LabelDesk, Press
from nearmiss.store import Store
from nearmiss.store.tables import Item
from tests.conftest import ROOT
from tests.labeling import add_candidates, users


def _quiz(path, n):
    with path.open("w") as f:
        for i in range(n):
            f.write(json.dumps({"id": i, "question": f"question {i}?", "choices": [f"r{i}", f"w{i}"], "answer": 0}) + "\n")
    return path


def _load(f, db):
    return subprocess.Popen([sys.executable, "-m", "nearmiss.cli", "--db", db, "load", str(f)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_two_concurrent_loads_both_succeed_or_the_second_says_busy(tmp_path, db_url):
    Store(db_url).dispose()  # migrate once, before the two processes race to
    f = _quiz(tmp_path / "quiz.jsonl", 6000)
    procs = [_load(f, db_url) for _ in range(2)]
    outs = [(p.wait(timeout=300), *p.communicate()) for p in procs]
    for code, _out, err in outs:
        assert "Traceback" not in err and "question" not in err, err
        assert code == 0 or (code == 1 and err.strip().endswith("the store is busy with another load; retry")), err
    assert any(code == 0 for code, _, _ in outs)
    with Store(db_url).session() as s:
        assert s.scalar(select(func.count()).select_from(Item).where(Item.dataset == "quiz")) == 6000


PRESS_EVERY_S = 0.05  # 20 presses a second: far faster than a person, yet the loader gets its turns


def test_a_load_in_progress_never_holds_a_key_press_for_a_second(tmp_path, sqlite_url):
    store = Store(sqlite_url)
    add_candidates(store, 200, dataset="labeled")
    (annie,) = users(store, "annie")
    desk = LabelDesk(store, annie)
    f = _quiz(tmp_path / "big.jsonl", 30000)
    loader = _load(f, sqlite_url)
    waits, during_write = [], 0
    while loader.poll() is None:
        with store.session() as s:
            stored = s.scalar(select(func.count()).select_from(Item).where(Item.dataset == "big"))
        for action in ("near_miss", "undo"):  # a decision, then its undo: the queue never runs dry
            started = time.perf_counter()
            receipt = desk.press(Press(desk.current(), action, uuid.uuid4().hex))
            waits.append(time.perf_counter() - started)
            assert receipt.status == "stored", receipt
            time.sleep(PRESS_EVERY_S)
        during_write += 0 < stored < 30000
    out, err = loader.communicate()
    assert loader.returncode == 0, err
    assert max(waits) < 1.0, f"slowest press {max(waits):.2f} s of {len(waits)}"
    assert during_write >= 5, f"only {during_write} presses while the load was writing"
