"""What the store holds, per dataset and split."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import func, select

from curator.store import Store
from curator.store.tables import Candidate, Item, Label


@dataclass
class DatasetStats:
    name: str
    split: str
    items: int
    candidates: int
    labels: int

    def as_dict(self) -> dict:
        return asdict(self)


def dataset_stats(store: Store) -> list[DatasetStats]:
    """Items, candidates and labels (decisions, retractions excluded) per dataset and split."""
    with store.session() as s:
        items = s.execute(select(Item.dataset, Item.split, func.count()).group_by(Item.dataset, Item.split)).all()
        cands = dict(((d, sp), n) for d, sp, n in s.execute(
            select(Item.dataset, Item.split, func.count(Candidate.id)).join(Candidate, Candidate.item_id == Item.id)
            .group_by(Item.dataset, Item.split)).all())
        labels = dict(((d, sp), n) for d, sp, n in s.execute(
            select(Item.dataset, Item.split, func.count(Label.id)).join(Candidate, Candidate.item_id == Item.id)
            .join(Label, Label.candidate_id == Candidate.id).where(Label.kind == "decision")
            .group_by(Item.dataset, Item.split)).all())
    return [DatasetStats(d, sp, n, cands.get((d, sp), 0), labels.get((d, sp), 0)) for d, sp, n in sorted(items)]
