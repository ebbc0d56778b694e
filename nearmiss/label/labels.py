"""Labels: append-only decisions, undo as a retraction, current and final labels,
adjudication.

Every write is one new row of ``labels``; nothing is updated or deleted. A *decision* is
an annotator's label for a candidate, a *retraction* undoes one earlier row (``retracts``),
an *adjudication* is an admin's final word. A row is *active* while no retraction points
at it. Each write carries a ``request_id`` (unique): sending the same request again
returns the first receipt instead of writing twice.

The final label of a candidate (latest active adjudication, else the majority of the
active decisions, skips not voting, else none: a tie) is derived by nearmiss.label.final_labels.
"""
from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, cast

from sqlalchemy import ColumnElement, and_, delete, exists, insert, literal, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from nearmiss.auth.accounts import require_role
from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.label.final_labels import OUTCOME_ORIGIN, FinalLabel, load_final_labels
from nearmiss.registry import Registry
from nearmiss.store import Store
from nearmiss.store.locks import annotator_transaction
from nearmiss.store.schema import LABELS, text_problem
from nearmiss.store.tables import Annotator, Candidate, Claim, Item, Label

REQUEST_ID = re.compile(r"[A-Za-z0-9_.:-]{1,64}")  # the browser sends 32 hex digits
COMMENT_CHARS = 2000  # a comment is a sentence or two, not a document
UNDO_DEPTH = 10  # an annotator's last 10 decisions stay editable (undo walks back through them)
VOTING_LABELS: tuple[str, ...] = tuple(x for x in LABELS if x != "skip")

Status = Literal["stored", "repeat", "passed", "refused"]


@dataclass(frozen=True)
class Receipt:
    """What became of one request: ``stored``, ``repeat`` (this request id was stored before;
    nothing new written), ``passed`` (taken, nothing to write) or ``refused`` (nothing
    written, ``reason`` says why)."""

    status: Status
    candidate_id: str | None
    label_id: int | None = None
    label: str | None = None
    reason: str = ""

    @property
    def taken(self) -> bool:
        return self.status != "refused"


_UNDO = aliased(Label, name="undo")

# The label of a decision or an adjudication: only retractions leave Label.label empty, so
# queries of those kinds select it as text.
DECIDED_LABEL = cast("InstrumentedAttribute[str]", Label.label)


def is_active(row=Label) -> ColumnElement[bool]:
    """True for a label row (``Label`` or an alias of it) that no retraction points at."""
    return ~exists().where(_UNDO.retracts == row.id)


def check_request_id(request_id: object) -> str:
    """The request id if it is 1-64 letters, digits or ``_.:-``; else a ConfigError."""
    if not isinstance(request_id, str) or not REQUEST_ID.fullmatch(request_id):
        shown = repr(request_id)[:40]
        raise ConfigError(f"request id: expected 1-64 letters, digits or _.:-, got {shown}")
    return request_id


def check_comment(comment: object) -> str | None:
    """A comment as stored: stripped text of at most COMMENT_CHARS characters (None when empty);
    a longer one is refused, never cut, and so is text the store cannot keep (``text_problem``)."""
    if comment is None:
        return None
    if not isinstance(comment, str):
        raise ConfigError(f"comment: expected text, got {type(comment).__name__}")
    if len(comment) > COMMENT_CHARS:
        raise ConfigError(f"comment: {len(comment)} characters, at most {COMMENT_CHARS}; shorten it")
    if problem := text_problem(comment):
        raise ConfigError(f"comment: {problem}; remove it")
    return comment.strip() or None


def _repeat(session: Session, request_id: str, annotator_id: int) -> Receipt | None:
    row = session.scalar(select(Label).where(Label.request_id == request_id))
    if row is None:
        return None
    if row.annotator_id != annotator_id:
        return Receipt("refused", row.candidate_id, reason="request id already used by another annotator")
    return Receipt("repeat", row.candidate_id, row.id, row.label)


def find_request(store: Store, request_id: str, annotator_id: int) -> Receipt | None:
    """The receipt of an earlier request with this id, or None if it was never stored."""
    with store.session() as s:
        return _repeat(s, request_id, annotator_id)


def record_decision(session: Session, annotator_id: int, candidate_id: str, label: str, *, request_id: str,
                    note: str | None = None, first_wrong_step: int | None = None, flagged: bool = False,
                    late: bool = False, guideline_version: int | None = None, release_claims: bool = True) -> Receipt:
    """``decide`` inside a transaction of ``annotator_transaction`` (the caller commits).
    Storing a decision also gives back the annotator's claims: its current work is done
    (``release_claims=False``: a change made elsewhere, the card on screen keeps its lease).
    ``note``: the annotator's comment; ``flagged``: needs discussion; ``late``: made on an
    expired lease; ``guideline_version``: the dataset's guidelines it was made under."""
    LABELS.lookup(label)
    check_request_id(request_id)
    note = check_comment(note)
    prior = (select(Label.request_id, Label.annotator_id, Label.candidate_id, Label.id, Label.label)
             .where(or_(Label.request_id == request_id,
                        and_(Label.annotator_id == annotator_id, Label.candidate_id == candidate_id,
                             Label.kind == "decision", is_active()))))
    values = {"candidate_id": candidate_id, "annotator_id": annotator_id, "kind": "decision", "label": label,
              "note": note, "first_wrong_step": first_wrong_step, "flagged": bool(flagged), "late": bool(late),
              "guideline_version": guideline_version, "request_id": request_id}
    row = select(*(literal(v, getattr(Label, k).type) for k, v in values.items())).where(~prior.exists())
    try:  # one statement in the common case: insert unless this request or a standing decision exists
        label_id = session.scalar(insert(Label).from_select(list(values), row).returning(Label.id))
    except IntegrityError as e:  # the candidate's foreign key (request ids are checked in the statement)
        raise NotFoundError(f"no candidate with id {candidate_id}") from e
    if label_id is not None:
        if release_claims:
            session.execute(delete(Claim).where(Claim.annotator_id == annotator_id))
        return Receipt("stored", candidate_id, label_id, label, reason="lease had expired; stored anyway" if late else "")
    found = session.execute(prior).all()
    same = next((r for r in found if r.request_id == request_id), None)
    if same is None:
        return Receipt("refused", candidate_id, reason="already labeled; undo to change it")
    if same.annotator_id != annotator_id:
        return Receipt("refused", same.candidate_id, reason="request id already used by another annotator")
    return Receipt("repeat", same.candidate_id, same.id, same.label)


def decide(store: Store, annotator_id: int, candidate_id: str, label: str, *, request_id: str,
           note: str | None = None, first_wrong_step: int | None = None, flagged: bool = False,
           guideline_version: int | None = None) -> Receipt:
    """Store one decision, committed before this returns. Refused when the annotator
    already has an active decision on the candidate (undo it first to change it)."""
    with annotator_transaction(store, annotator_id) as (s, _):
        return record_decision(s, annotator_id, candidate_id, label, request_id=request_id, note=note,
                               first_wrong_step=first_wrong_step, flagged=flagged,
                               guideline_version=guideline_version)


def record_undo(session: Session, annotator_id: int, *, request_id: str, kind: str = "decision") -> Receipt:
    """``undo`` inside a transaction of ``annotator_transaction`` (the caller commits)."""
    check_request_id(request_id)
    if prior := _repeat(session, request_id, annotator_id):
        return prior
    recent = session.scalars(select(Label).where(Label.annotator_id == annotator_id, Label.kind == kind)
                             .order_by(Label.id.desc()).limit(UNDO_DEPTH)).all()
    undone = set(session.scalars(select(Label.retracts).where(Label.retracts.in_([r.id for r in recent]))))
    target = next((r for r in recent if r.id not in undone), None)
    if target is None:
        return Receipt("refused", None, reason=f"nothing to undo (only the last {UNDO_DEPTH} can be undone)")
    row = Label(candidate_id=target.candidate_id, annotator_id=annotator_id, kind="retraction",
                retracts=target.id, request_id=request_id)
    session.add(row)
    session.flush()
    return Receipt("stored", target.candidate_id, row.id, target.label)


def undo(store: Store, annotator_id: int, *, request_id: str, kind: str = "decision") -> Receipt:
    """Retract the annotator's latest active row of ``kind`` among its last UNDO_DEPTH;
    the receipt names the candidate whose label was undone."""
    with annotator_transaction(store, annotator_id) as (s, _):
        return record_undo(s, annotator_id, request_id=request_id, kind=kind)


def adjudicate(store: Store, admin_id: int, candidate_id: str, label: str, *, request_id: str,
               note: str | None = None) -> Receipt:
    """An admin's final label for a candidate (the latest active adjudication wins)."""
    Registry.of_names("label", VOTING_LABELS).lookup(label)
    check_request_id(request_id)
    note = check_comment(note)
    with annotator_transaction(store, admin_id) as (s, _):
        require_role(s, admin_id, "admin")
        if prior := _repeat(s, request_id, admin_id):
            return prior
        if s.get(Candidate, candidate_id) is None:
            raise NotFoundError(f"no candidate with id {candidate_id}")
        row = Label(candidate_id=candidate_id, annotator_id=admin_id, kind="adjudication", label=label, note=note,
                    request_id=request_id)
        s.add(row)
        s.flush()
        return Receipt("stored", candidate_id, row.id, label)


@dataclass(frozen=True)
class Vote:
    """One active decision (skips excluded) with the dataset of its candidate."""

    candidate_id: str
    dataset: str
    annotator: str
    label: str


def votes(store: Store, *, datasets: Iterable[str] = ()) -> list[Vote]:
    """Every active, non-skip decision, optionally limited to some datasets."""
    q = (select(Label.candidate_id, Item.dataset, Annotator.name, DECIDED_LABEL)
         .join(Candidate, Candidate.id == Label.candidate_id).join(Item, Item.id == Candidate.item_id)
         .join(Annotator, Annotator.id == Label.annotator_id)
         .where(Label.kind == "decision", Label.label != "skip", is_active()).order_by(Label.id))
    if datasets := tuple(datasets):
        q = q.where(Item.dataset.in_(datasets))
    with store.session() as s:
        return [Vote(*row) for row in s.execute(q)]


def settled_by(final: FinalLabel) -> str | None:
    """Where a final label came from: ``adjudication``, ``outcome`` (a failed trajectory nobody
    decided), ``majority``, or ``tie`` (pending adjudication); None: no vote stands."""
    if final.adjudicated:
        return "adjudication"
    if final.by_outcome:
        return "outcome"
    if final.disputed:
        return "tie"
    return "majority" if final.label is not None else None


SOURCE_WORDS = {"adjudication": "{n} by adjudication", "majority": "{n} by majority",
                "outcome": "{n} failed by their outcome (nobody labeled them)",
                "tie": "{n} tied, pending adjudication (no final label yet)",
                "unlabeled": "{n} unlabeled (own wrong choices nobody labeled)"}


def sources_in_words(sources: dict[str, int]) -> str:
    """``final_sources`` counts as one phrase ("none yet" when empty): a tie never reads as final."""
    return ", ".join(SOURCE_WORDS[s].format(n=n) for s, n in sorted(sources.items())) or "none yet"


def final_sources(store: Store, *, datasets: Iterable[str] = ()) -> dict[str, int]:
    """How many candidates are settled by adjudication, by majority, by their outcome (failed
    trajectories nobody decided), or tied (pending adjudication)."""
    datasets = tuple(datasets)
    with store.session() as s:
        finals = load_final_labels(s, outcomes=True)
        if datasets:
            decided = or_(Candidate.id.in_(select(Label.candidate_id)), Candidate.origin == OUTCOME_ORIGIN)
            inside = set(s.scalars(select(Candidate.id).join(Item, Item.id == Candidate.item_id)
                                   .where(Item.dataset.in_(datasets), decided)))
            finals = {cid: f for cid, f in finals.items() if cid in inside}
    return dict(Counter(src for f in finals.values() if (src := settled_by(f))))


@dataclass(frozen=True)
class RecentDecision:
    label_id: int
    candidate_id: str
    text: str
    label: str
    at: datetime
    active: bool


def recent_decisions(store: Store, annotator_id: int, n: int = UNDO_DEPTH) -> list[RecentDecision]:
    """The annotator's last ``n`` decisions, newest first, with whether each still stands."""
    q = (select(Label.id, Label.candidate_id, Candidate.text, DECIDED_LABEL, Label.created_at, is_active())
         .join(Candidate, Candidate.id == Label.candidate_id)
         .where(Label.annotator_id == annotator_id, Label.kind == "decision").order_by(Label.id.desc()).limit(n))
    with store.session() as s:
        return [RecentDecision(*row) for row in s.execute(q)]
