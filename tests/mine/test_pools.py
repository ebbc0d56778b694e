"""The lm and failed_traces pools on real models and a real trace file."""
import json

from sqlalchemy import select

from nearmiss.load.ingest import ingest
from nearmiss.load.run import load_source
from nearmiss.mine.base import Proposal, gold_text
from nearmiss.mine.pools.lm import LMSampleConfig
from nearmiss.mine.registry import POOLS
from nearmiss.mine.run import MineConfig, Resources, mine
from nearmiss.store.schema import normalize_answer
from nearmiss.store.tables import Candidate, Item


def test_lm_pool_samples_distinct_answers_unlike_gold_reproducibly(sqlite_store, arc_items):
    ingest(sqlite_store, arc_items[:2])
    cfg = MineConfig(dataset="arc-easy", pools=("lm",), dtype="float32",
                     lm_samples=LMSampleConfig(samples=3, max_new_tokens=8))
    with sqlite_store.session() as s:
        items = list(s.scalars(select(Item).order_by(Item.id)))
    pool = POOLS["lm"](Resources(sqlite_store, cfg, items))
    first, second = [Proposal(it) for it in items], [Proposal(it) for it in items]
    pool.propose(first)
    pool.propose(second)
    assert [[c.text for c in p.candidates] for p in first] == [[c.text for c in p.candidates] for p in second]
    assert sum(len(p.candidates) for p in first) >= 2
    for p in first:
        texts = [normalize_answer(c.text) for c in p.candidates]
        assert len(set(texts)) == len(texts) and normalize_answer(gold_text(p.item)) not in texts
        assert all(c.origin == "lm_sample" and c.model == "smollm2-135m" and "\n" not in c.text
                   for c in p.candidates)


def test_failed_traces_of_the_task_are_scored_by_the_run(sqlite_store, tmp_path):
    rows = [{"task_id": "t1", "task": "What is 12 * 12?", "success": True,
             "messages": [{"role": "user", "content": "What is 12 * 12?"}, {"role": "assistant", "content": "144"}]},
            {"task_id": "t1", "task": "What is 12 * 12?", "success": False,
             "messages": [{"role": "user", "content": "What is 12 * 12?"}, {"role": "assistant", "content": "124"}]}]
    path = tmp_path / "traces.jsonl"
    path.write_text("\n".join(json.dumps(r) for r in rows))
    load_source(sqlite_store, str(path), name="math-traces")
    result = mine(sqlite_store, MineConfig(dataset="math-traces", pools=("failed_traces",), scorers=("embedding",)),
                  progress=False)
    assert (result.candidates_added, result.candidates_rescored) == (0, 1)
    with sqlite_store.session() as s:
        cand = s.scalar(select(Candidate))
    assert cand.origin == "failed_trace" and cand.text == "124" and cand.messages  # provenance kept
    assert cand.nearness is not None and {"sim_gold", "sim_question"} <= set(cand.scores)
