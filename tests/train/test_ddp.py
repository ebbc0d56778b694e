"""Data-parallel training: `accelerate launch` with 2 CPU processes (gloo) trains the same LoRA head
on both, and only the main process writes the run, its points and its adapters."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from safetensors.torch import load_file
from sqlalchemy import func, select

from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.store import Store
from nearmiss.store.tables import Run

ROOT = Path(__file__).resolve().parents[2]


def test_a_private_view_sees_its_own_writes_and_the_store_never_does(db_url):
    store = Store(db_url)
    with store.session() as s:
        s.add(Run(kind="train", config={}, config_hash="h", status="done"))
    view = Store(db_url, private=True)
    with view.session() as s:
        s.add(Run(kind="train", config={}, config_hash="h", status="pending"))
    with view.session() as s:
        assert sorted(s.scalars(select(Run.status))) == ["done", "pending"]
    with store.session() as s:
        s.add(Run(kind="mine", config={}, config_hash="h", status="done"))  # the store stays writable meanwhile
    with store.session() as s:
        assert sorted(s.scalars(select(Run.kind))) == ["mine", "train"]
    view.dispose()
    store.dispose()


def _adapter(folder: Path) -> dict:
    return load_file(next(folder.rglob("adapter_model.safetensors")))


@pytest.mark.slow
def test_two_cpu_processes_train_one_head_and_store_one_run(tmp_path):
    store = Store(f"sqlite:///{tmp_path / 'store.db'}")
    ingest(store, open_source("arc-easy", split="test", limit=8).items)
    ingest(store, open_source("arc-easy", split="validation", limit=3).items)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    cmd = [sys.executable, "-m", "accelerate.commands.launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
           "--mixed_precision", "no", "--dynamo_backend", "no", "-m", "nearmiss.train.launch", "--db", store.url,
           "train", "--methods", "sft", "--sizes", "0,4", "--eval-limit", "3", "--epochs", "1",
           "--set", "batch_size=2", "--set", "min_steps=2", "--set", "threads=1", "--set", "dtype=float32",
           "--out-dir", str(tmp_path / "runs"), "--json"]
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TMPDIR": str(scratch), "OMP_NUM_THREADS": "1"}
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert out.returncode == 0, out.stderr[-3000:]
    printed = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    with store.session() as s:
        assert s.scalar(select(func.count(Run.id))) == 1  # the secondary process wrote nothing
        run = s.scalar(select(Run))
    assert run.status == "done" and [p["size"] for p in printed[0]["points"]] == [0, 4]
    main, other = _adapter(tmp_path / "runs"), _adapter(next(scratch.glob("nearmiss-rank1-*")))
    lora_b = [k for k in main if "lora_B" in k]
    assert lora_b and any(main[k].abs().sum() > 0 for k in lora_b)  # trained (B starts at zero)
    assert main.keys() == other.keys() and all((main[k] == other[k]).all() for k in main)  # kept in sync
    store.dispose()
