"""An annotator's progress: decisions made, candidates left, pace; and the team's per dataset.

Pace ("decisions per hour") is measured over the last hour of work: the decisions made in
the past 60 minutes divided by the time since the first of them, so a fresh start at 10
per minute reads 600/h rather than 10/h. It is given only once it means something: at
least PACE_MIN_DECISIONS decisions spread over at least PACE_MIN_MINUTES (a burst of five
quick keys in the first minute is no hourly rate). Done and remaining follow the same
queue filters.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from sqlalchemy import case, func, select

from nearmiss.label.labels import DECIDED_LABEL, is_active
from nearmiss.label.queue import QueueConfig, remaining
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Item, Label, as_utc, utcnow

PACE_MIN_DECISIONS = 10
PACE_MIN_MINUTES = 5


@dataclass(frozen=True)
class Progress:
    done: int                # active decisions (skips included) under the filters
    remaining: int           # candidates this annotator could still be served under the filters
    per_hour: float | None   # pace over the last hour of work (None: too few decisions yet)
    labels: dict[str, int]   # active decisions per label under the filters

    def moved(self, label: str, by: int) -> Progress:
        """After ``by`` (1: one more, -1: one undone) of this annotator's own decisions with ``label``
        on a candidate it could be served (a decision takes it out of what remains, an undo puts it back)."""
        labels = {**self.labels, label: self.labels.get(label, 0) + by}
        return replace(self, done=max(self.done + by, 0), remaining=max(self.remaining - by, 0),
                       labels={k: v for k, v in labels.items() if v > 0})


def _decision_times(store: Store, annotator_id: int, since: datetime) -> list[datetime]:
    with store.session() as s:
        return [as_utc(t) for t in s.scalars(select(Label.created_at).where(
            Label.annotator_id == annotator_id, Label.kind == "decision", Label.created_at >= since))]


def pace(times: list[datetime], now: datetime) -> float | None:
    """Decisions per hour from the decision times of the last hour; None until there are
    PACE_MIN_DECISIONS of them over PACE_MIN_MINUTES."""
    recent = [t for t in times if t >= now - timedelta(hours=1)]
    if len(recent) < PACE_MIN_DECISIONS:
        return None
    span = (now - min(recent)).total_seconds()
    if span < PACE_MIN_MINUTES * 60:
        return None
    return len(recent) * 3600.0 / span


def progress(store: Store, annotator_id: int, cfg: QueueConfig) -> Progress:
    """Done, remaining and per-label counts under ``cfg``'s filters, and the pace of one annotator."""
    now = utcnow()
    q = (select(DECIDED_LABEL, func.count()).where(Label.annotator_id == annotator_id, Label.kind == "decision",
                                                 is_active()).group_by(Label.label))
    if cfg.datasets or cfg.origins:
        q = q.join(Candidate, Candidate.id == Label.candidate_id).join(Item, Item.id == Candidate.item_id)
        if cfg.datasets:
            q = q.where(Item.dataset.in_(cfg.datasets))
        if cfg.origins:
            q = q.where(Candidate.origin.in_(cfg.origins))
    with store.session() as s:
        per_label = dict(s.execute(q).tuples().all())
    times = _decision_times(store, annotator_id, now - timedelta(hours=1))
    return Progress(sum(per_label.values()), remaining(store, annotator_id, cfg), pace(times, now), per_label)


def hourly(store: Store, annotator_id: int, hours: int = 24) -> list[tuple[datetime, int]]:
    """Decisions per clock hour over the last ``hours`` hours (oldest first, empty hours as 0)."""
    now = utcnow()
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    counts = Counter(t.replace(minute=0, second=0, microsecond=0)
                     for t in _decision_times(store, annotator_id, start))
    return [(start + timedelta(hours=h), counts.get(start + timedelta(hours=h), 0)) for h in range(hours)]


@dataclass(frozen=True)
class DatasetProgress:
    """How far the team got with one dataset, and one annotator's part in it."""

    dataset: str
    candidates: int
    labeled: int      # candidates with at least one standing vote (skips are no vote)
    votes: int        # standing votes of everyone
    mine: int         # standing votes of the annotator

    @property
    def done(self) -> float:
        """Share of the candidates labeled at least once."""
        return self.labeled / self.candidates if self.candidates else 0.0

    @property
    def my_share(self) -> float | None:
        """The annotator's share of the team's votes (None: no vote yet)."""
        return self.mine / self.votes if self.votes else None


def team_progress(store: Store, annotator_id: int) -> list[DatasetProgress]:
    """Per dataset (by name): candidates, those labeled, the team's standing votes and the annotator's."""
    sizes = (select(Item.dataset, func.count(Candidate.id)).outerjoin(Candidate, Candidate.item_id == Item.id)
             .group_by(Item.dataset))
    votes = (select(Item.dataset, func.count(func.distinct(Label.candidate_id)), func.count(Label.id),
                    func.coalesce(func.sum(case((Label.annotator_id == annotator_id, 1), else_=0)), 0))
             .join(Candidate, Candidate.id == Label.candidate_id).join(Item, Item.id == Candidate.item_id)
             .where(Label.kind == "decision", Label.label != "skip", is_active()).group_by(Item.dataset))
    with store.session() as s:
        counted = {name: (labeled, n, mine) for name, labeled, n, mine in s.execute(votes)}
        return [DatasetProgress(name, total, *counted.get(name, (0, 0, 0)))
                for name, total in sorted(s.execute(sizes).tuples())]
