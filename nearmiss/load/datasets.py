"""What the store holds, per dataset and split; renaming and deleting a dataset (admins).

What is kept per dataset name (labeling settings, guidelines, rankers) moves with a renamed
dataset and goes with a deleted one, in the same transaction, so a dataset loaded later
under a freed name starts clean."""
from __future__ import annotations

from dataclasses import asdict, dataclass

from sqlalchemy import delete, func, select, update

from nearmiss.auth.accounts import require_role
from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.jobs.owners import ensure_free
from nearmiss.names import check_dataset_name
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Guideline, Item, Label, LabelSettings, Ranker
from nearmiss.store.writes import rows_changed

NAME_LIMIT = 200  # items.dataset is String(200)
KEPT_BY_NAME = (LabelSettings.dataset, Guideline.dataset, Ranker.scope)  # rows that belong to a dataset by its name


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


def _require_dataset(session, name: str) -> None:
    if session.scalar(select(Item.id).where(Item.dataset == name).limit(1)) is None:
        raise NotFoundError(f"no dataset named '{name}'")


def rename_dataset(store: Store, admin_id: int, old: str, new: str) -> None:
    """Give a dataset another name (items keep their ids, so labels and runs stay attached)."""
    new = check_dataset_name(new.strip())
    if len(new) > NAME_LIMIT:
        raise ConfigError(f"a dataset name needs 1 to {NAME_LIMIT} characters")
    ensure_free(store, old)  # a running miner writes under the old name
    with store.session() as s:
        require_role(s, admin_id, "admin")
        _require_dataset(s, old)
        if new == old:
            return
        if s.scalar(select(Item.id).where(Item.dataset == new).limit(1)) is not None:
            raise ConfigError(f"a dataset named '{new}' exists already; choose another name")
        s.execute(update(Item).where(Item.dataset == old).values(dataset=new))
        for column in KEPT_BY_NAME:  # rows left under the new name by no dataset (an older store) go first
            s.execute(delete(column.class_).where(column == new))
            s.execute(update(column.class_).where(column == old).values({column: new}))


def label_count(store: Store, name: str) -> int:
    """Label rows of every kind (decisions, retractions, adjudications) on a dataset's candidates."""
    with store.session() as s:
        return s.scalar(select(func.count(Label.id)).join(Candidate, Candidate.id == Label.candidate_id)
                        .join(Item, Item.id == Candidate.item_id).where(Item.dataset == name)) or 0


def delete_dataset(store: Store, admin_id: int, name: str, *, delete_labels: bool = False) -> int:
    """Delete a dataset with its candidates, claims and labels; returns the items deleted.
    A dataset with labels is refused unless ``delete_labels`` (the admin confirms, after an export),
    and so is one a mining run is writing."""
    ensure_free(store, name)
    with store.session() as s:
        require_role(s, admin_id, "admin")
        _require_dataset(s, name)
        labels = s.scalar(select(func.count(Label.id)).join(Candidate, Candidate.id == Label.candidate_id)
                          .join(Item, Item.id == Candidate.item_id).where(Item.dataset == name))
        if labels and not delete_labels:
            raise ConfigError(f"dataset '{name}' has {labels} labels: export them first, then confirm that "
                              "they are deleted with it")
        done = rows_changed(s, delete(Item).where(Item.dataset == name))
        for column in KEPT_BY_NAME:
            s.execute(delete(column.class_).where(column == name))
    return done
