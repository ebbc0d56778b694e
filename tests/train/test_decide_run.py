"""A real deciding run: `nearmiss train --decide ...` adds seeds to the smallest run until its seed
cap, evaluating on two pooled splits, and records its decisions; and pooled eval splits."""
from __future__ import annotations

import json
import random

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.store import Store
from nearmiss.store.tables import CurvePoint
from nearmiss.train.config import TrainConfig
from nearmiss.train.data import load_splits
from nearmiss.train.decide import Sequential
from nearmiss.train.runs import create_run, list_runs, load_points, run_summary, update_run
from tests.conftest import ROOT
from tests.labeling import signed_in


def _load(store: Store) -> Store:
    ingest(store, open_source("arc-easy", split="test", limit=12).items)
    ingest(store, open_source("arc-easy", split="validation", limit=6).items)
    return store


def test_several_eval_splits_pool_their_items_held_out_of_training(sqlite_store):
    _load(sqlite_store)
    with sqlite_store.session() as s:
        one = load_splits(s, "arc-easy", "test", ["validation"], None, seed=0)
        both = [load_splits(s, "arc-easy", "test", ["validation", "test"], 10, seed=seed) for seed in (0, 1)]
    assert len(one.eval) == 6 and len(one.train) == 12
    assert [e.id for e in both[0].eval] == [e.id for e in both[1].eval]  # the same items for every seed
    pooled = {e.id for e in both[0].eval}
    validation = {e.id for e in one.eval}
    assert len(pooled) == 10 and pooled & validation and pooled - validation  # items of both splits
    assert len(both[0].train) == 12 - len(pooled - validation) and not pooled & {t.id for t in both[0].train}


@pytest.mark.slow  # about 3 min on a loaded 2-core machine; tests/train/test_decide.py drives the loop fast
def test_cli_train_decide_adds_seeds_to_the_cap_and_records_its_decisions(cli, sqlite_store, tmp_path):
    store = _load(sqlite_store)
    out = cli("train", "--methods", "likra", "--negatives", "distractor,unrelated", "--sizes", "2", "--seeds", "0,1",
              "--eval-split", "validation,test", "--eval-limit", "8", "--likra-w", "1", "--epochs", "1",
              "--decide", "likra/unrelated-likra/distractor@2", "--max-seeds", "3", "--budget", "1h",
              "--set", "min_steps=1", "--set", "batch_size=2", "--set", "threads=1", "--set", "dtype=float32",
              "--out-dir", str(tmp_path / "runs"), db=store.url)
    assert out.returncode == 0, out.stderr
    assert "after 2 seeds:" in out.stderr and "for 80% power" in out.stderr and "(power: " in out.stderr
    assert "decisions (repeated 95% confidence intervals" in out.stdout
    assert "stopped adding seeds: seed cap" in out.stdout
    (run,) = list_runs(store)
    summary = run_summary(store, run["id"])
    assert summary["status"] == "done" and sorted({p["seed"] for p in load_points(store, run["id"])}) == [0, 1, 2]
    decide = summary["metrics"]["decide"]
    assert decide["stopped"] == "seed cap" and decide["seeds"] == [0, 1, 2]
    (decision,) = summary["metrics"]["decisions"]
    assert decision["target"] == "likra/unrelated-likra/distractor@2" and decision["seeds"] == 3
    assert decision["items"] == 8 and decision["verdict"] in ("holds", "reversed", "equivalent", "undecided")
    assert decision["lo"] <= decision["d"] <= decision["hi"]
    shown = json.loads(cli("curve", str(run["id"]), "--json", db=store.url).stdout)
    assert shown["decisions"] == summary["metrics"]["decisions"]


def test_train_page_shows_a_runs_decisions(sqlite_store, monkeypatch):
    """Decisions stored the way a deciding run stores them (its points, then the loop's record)
    appear on the Train page with what undecided comparisons would need."""
    cfg = TrainConfig(methods=["likra"], negatives=["hardest", "distractor"], sizes=[0, 2], seeds=[0, 1],
                      decide=["all"], bootstrap=200)
    run_id = create_run(sqlite_store, cfg)
    rng = random.Random(0)
    with sqlite_store.session() as s:
        for seed in (0, 1):
            for neg in cfg.negatives:
                for size in cfg.sizes:
                    correct = "".join(rng.choice("01") for _ in range(20))
                    s.add(CurvePoint(run_id=run_id, method="likra", negatives=neg, size=size, acc=0.5, acc_norm=0.5,
                                     meta={"seed": seed, "correct": correct, "correct_norm": correct,
                                           "gold_mean": -1.0, "wrong_mean": -2.0}))
    plan = Sequential(cfg)
    for _seed in plan.seeds():
        plan.look(load_points(sqlite_store, run_id))
    update_run(sqlite_store, run_id, status="done", metrics=plan.record())
    monkeypatch.setenv("NEARMISS_DB", sqlite_store.url)
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "nearmiss/app/pages/train.py"), default_timeout=120)
    signed_in(at, sqlite_store, "boss", "admin").run()
    assert not at.exception and not at.error
    table = next(d.value for d in at.dataframe if "verdict" in d.value)
    (decision,) = plan.decisions.values()
    assert list(table["comparison"]) == ["likra/hardest-likra/distractor"]
    assert list(table["verdict"]) == [decision.verdict]
    if decision.verdict == "undecided":
        assert list(table["items for 80%"]) == [decision.need["items"]]
    assert any("Stopped adding seeds" in c.value for c in at.caption)
