"""Mining on Ray Data (local mode, 2 CPUs, a small object store) against the in-process backend."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest
from sqlalchemy import func, select

from nearmiss.errors import ConfigError
from nearmiss.lm.models import load_embedder
from nearmiss.load.ingest import ingest
from nearmiss.mine.backends import make_backend
from nearmiss.mine.run import MineConfig, mine
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, MinedItem, Run
from tests.conftest import free_port

ray = pytest.importorskip("ray", reason="the ray extra is not installed (pip install nearmiss[ray])")
ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


@pytest.fixture(scope="module")
def ray_local():
    """One local Ray instance for the module (2 CPUs, 100 MB object store); yields its address."""
    ray.init(num_cpus=2, object_store_memory=100 * 2**20, include_dashboard=False, log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


def _scores(store: Store) -> dict[tuple[str, str], dict[str, float]]:
    with store.session() as s:
        return {(c.item_id, c.text): c.scores for c in s.scalars(select(Candidate))}


def _count(store: Store, what) -> int:
    with store.session() as s:
        return s.scalar(select(func.count(what)))


def _same(a: dict, b: dict) -> None:
    assert set(a) == set(b) and a
    for key, scores in a.items():
        assert set(scores) == set(b[key])
        assert all(abs(scores[m] - b[key][m]) < 1e-4 for m in scores), (key, scores, b[key])


def test_local_backend_never_imports_ray(sqlite_url, arc_items):
    ingest(Store(sqlite_url), arc_items[:4])
    code = ("import sys; from nearmiss.store import Store; from nearmiss.mine.run import MineConfig, mine; "
            f"mine(Store({sqlite_url!r}), MineConfig(dataset='arc-easy', pools=('distractors',), "
            "scorers=('embedding',)), progress=False); print('ray' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": ROOT},
                         capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"


def test_a_bad_address_is_one_clear_error_line(cli, sqlite_url, arc_items):
    ingest(Store(sqlite_url), arc_items[:2])
    base = ("mine", "--dataset", "arc-easy", "--scorers", "embedding", "--backend", "ray")
    nobody = f"127.0.0.1:{free_port()}"
    for address, says in ((nobody, f"--address {nobody}: no Ray cluster answers there"),
                          ("headnode", "--address 'headnode': give host:port"),
                          ("", "--address is empty: give host:port"), (" ", "--address is empty")):
        out = cli(*base, "--address", address, db=sqlite_url)
        assert out.returncode == 1 and out.stderr.strip().startswith(f"Error: {says}"), out.stderr
        assert len(out.stderr.strip().splitlines()) == 1 and "Traceback" not in out.stderr
    for address in (nobody, ""):
        local = cli("mine", "--dataset", "arc-easy", "--address", address, db=sqlite_url)
        assert local.returncode == 1 and "Error: --address and --actors need --backend ray" in local.stderr
    with pytest.raises(ConfigError, match="unknown backend 'spark'; expected one of local, ray"):
        make_backend("spark")


def test_ray_mines_what_local_mines_and_a_second_run_adds_nothing(tmp_path, arc_items, ray_local):
    local, distributed = (Store(f"sqlite:///{tmp_path / name}.db") for name in ("local", "ray"))
    cfg = MineConfig(dataset="arc-easy", scorers=("embedding",), batch_size=3)
    for store in (local, distributed):
        ingest(store, arc_items[:8])
    mine(local, cfg, progress=False)
    load_embedder.cache_clear()
    first = mine(distributed, cfg, progress=False, backend=make_backend("ray", actors=1))
    assert (first.items_mined, first.index) == (8, "flat")
    assert load_embedder.cache_info().currsize == 0  # questions and candidates were embedded on the actors
    _same(_scores(local), _scores(distributed))
    again = mine(distributed, cfg, progress=False, backend=make_backend("ray"))
    assert (again.items_mined, again.items_skipped, again.candidates_added) == (0, 8, 0)
    with distributed.session() as s:
        runs = list(s.scalars(select(Run).order_by(Run.id)))
        cands = list(s.scalars(select(Candidate)))
    assert [r.status for r in runs] == ["done", "done"] and runs[0].progress == 1.0
    assert all(c.meta["scored_by"] == {"embedding": "all-MiniLM-L6-v2"} for c in cands)


@pytest.mark.slow
def test_forty_items_with_lm_scores_match_local_within_1e4(tmp_path, arc_items, ray_local):
    local, distributed = (Store(f"sqlite:///{tmp_path / name}.db") for name in ("local", "ray"))
    cfg = MineConfig(dataset="arc-easy", dtype="float32", batch_size=8)
    for store in (local, distributed):
        ingest(store, arc_items[:40])
    mine(local, cfg, progress=False)
    result = mine(distributed, cfg, progress=False, backend=make_backend("ray", actors=1))
    assert result.items_mined == 40
    local_scores, ray_scores = _scores(local), _scores(distributed)
    _same(local_scores, ray_scores)
    assert {"lp_sum", "margin_char", "sim_gold"} <= set(next(iter(ray_scores.values())))
    again = mine(distributed, cfg, progress=False, backend=make_backend("ray"))
    assert (again.items_mined, again.candidates_added, _count(distributed, Candidate.id)) == (0, 0, len(ray_scores))


@pytest.mark.slow
def test_interrupting_a_ray_run_keeps_its_finished_batches(sqlite_url, arc_items, ray_local):
    store = Store(sqlite_url)
    ingest(store, arc_items[:30])
    # LM scoring: batches slow enough (not milliseconds) that the interrupt lands mid-run
    cmd = [sys.executable, "-m", "nearmiss.cli", "mine", "--dataset", "arc-easy", "--scorers", "lm",
           "--batch-size", "2", "--limit", "12", "--backend", "ray", "--address", ray_local]
    proc = subprocess.Popen(cmd, env={**os.environ, "NEARMISS_DB": sqlite_url, "PYTHONPATH": ROOT},
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600
    while _count(store, MinedItem.item_id) < 2 and time.time() < deadline and proc.poll() is None:
        time.sleep(0.3)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 130, err
    kept = _count(store, MinedItem.item_id)
    assert 2 <= kept < 12 and kept % 2 == 0  # whole batches only
    with store.session() as s:
        run = s.scalar(select(Run))
        mined = set(s.scalars(select(MinedItem.item_id)))
        with_cands = set(s.scalars(select(Candidate.item_id)))
    assert run.status == "interrupted" and mined == with_cands
    rest = mine(store, MineConfig(dataset="arc-easy", scorers=("lm",), limit=12, batch_size=2), progress=False,
                backend=make_backend("ray"))
    assert (rest.items_mined, rest.items_skipped) == (12 - kept, kept)
