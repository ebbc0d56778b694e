"""Mining runs on real ARC-Easy data with the bundled models: nearness, idempotence, resume."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from statistics import mean

import pytest
from sqlalchemy import func, select

from nearmiss.errors import ConfigError
from nearmiss.load.ingest import ingest
from nearmiss.mine.base import Proposal, gold_text
from nearmiss.mine.rank import RankConfig, rank
from nearmiss.mine.registry import SCORERS
from nearmiss.mine.run import MineConfig, Resources, mine
from nearmiss.store.schema import CandidateRecord, normalize_answer
from nearmiss.store.tables import Candidate, Item, MinedItem, Run

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))


def _count(store, what=Candidate.id, *where):
    with store.session() as s:
        return s.scalar(select(func.count(what)).where(*where))


def test_own_distractors_are_nearer_than_gold_answers_of_unrelated_items(sqlite_store, arc_items):
    items = arc_items[:20]
    ingest(sqlite_store, items)
    cfg = MineConfig(dataset="arc-easy", pools=("distractors",), scorers=("embedding", "lm"), dtype="float32")
    mine(sqlite_store, cfg, progress=False)
    with sqlite_store.session() as s:
        stored = list(s.scalars(select(Item).order_by(Item.id)))
        distractors = list(s.scalars(select(Candidate.nearness).where(Candidate.origin == "distractor")))
    assert len(distractors) == sum(len(it.choices) - 1 for it in items)
    # the gold answer of an item half the list away, scored as a candidate by the same scorers and formula
    proposals = []
    for i, item in enumerate(stored):
        other = gold_text(stored[(i + len(stored) // 2) % len(stored)])
        if normalize_answer(other) not in {normalize_answer(c) for c in item.choices}:
            proposals.append(Proposal(item, [CandidateRecord(text=other, origin="manual")]))
    resources = Resources(sqlite_store, cfg, stored)
    for name in cfg.scorers:
        SCORERS[name](resources).score(proposals)
    unrelated = [rank(p.candidates[0].scores, RankConfig()).nearness for p in proposals]
    assert len(unrelated) >= 16
    assert mean(distractors) > mean(unrelated) + 0.1, (mean(distractors), mean(unrelated))


def test_mining_twice_adds_nothing_and_a_longer_limit_continues(store, arc_items):
    ingest(store, arc_items[:30])
    cfg = MineConfig(dataset="arc-easy", scorers=("embedding",), limit=10, batch_size=4)
    first = mine(store, cfg, progress=False)
    assert first.items_mined == 10 and first.candidates_added > 10 * 3 and first.index == "flat"
    n = _count(store)
    again = mine(store, cfg, progress=False)
    assert (again.items_mined, again.items_skipped, again.candidates_added, _count(store)) == (0, 10, 0, n)
    more = mine(store, MineConfig(dataset="arc-easy", scorers=("embedding",), limit=15), progress=False)
    assert (more.items_mined, more.items_skipped) == (5, 10)  # limit is not part of the config hash
    with store.session() as s:
        runs = list(s.scalars(select(Run).order_by(Run.id)))
        cands = list(s.scalars(select(Candidate)))
    assert [r.status for r in runs] == ["done"] * 3 and runs[0].metrics["items_mined"] == 10
    assert all(c.run_id in {runs[0].id, runs[2].id} and c.miner in ("distractors", "neighbours") for c in cands)
    assert all(c.nearness is not None and c.suggested in ("near_miss", "far_miss") for c in cands)
    assert {"sim_gold", "sim_question"} <= set(cands[0].scores)
    assert cands[0].meta["scored_by"] == {"embedding": "all-MiniLM-L6-v2"}
    with store.session() as s:  # no candidate repeats its item's gold answer
        for c in cands:
            assert normalize_answer(c.text) != normalize_answer(gold_text(s.get(Item, c.item_id)))


def test_neighbours_come_from_the_nearest_other_items(sqlite_store, arc_items):
    ingest(sqlite_store, arc_items[:30])
    mine(sqlite_store, MineConfig(dataset="arc-easy", pools=("neighbours",), scorers=("embedding",), limit=5),
         progress=False)
    with sqlite_store.session() as s:
        cands = list(s.scalars(select(Candidate)))
        for c in cands:
            other = s.get(Item, c.meta["neighbour"])
            assert other.id != c.item_id and c.text in other.choices and c.origin == "neighbour"
        per_item = s.execute(select(Candidate.item_id, func.count(func.distinct(Candidate.meta["neighbour"])))
                             .group_by(Candidate.item_id)).all()
    assert len(per_item) == 5 and all(n == 3 for _, n in per_item)
    # the chosen neighbours are exactly the 3 other questions most similar to the item's own
    from nearmiss.lm.models import load_embedder

    items = arc_items[:30]
    vectors = load_embedder().encode([it.question for it in items], normalize_embeddings=True)
    sims = vectors @ vectors.T
    row = {it.id: i for i, it in enumerate(items)}
    for item_id, _ in per_item:
        i = row[item_id]
        expected = {items[j].id for j in sorted((j for j in range(30) if j != i), key=lambda j: -sims[i, j])[:3]}
        assert {c.meta["neighbour"] for c in cands if c.item_id == item_id} == expected


def test_cli_mine_twice_adds_zero_and_datasets_counts_candidates(cli, sqlite_url, arc_items):
    from nearmiss.store import Store

    store = Store(sqlite_url)
    ingest(store, arc_items[:12])
    args = ("mine", "--dataset", "arc-easy", "--scorers", "embedding", "--limit", "8")
    first = cli(*args, db=sqlite_url)
    assert first.returncode == 0, first.stderr
    assert "mined 8 items" in first.stdout and "neighbour index: flat" in first.stdout
    second = cli(*args, db=sqlite_url)
    assert second.returncode == 0 and "mined 0 items (8 already mined), 0 new candidates" in second.stdout
    stats = json.loads(cli("datasets", "--json", db=sqlite_url).stdout)["datasets"]
    assert stats[0]["candidates"] == _count(store) > 8 * 3
    missing = cli("mine", "--dataset", "nope", db=sqlite_url)
    assert missing.returncode == 1 and "no items for nope" in missing.stderr and "arc-easy" in missing.stderr
    store.dispose()


def test_ctrl_c_keeps_finished_batches_and_the_rerun_completes(sqlite_url, arc_items):
    from nearmiss.store import Store

    store = Store(sqlite_url)
    ingest(store, arc_items[:30])
    cmd = [sys.executable, os.path.join(HERE, "interrupt_after.py"), "2", "mine", "--dataset", "arc-easy",
           "--scorers", "embedding,lm", "--batch-size", "2", "--limit", "6", "--dtype", "float32"]
    env = {**os.environ, "NEARMISS_DB": sqlite_url, "PYTHONPATH": ROOT}
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 130, proc.stderr
    kept = _count(store, MinedItem.item_id)
    assert kept == 4  # the two whole batches stored before the interrupt, nothing of the third
    with store.session() as s:
        run = s.scalar(select(Run))
        mined = set(s.scalars(select(MinedItem.item_id)))
        with_cands = set(s.scalars(select(Candidate.item_id)))
    assert run.status == "interrupted" and mined == with_cands
    before = _count(store)
    rest = mine(store, MineConfig(dataset="arc-easy", limit=6, batch_size=4, dtype="float32"), progress=False)
    assert (rest.items_mined, rest.items_skipped) == (6 - kept, kept)
    assert rest.candidates_added == _count(store) - before > 0
    store.dispose()


def test_bad_settings_are_refused_with_the_choices():
    with pytest.raises(ConfigError, match="pools: unknown pool 'magic'; expected one of distractors, neighbours, lm"):
        MineConfig(dataset="arc-easy", pools=("distractors", "magic"))
    with pytest.raises(ConfigError, match="dtype"):
        MineConfig(dataset="arc-easy", dtype="int4")
    assert MineConfig.from_dict(MineConfig(dataset="d", pools=("lm",)).as_dict()).hash == \
        MineConfig(dataset="d", pools=("lm",), limit=5).hash  # the limit is not part of the hash
