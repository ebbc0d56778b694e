"""An annotator's progress: decisions made, candidates left, pace.

Pace ("decisions per hour") is measured over the last hour of work: the decisions made in
the past 60 minutes divided by the time since the first of them (at least one minute), so
a fresh start at 10 per minute reads 600/h rather than 10/h.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select

from curator.labeling.labels import is_active
from curator.labeling.queue import QueueConfig, remaining
from curator.store import Store
from curator.store.tables import Label, as_utc, utcnow


@dataclass(frozen=True)
class Progress:
    done: int              # active decisions (skips included)
    remaining: int         # candidates this annotator could still be served
    per_hour: float        # pace over the last hour of work
    labels: dict[str, int]  # active decisions per label


def _decision_times(store: Store, annotator_id: int, since: datetime) -> list[datetime]:
    with store.session() as s:
        return [as_utc(t) for t in s.scalars(select(Label.created_at).where(
            Label.annotator_id == annotator_id, Label.kind == "decision", Label.created_at >= since))]


def pace(times: list[datetime], now: datetime) -> float:
    """Decisions per hour from the decision times of the last hour."""
    recent = [t for t in times if t >= now - timedelta(hours=1)]
    if not recent:
        return 0.0
    span = max((now - min(recent)).total_seconds(), 60.0)
    return len(recent) * 3600.0 / span


def progress(store: Store, annotator_id: int, cfg: QueueConfig) -> Progress:
    """Done, remaining (under ``cfg``'s filters) and pace of one annotator."""
    now = utcnow()
    with store.session() as s:
        per_label = dict(s.execute(select(Label.label, func.count()).where(
            Label.annotator_id == annotator_id, Label.kind == "decision", is_active()).group_by(Label.label))
            .tuples().all())
    times = _decision_times(store, annotator_id, now - timedelta(hours=1))
    return Progress(sum(per_label.values()), remaining(store, annotator_id, cfg), pace(times, now), per_label)


def hourly(store: Store, annotator_id: int, hours: int = 24) -> list[tuple[datetime, int]]:
    """Decisions per clock hour over the last ``hours`` hours (oldest first, empty hours as 0)."""
    now = utcnow()
    start = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours - 1)
    counts = Counter(t.replace(minute=0, second=0, microsecond=0)
                     for t in _decision_times(store, annotator_id, start))
    return [(start + timedelta(hours=h), counts.get(start + timedelta(hours=h), 0)) for h in range(hours)]
