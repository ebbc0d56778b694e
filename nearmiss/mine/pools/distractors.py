"""The item's own wrong choices (MCQA)."""
from __future__ import annotations

from nearmiss.mine.base import Proposal
from nearmiss.store.schema import CandidateRecord


class DistractorPool:
    name = "distractors"

    def propose(self, proposals: list[Proposal]) -> None:
        for p in proposals:
            for i, choice in enumerate(p.item.choices or []):
                if i != p.item.gold:
                    p.add(CandidateRecord(text=choice, origin="distractor", miner=self.name, meta={"choice": i}))
