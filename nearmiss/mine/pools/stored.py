"""Candidates the loader stored with the item (failed traces of the same task, given
wrong answers): proposed again so the run scores them."""
from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from nearmiss.mine.base import Proposal
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord
from nearmiss.store.tables import Candidate


class StoredPool:
    def __init__(self, store: Store, origin: str, name: str):
        self.store, self.origin, self.name = store, origin, name

    def propose(self, proposals: list[Proposal]) -> None:
        by_item = defaultdict(list)
        with self.store.session() as s:
            rows = s.execute(select(Candidate.item_id, Candidate.text, Candidate.miner, Candidate.messages).where(
                Candidate.origin == self.origin, Candidate.item_id.in_([p.item.id for p in proposals])))
            for item_id, text, miner, messages in rows:
                by_item[item_id].append(CandidateRecord(text=text, origin=self.origin, miner=miner, messages=messages))
        for p in proposals:
            for cand in by_item[p.item.id]:
                p.add(cand)
