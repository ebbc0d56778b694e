"""An annotator's own decisions: found by text, dataset, label and date, and changed.

A change is append-only, as undo is: the standing decision on the candidate is retracted
and the new one appended, in one transaction; nothing is updated or deleted.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from nearmiss.errors import NotFoundError
from nearmiss.label.guidelines import current_versions
from nearmiss.label.labels import (
    DECIDED_LABEL,
    LABELS,
    Receipt,
    _repeat,
    check_comment,
    check_request_id,
    is_active,
    record_decision,
)
from nearmiss.store import Store
from nearmiss.store.locks import annotator_transaction
from nearmiss.store.schema import NEGATIVE_LABELS
from nearmiss.store.tables import Candidate, Item, Label

HISTORY_LIMIT = 500  # newest first; narrow the filters to reach older ones


@dataclass(frozen=True)
class HistoryRow:
    label_id: int
    candidate_id: str
    dataset: str
    question: str
    text: str
    label: str
    note: str | None
    flagged: bool
    at: datetime
    stands: bool  # False once undone or changed


def _day_start(d: date) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def history(store: Store, annotator_id: int, *, text: str = "", datasets: Iterable[str] = (),
            labels: Iterable[str] = (), since: date | None = None, until: date | None = None,
            limit: int = HISTORY_LIMIT) -> list[HistoryRow]:
    """The annotator's decisions, newest first: ``text`` found in the question, the candidate
    or the comment (case-insensitive), in ``datasets`` with ``labels``, made on days
    ``since`` .. ``until`` (UTC, both included)."""
    q = (select(Label.id, Label.candidate_id, Item.dataset, Item.question, Candidate.text, DECIDED_LABEL, Label.note,
                Label.flagged, Label.created_at, is_active())
         .join(Candidate, Candidate.id == Label.candidate_id).join(Item, Item.id == Candidate.item_id)
         .where(Label.annotator_id == annotator_id, Label.kind == "decision")
         .order_by(Label.id.desc()).limit(limit))
    if text := text.strip():
        q = q.where(or_(Item.question.icontains(text, autoescape=True), Candidate.text.icontains(text, autoescape=True),
                        Label.note.icontains(text, autoescape=True)))
    if datasets := tuple(datasets):
        q = q.where(Item.dataset.in_(datasets))
    if labels := tuple(labels):
        q = q.where(Label.label.in_(labels))
    if since:
        q = q.where(Label.created_at >= _day_start(since))
    if until:
        q = q.where(Label.created_at < _day_start(until) + timedelta(days=1))
    with store.session() as s:
        return [HistoryRow(label_id, cid, dataset, question, answer, label, note, flagged, at, stands)
                for label_id, cid, dataset, question, answer, label, note, flagged, at, stands in s.execute(q)]


_OLD = aliased(Label, name="old")


def change_decision(store: Store, annotator_id: int, label_id: int, label: str, *, request_id: str,
                    note: str | None = None, flagged: bool = False) -> Receipt:
    """Reopen the candidate of the annotator's decision ``label_id`` and decide it again:
    the decision standing on it (if any) is retracted and ``label`` appended, in one
    transaction. The first wrong step of a trace is kept when the new label is negative.
    Sending the same ``request_id`` again changes nothing (a ``repeat`` receipt), nor does saving
    what stands already: the same label, comment and flag (a ``passed`` receipt)."""
    check_request_id(request_id)
    note = check_comment(note)
    with annotator_transaction(store, annotator_id) as (s, _):
        if prior := _repeat(s, request_id, annotator_id):
            return prior
        row = s.get(Label, label_id)
        if row is None or row.annotator_id != annotator_id or row.kind != "decision":
            raise NotFoundError(f"no decision #{label_id} of yours")
        if label not in LABELS:
            return Receipt("refused", row.candidate_id, reason=LABELS.unknown(label))
        standing = s.scalar(select(_OLD).where(_OLD.candidate_id == row.candidate_id,
                                               _OLD.annotator_id == annotator_id, _OLD.kind == "decision",
                                               is_active(_OLD)))
        if standing is not None and (standing.label, standing.note, bool(standing.flagged)) == (label, note, flagged):
            return Receipt("passed", row.candidate_id, standing.id, label,
                           reason="this label, comment and flag stand already; nothing written")
        if standing is not None:
            s.add(Label(candidate_id=row.candidate_id, annotator_id=annotator_id, kind="retraction",
                        retracts=standing.id))
            s.flush()
        dataset = s.execute(select(Item.dataset).join(Candidate, Candidate.item_id == Item.id)
                            .where(Candidate.id == row.candidate_id)).scalar_one()
        step = row.first_wrong_step if label in NEGATIVE_LABELS else None
        return record_decision(s, annotator_id, row.candidate_id, label, request_id=request_id, note=note,
                               flagged=flagged, first_wrong_step=step, release_claims=False,
                               guideline_version=current_versions(s, [dataset]).get(dataset))
