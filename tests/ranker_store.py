"""A store whose labels follow a known rule of mining's scores: a candidate is a near-miss
exactly when the LM's per-character log-likelihood ``lp_char`` is above -1.2, a score
the fixed blend does not use. Scores are random (seeded); nearness is the fixed blend's."""
from __future__ import annotations

import numpy as np
from sqlalchemy import select, update

from nearmiss.label.labels import decide
from nearmiss.load.ingest import ingest
from nearmiss.mine.rank import RankConfig, rank
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, ItemRecord
from nearmiss.store.tables import Candidate, Item
from tests.labeling import users


def rule(scores: dict[str, float]) -> str:
    return "near_miss" if scores["lp_char"] > -1.2 else "far_miss"


def scored_store(store: Store, n_items: int, *, dataset: str = "rule", seed: int = 0) -> list[str]:
    """Items with 3 scored wrong choices each; returns candidate ids (sorted)."""
    rng = np.random.default_rng(seed)
    records = []
    for n in range(n_items):
        cands = []
        for j in range(3):
            scores = {"sim_gold": float(rng.uniform(0, 1)), "sim_question": float(rng.uniform(0, 1)),
                      "lp_char": float(rng.normal(-1.2, 0.5)), "lp_token": float(rng.normal(-3, 1)),
                      "lp_sum": float(rng.normal(-8, 3)), "margin_token": float(rng.normal(0, 1)),
                      "margin_char": float(rng.normal(0, 0.3)), "margin_sum": float(rng.normal(0, 3))}
            cands.append(CandidateRecord(text=f"{dataset} wrong {n}.{j}", origin="distractor", miner="test",
                                         scores=scores))
        records.append(ItemRecord(dataset=dataset, split="test", native_id=f"q{n}", kind="mcqa",
                                  question=f"{dataset} question {n}?", choices=[f"right {n}", *(c.text for c in cands)],
                                  gold=0, answer=f"right {n}", candidates=cands))
    ingest(store, records)
    with store.session() as s:
        rows = s.execute(select(Candidate.id, Candidate.scores).join(Item).where(Item.dataset == dataset)).all()
        for cid, scores in rows:
            r = rank(scores, RankConfig())
            s.execute(update(Candidate).where(Candidate.id == cid).values(nearness=r.nearness, suggested=r.suggested))
    return sorted(cid for cid, _ in rows)


def label_by_rule(store: Store, ids: list[str], annotator: str = "ann") -> int:
    """One annotator labels ``ids`` by the rule; returns its account id."""
    (ann,) = users(store, annotator)
    with store.session() as s:
        scores = dict(s.execute(select(Candidate.id, Candidate.scores).where(Candidate.id.in_(ids))).tuples().all())
    for cid in ids:
        assert decide(store, ann, cid, rule(scores[cid]), request_id=f"{annotator}-{cid}").status == "stored"
    return ann
