"""Desks: what one person has on screen and what a key press does to it.

The browser sends every key with the id of the candidate that was on screen when it was
pressed and a fresh request id. A desk takes a press only for the candidate it served,
commits the write before it serves the next candidate, stores a request sent twice once,
and answers every press with a receipt (stored, repeat, or refused with the reason) that
the browser shows. ``LabelDesk`` serves an annotator's queue; ``ReviewDesk`` walks an
admin through open disagreements.
"""
from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nearmiss.label.agreement import disagreements
from nearmiss.label.card import NO_SUGGESTION, CardSettings, plain_card, settings_column
from nearmiss.label.guidelines import GuidelineVersion, guideline
from nearmiss.label.labels import (
    LABELS,
    VOTING_LABELS,
    Receipt,
    adjudicate,
    check_comment,
    check_request_id,
    find_request,
    record_decision,
    record_undo,
    undo,
)
from nearmiss.label.progress import Progress, progress
from nearmiss.label.queue import QueueConfig, holds_lease, renew, serve_next, take_claim
from nearmiss.registry import Registry
from nearmiss.store import Store
from nearmiss.store.locks import annotator_transaction
from nearmiss.store.schema import NEGATIVE_LABELS
from nearmiss.store.tables import Candidate, Guideline, Item, utcnow

ACCEPT = "accept"  # the action of Enter: the label suggested on the card
LABEL_ACTIONS = Registry.of_names("action", ("undo", *LABELS, ACCEPT))  # the Label page's keys
PROGRESS_SECONDS = 15.0  # remaining is counted afresh at most this often (see LabelDesk.progress)
REVIEW_ACTIONS = Registry.of_names("action", ("undo", "skip", *VOTING_LABELS))  # the Review page's keys


@dataclass(frozen=True)
class Press:
    """One key press as the browser sends it; ``step``: the first wrong step marked on a
    trace (index into the candidate's messages), ``comment`` and ``flag`` (needs
    discussion): sent with a decision. A malformed request id or comment is refused here."""

    candidate_id: str | None
    action: str
    request_id: str
    step: int | None = None
    comment: str | None = None
    flag: bool = False

    def __post_init__(self) -> None:
        check_request_id(self.request_id)
        object.__setattr__(self, "comment", check_comment(self.comment))
        object.__setattr__(self, "flag", self.flag is True)


def candidate_view(session: Session, candidate_id: str) -> tuple[dict[str, Any], CardSettings]:
    """Everything a card may show about a candidate and its item (JSON-ready), and the card
    settings in force, read in one query."""
    version = select(func.max(Guideline.version)).where(Guideline.dataset == Item.dataset).scalar_subquery()
    c, item, guideline_version, settings = session.execute(
        select(Candidate, Item, version, settings_column()).join(Item, Item.id == Candidate.item_id)
        .where(Candidate.id == candidate_id)).one()
    scores = {k: round(v, 3) if isinstance(v, float) else v for k, v in (c.scores or {}).items()}
    return {"id": c.id, "text": c.text, "origin": c.origin, "miner": c.miner, "model": c.model, "scores": scores,
            "nearness": None if c.nearness is None else round(c.nearness, 3), "suggested": c.suggested,
            "p_near": None if c.p_near is None else round(c.p_near, 3),
            "possibly_correct": bool(c.possibly_correct), "dataset": item.dataset, "kind": item.kind,
            "question": item.question, "context": item.context, "choices": item.choices, "gold": item.gold,
            "answer": item.answer, "messages": c.messages or [],
            "reference": item.messages if item.kind == "trace" else None,
            "guideline_version": guideline_version}, CardSettings.stored(settings)


def step_problem(card: dict[str, Any], action: str, step: Any) -> str | None:
    """Why a first wrong step cannot go with this decision on this card (None: it can).

    A step is the index of an assistant message of the candidate's trace, and only goes
    with a negative label (a trace that went wrong somewhere)."""
    if step is None:
        return None
    if not isinstance(step, int) or isinstance(step, bool):
        return f"first wrong step must be a message index, got {step!r}"
    if action not in NEGATIVE_LABELS:
        return f"a first wrong step goes with {' or '.join(NEGATIVE_LABELS)}, not {action}"
    messages = card.get("messages") or []
    if not 0 <= step < len(messages):
        return f"first wrong step {step} is not a message of this trace (0..{len(messages) - 1})"
    if messages[step].get("role") != "assistant":
        return f"first wrong step {step} is a {messages[step].get('role')} message, not an assistant step"
    return None


def _refused(reason: str, candidate_id: str | None = None) -> Receipt:
    return Receipt("refused", candidate_id, reason=reason)


@dataclass
class LabelDesk:
    """An annotator's desk over its queue; ``shown`` is the candidate on its screen."""

    store: Store
    annotator_id: int
    cfg: QueueConfig = field(default_factory=QueueConfig)
    shown: str | None = None
    _served: bool = False
    _card: dict[str, Any] | None = None
    _held_until: datetime | None = None  # the lease on ``shown`` surely lasts until then
    settings: CardSettings = field(default_factory=CardSettings)  # read with the card on screen
    _progress: Progress | None = None
    _progress_at: float = 0.0  # time.monotonic() when it was counted
    _rules: tuple[tuple[str, int], GuidelineVersion | None] | None = None

    def _show(self, session: Session, candidate_id: str | None) -> None:
        self.shown, self._served = candidate_id, True
        if candidate_id is not None:
            view, self.settings = candidate_view(session, candidate_id)
            self._card = plain_card(view, self.settings)
        else:
            self._card = None
        # a resumed claim is served while it has more than half its lease left
        self._held_until = utcnow() + timedelta(seconds=self.cfg.lease_seconds / 2)

    def _late(self, session: Session, candidate_id: str) -> bool:
        """Whether the lease on the candidate ran out (asked of the store only once it may have)."""
        if self._held_until is not None and utcnow() < self._held_until:
            return False
        return not holds_lease(session, self.annotator_id, candidate_id)

    def current(self) -> str | None:
        """The candidate to show, served (and claimed) on first use; an empty desk asks the
        queue again each time (candidates held by others come free)."""
        if not self._served or self.shown is None:
            with annotator_transaction(self.store, self.annotator_id) as (s, _):
                self._show(s, serve_next(s, self.annotator_id, self.cfg))
        return self.shown

    def configure(self, cfg: QueueConfig) -> None:
        """New queue order or filters: serve from them from now on."""
        if cfg != self.cfg:
            self.cfg, self._served, self._progress = cfg, False, None

    def refresh(self) -> None:
        """Read the card on screen again on next use (the card settings changed)."""
        self._served = False

    def press(self, p: Press) -> Receipt:
        """Write what the key means and serve the next card, in one transaction (one commit)."""
        if p.action == "undo":
            with annotator_transaction(self.store, self.annotator_id) as (s, _):
                receipt = record_undo(s, self.annotator_id, request_id=p.request_id)
                undone = receipt.candidate_id if receipt.status == "stored" else None
                if undone is not None:  # show the undone candidate again, to be relabeled, unless someone holds it now
                    back = take_claim(s, self.annotator_id, undone, self.cfg)
                    self._show(s, undone if back else serve_next(s, self.annotator_id, self.cfg))
            if undone is not None:
                self._count(receipt.label, -1)
            return receipt
        if p.action not in LABEL_ACTIONS:
            return _refused(LABEL_ACTIONS.unknown(p.action), p.candidate_id)
        if p.candidate_id is None or p.candidate_id != self.current():
            return find_request(self.store, p.request_id, self.annotator_id) or _refused(
                "that candidate is no longer on screen", p.candidate_id)
        card = self._card or {}
        label = card.get("suggested") if p.action == ACCEPT else p.action
        if label is None or label not in LABELS:
            return _refused(NO_SUGGESTION, p.candidate_id)
        step = p.step if card.get("kind") == "trace" else None  # a step marked on an earlier card is no step here
        if problem := step_problem(card, label, step):
            return _refused(problem, p.candidate_id)
        with annotator_transaction(self.store, self.annotator_id) as (s, _):
            late = self._late(s, p.candidate_id)
            receipt = record_decision(s, self.annotator_id, p.candidate_id, label, request_id=p.request_id,
                                      first_wrong_step=step, note=p.comment, flagged=p.flag, late=late,
                                      guideline_version=card.get("guideline_version"))
            self._show(s, serve_next(s, self.annotator_id, self.cfg, resume=receipt.status != "stored"))
        if receipt.status == "stored":
            self._count(label, 1)
        return receipt

    def progress(self) -> Progress:
        """Done, remaining and pace under the desk's filters. Counting what remains reads every
        candidate, so it is counted afresh at most every PROGRESS_SECONDS (others' work shows
        then); meanwhile this desk's own decisions and undos move it at once."""
        if self._progress is None or time.monotonic() - self._progress_at > PROGRESS_SECONDS:
            self._progress, self._progress_at = progress(self.store, self.annotator_id, self.cfg), time.monotonic()
        return self._progress

    def _count(self, label: str | None, by: int) -> None:
        if self._progress is not None and label is not None:
            self._progress = self._progress.moved(label, by)

    def guideline(self) -> GuidelineVersion | None:
        """The guidelines the card on screen was served under (read once per dataset and version)."""
        card = self.view()
        key = (card["dataset"], card["guideline_version"]) if card and card.get("guideline_version") else None
        if key is None:
            return None
        if self._rules is None or self._rules[0] != key:
            self._rules = key, guideline(self.store, *key)
        return self._rules[1]

    def heartbeat(self) -> bool:
        """Renew the lease on the candidate on screen (the card calls this while it is shown);
        False when there is none or the lease went to someone else (a decision is still stored)."""
        shown, now = self.shown, utcnow()
        if shown is None or not renew(self.store, self.annotator_id, shown, self.cfg):
            return False
        if shown == self.shown:  # renew leaves at least half the lease
            self._held_until = now + timedelta(seconds=self.cfg.lease_seconds / 2)
        return True

    def view(self) -> dict[str, Any] | None:
        """The card of the candidate on screen (read with it when it was served)."""
        self.current()
        return self._card


@dataclass
class ReviewDesk:
    """An admin's desk over the open disagreements of some datasets."""

    store: Store
    admin_id: int
    datasets: tuple[str, ...] = ()
    skipped: set[str] = field(default_factory=set)
    shown: str | None = None
    open: int = 0  # open disagreements when the card was last chosen
    _votes: dict[str, str] = field(default_factory=dict)
    _notes: dict[str, str] = field(default_factory=dict)
    _prefer: str | None = None

    def current(self) -> str | None:
        """The disagreement to show: the one just undone if any, else the first not skipped
        (skipped ones come round again once nothing else is open)."""
        if self.shown is None:
            every = disagreements(self.store, datasets=self.datasets)
            self.open = len(every)
            open_ = [d for d in every if d.candidate_id not in self.skipped]
            if not open_:
                self.skipped.clear()
                open_ = every
            open_.sort(key=lambda d: d.candidate_id != self._prefer)
            self.shown = open_[0].candidate_id if open_ else None
            self._votes, self._notes = (open_[0].votes, open_[0].notes) if open_ else ({}, {})
            self._prefer = None
        return self.shown

    def press(self, p: Press) -> Receipt:
        if p.action == "undo":
            receipt = undo(self.store, self.admin_id, request_id=p.request_id, kind="adjudication")
            if receipt.status == "stored":
                self.skipped.discard(receipt.candidate_id)
                self.shown, self._prefer = None, receipt.candidate_id
            return receipt
        if p.candidate_id is None or p.candidate_id != self.current():
            return find_request(self.store, p.request_id, self.admin_id) or _refused(
                "that candidate is no longer on screen", p.candidate_id)
        if p.action == "skip":
            self.skipped.add(p.candidate_id)
            self.shown = None
            return Receipt("passed", p.candidate_id, label="skip")
        if p.action not in REVIEW_ACTIONS:
            return _refused(REVIEW_ACTIONS.unknown(p.action), p.candidate_id)
        receipt = adjudicate(self.store, self.admin_id, p.candidate_id, p.action, request_id=p.request_id)
        self.shown = None
        return receipt

    def view(self) -> dict[str, Any] | None:
        cid = self.current()
        if cid is None:
            return None
        with self.store.session() as s:
            view = candidate_view(s, cid)[0]  # admins adjudicating see every score
        return {**view, "votes": self._votes, "notes": self._notes}
