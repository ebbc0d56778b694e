"""Labeling guidelines per dataset: Markdown written by admins, versioned.

Every save appends a new version (1, 2, ...); nothing is overwritten, so the text a
decision was made under can be read back from the version stored with it.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from nearmiss.auth.accounts import require_role
from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.store import Store
from nearmiss.store.schema import text_problem
from nearmiss.store.tables import Annotator, Guideline, Item

GUIDELINE_CHARS = 50_000  # several pages of Markdown


@dataclass(frozen=True)
class GuidelineVersion:
    dataset: str
    version: int
    text: str
    author: str
    at: datetime


def save_guideline(store: Store, admin_id: int, dataset: str, text: str) -> int:
    """Store ``text`` as the next version of ``dataset``'s guidelines (admins only); its version."""
    if len(text) > GUIDELINE_CHARS:
        raise ConfigError(f"guidelines: {len(text)} characters, at most {GUIDELINE_CHARS}")
    if problem := text_problem(text):
        raise ConfigError(f"guidelines: {problem}")
    try:
        with store.session() as s:
            require_role(s, admin_id, "admin")
            if s.scalar(select(Item.id).where(Item.dataset == dataset).limit(1)) is None:
                raise NotFoundError(f"no dataset named '{dataset}'")
            version = (s.scalar(select(func.max(Guideline.version)).where(Guideline.dataset == dataset)) or 0) + 1
            s.add(Guideline(dataset=dataset, version=version, text=text, author_id=admin_id))
    except IntegrityError as e:  # another admin saved the same version first
        raise ConfigError(f"guidelines of '{dataset}' were saved by someone else meanwhile; reload and retry") from e
    return version


def current_versions(session: Session, datasets: Iterable[str]) -> dict[str, int]:
    """The latest guideline version of each dataset that has guidelines."""
    return dict(session.execute(select(Guideline.dataset, func.max(Guideline.version))
                                .where(Guideline.dataset.in_(tuple(datasets))).group_by(Guideline.dataset))
                .tuples().all())


def guideline_history(store: Store, dataset: str) -> list[GuidelineVersion]:
    """Every version of ``dataset``'s guidelines, newest first."""
    with store.session() as s:
        rows = s.execute(select(Guideline.dataset, Guideline.version, Guideline.text, Annotator.name,
                                Guideline.created_at).join(Annotator, Annotator.id == Guideline.author_id)
                         .where(Guideline.dataset == dataset).order_by(Guideline.version.desc())).all()
    return [GuidelineVersion(*r) for r in rows]


def guideline(store: Store, dataset: str, version: int | None = None) -> GuidelineVersion | None:
    """One version of ``dataset``'s guidelines (the latest when ``version`` is None); None if none."""
    history = guideline_history(store, dataset)
    if version is None:
        return history[0] if history else None
    return next((g for g in history if g.version == version), None)
