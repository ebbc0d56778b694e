"""Stores with candidates to label, built through the real ingest path: MCQA items whose
wrong choices are stored as distractor candidates, then given nearness scores the way a
ranker writes them."""
from __future__ import annotations

from sqlalchemy import select, update
from streamlit.testing.v1 import AppTest

from nearmiss.auth.accounts import add_user
from nearmiss.auth.sessions import open_session
from nearmiss.load.ingest import ingest
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, ItemRecord
from nearmiss.store.tables import Annotator, Candidate, Item


def add_candidates(store: Store, n_items: int, *, dataset: str = "quiz", per_item: int = 3,
                   origin: str = "distractor") -> list[str]:
    """Load ``n_items`` MCQA items with ``per_item`` wrong choices each as candidates; give
    candidate k of the load nearness k / total. Returns candidate ids in nearness order."""
    records = []
    for n in range(n_items):
        wrong = [f"{dataset} wrong {n}.{j}" for j in range(per_item)]
        records.append(ItemRecord(
            dataset=dataset, split="test", native_id=f"q{n}", kind="mcqa", question=f"{dataset} question {n}?",
            choices=[f"{dataset} right {n}", *wrong], gold=0, answer=f"{dataset} right {n}",
            candidates=[CandidateRecord(text=w, origin=origin, miner="test", scores={"sim_gold": 0.1 * j})
                        for j, w in enumerate(wrong)]))
    ingest(store, records)
    with store.session() as s:
        ids = s.scalars(select(Candidate.id).join(Item, Item.id == Candidate.item_id)
                        .where(Item.dataset == dataset).order_by(Candidate.text)).all()
        for k, cid in enumerate(ids):
            near = k / len(ids)
            s.execute(update(Candidate).where(Candidate.id == cid).values(
                nearness=near, suggested="near_miss" if near >= 0.5 else "far_miss", possibly_correct=near > 0.95))
    store.analyze("candidates")  # as a mining run does once it has written scores
    return list(ids)


def users(store: Store, *names: str, role: str = "annotator") -> list[int]:
    """Create accounts (password: name + "-password") and return their ids."""
    return [add_user(store, name, role, name + "-password").id for name in names]


def signed_in(at: AppTest, store: Store, name: str, role: str = "annotator") -> AppTest:
    """``at`` signed in as ``name`` through a real session (the account is created if missing)."""
    with store.session() as s:
        uid = s.scalar(select(Annotator.id).where(Annotator.name == name))
    if uid is None:
        (uid,) = users(store, name, role=role)
    at.session_state["auth_token"] = open_session(store, uid)[0]
    return at
