"""A training run killed with -9 and resumed: every point once, the stored ones kept as they
were (not recomputed), the run done; a run that is done is not resumed."""
from __future__ import annotations

import json
import os
import signal
import time

import pytest
from sqlalchemy import select

from nearmiss.errors import ConfigError
from nearmiss.jobs.owners import owner_pid
from nearmiss.jobs.runs import reopen
from nearmiss.jobs.train import launch
from nearmiss.store import Store
from nearmiss.store.tables import CurvePoint, Run
from nearmiss.train.config import TrainConfig
from tests.train.test_curves import TINY, _load


def _points(store: Store, run_id: int) -> list[tuple[int, str, int, float]]:
    with store.session() as s:
        return [(p.id, p.method, p.size, p.acc) for p in
                s.scalars(select(CurvePoint).where(CurvePoint.run_id == run_id).order_by(CurvePoint.id))]


def test_a_run_killed_mid_curve_resumes_with_only_its_missing_points(cli, tmp_path):
    store = _load(Store(f"sqlite:///{tmp_path / 'store.db'}"))
    run_id = launch(store, TrainConfig(**TINY, out_dir=str(tmp_path / "runs")))
    deadline = time.monotonic() + 600
    while len(_points(store, run_id)) < 2:  # the zero-shot points are stored; the first trained size is under way
        assert time.monotonic() < deadline, (tmp_path / "runs" / f"run-{run_id}" / "log.txt").read_text()
        time.sleep(0.2)
    with store.session() as s:
        owner = s.get(Run, run_id).owner
    os.kill(owner_pid(owner), signal.SIGKILL)
    time.sleep(1)
    before = _points(store, run_id)
    assert 2 <= len(before) < 6
    out = cli("train", "--resume", str(run_id), "--json", db=store.url)
    assert out.returncode == 0, out.stderr
    after = _points(store, run_id)
    assert after[:len(before)] == before  # kept as they were, not recomputed
    assert sorted((m, z) for _, m, z, _ in after) == sorted((m, z) for m in ("sft", "likra") for z in (0, 1, 2))
    assert json.loads(out.stdout)["status"] == "done"
    with pytest.raises(ConfigError, match=f"run {run_id} is done; nothing to resume"):
        reopen(store, run_id)
    store.dispose()
