"""What pools and scorers share: the item view they work on and the small interfaces."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from nearmiss.store.schema import CandidateRecord, normalize_answer
from nearmiss.store.tables import Item


class HasGold(Protocol):
    """What :func:`gold_text` reads: an Item, or a query row with those columns."""

    @property
    def kind(self) -> str: ...
    @property
    def choices(self) -> list[Any] | None: ...
    @property
    def gold(self) -> int | None: ...
    @property
    def answer(self) -> str | None: ...


def gold_text(item: HasGold) -> str | None:
    """The item's correct answer as text (MCQA: the gold choice), or None when unknown."""
    if item.kind == "mcqa" and item.choices and item.gold is not None:
        return item.choices[item.gold]
    return item.answer


@dataclass
class Proposal:
    """An item and the candidates proposed for it; a proposed answer that is already stored
    keeps its row and provenance and gets the new scores."""

    item: Item
    candidates: list[CandidateRecord] = field(default_factory=list)

    def add(self, cand: CandidateRecord) -> bool:
        """Keep ``cand`` unless it is empty, equals gold or repeats a kept answer (a trace:
        a kept answer with the same conversation)."""
        key = normalize_answer(cand.text)
        gold = gold_text(self.item)
        if not key or (gold is not None and key == normalize_answer(gold)):
            return False
        if any(normalize_answer(c.text) == key and (c.messages or None) == (cand.messages or None)
               for c in self.candidates):
            return False
        self.candidates.append(cand)
        return True


class Pool(Protocol):
    """Proposes candidates for a batch of items."""

    name: str

    def propose(self, proposals: list[Proposal]) -> None: ...


class Scorer(Protocol):
    """Adds scores (``CandidateRecord.scores``) to every proposed candidate."""

    name: str
    model_name: str

    def score(self, proposals: list[Proposal]) -> None: ...
