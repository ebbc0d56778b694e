"""The final label of each candidate, derived from its append-only Label rows.

Contract of :func:`final_labels` (a pure function; no store access):

- Input: any iterable of Label rows (or objects with the same attributes: ``id``,
  ``candidate_id``, ``annotator_id``, ``kind``, ``label``, ``retracts``), in any order.
  Rows are ordered by ``id`` (append order) inside the function.
- A ``retraction`` row cancels the row whose id it names in ``retracts`` (a decision or
  an adjudication). Retractions are not themselves retracted: undo of an undo is a new
  decision.
- An annotator's *current* decision on a candidate is their latest non-retracted
  ``decision`` row. ``skip`` is not a vote (the annotator did not decide).
- The final label is the latest non-retracted ``adjudication`` if there is one;
  otherwise the majority of the current votes (one per annotator). A tie between the
  most frequent labels gives no final label (``label is None``, ``disputed``): it needs
  an adjudication.
- ``annotators`` is the number of current votes; ``agreement`` the share of them equal
  to the final label (1.0 for an adjudication without votes, 0.0 when unresolved).
- Candidates with no row at all are absent from the result; candidates whose rows were
  all retracted (or only skipped) appear with ``label None`` and ``annotators 0``.

Outcome labels (:func:`with_outcomes`, ``load_final_labels(..., outcomes=True)``): a trajectory
its environment judged failed (origin ``failed_trace``) counts as labeled ``failed``, from its
outcome, until a person decides it (a standing vote or an adjudication), for export and
training. Agreement, the ranker and the queue read votes only, so they leave it out.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from nearmiss.store.tables import Candidate, Label

OUTCOME_LABEL = "failed"  # a failed trajectory's label from its outcome, until a person decides it
OUTCOME_ORIGIN = "failed_trace"  # the origin of a trajectory whose outcome was failure


class LabelRow(Protocol):
    id: int
    candidate_id: str
    annotator_id: int
    kind: str
    label: str | None
    retracts: int | None


@dataclass(frozen=True)
class FinalLabel:
    """What the labels of one candidate add up to."""

    label: str | None
    annotators: int
    agreement: float
    adjudicated: bool
    votes: dict[str, int]
    by_outcome: bool = False  # ``failed`` from a trajectory's outcome: no person decided it

    @property
    def disputed(self) -> bool:
        """Votes exist but tie: only an adjudication settles it."""
        return self.label is None and self.annotators > 0

    @property
    def beyond_votes(self) -> bool:
        """Settled without a vote count (an adjudication or the outcome): vote thresholds do not apply."""
        return self.adjudicated or self.by_outcome

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "annotators": self.annotators, "agreement": self.agreement,
                "adjudicated": self.adjudicated, "votes": dict(self.votes), "by_outcome": self.by_outcome}


FROM_OUTCOME = FinalLabel(OUTCOME_LABEL, 0, 1.0, False, {}, by_outcome=True)


def _final(rows: list[LabelRow], retracted: set[int]) -> FinalLabel:
    current: dict[int, str] = {}
    adjudication: str | None = None
    for row in rows:
        if row.id in retracted:
            continue
        if row.kind == "decision" and row.label is not None:
            current[row.annotator_id] = row.label
        elif row.kind == "adjudication" and row.label is not None:
            adjudication = row.label
    votes = Counter(label for label in current.values() if label != "skip")
    n = sum(votes.values())
    if adjudication is not None:
        return FinalLabel(adjudication, n, votes[adjudication] / n if n else 1.0, True, dict(votes))
    label = _majority(votes)
    if label is None:
        return FinalLabel(None, n, 0.0, False, dict(votes))
    return FinalLabel(label, n, votes[label] / n, False, dict(votes))


def _majority(votes: Counter) -> str | None:
    """The most frequent label; None without votes or when the most frequent tie."""
    ranked = [(label, n) for label, n in votes.most_common() if n > 0]
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return None
    return ranked[0][0]


def final_without(final: FinalLabel, vote: str) -> str | None:
    """The final label without one ``vote`` (an annotator's own): the adjudication, else the
    majority of the other votes (None: no other vote, or they tie). Measures agreement with
    the others, which a final label counting the annotator's own vote cannot (with two
    annotators it would agree every time it is not a tie)."""
    if final.adjudicated:
        return final.label
    return _majority(Counter(final.votes) - Counter({vote: 1}))


def final_labels(rows: Iterable[LabelRow]) -> dict[str, FinalLabel]:
    """candidate id -> FinalLabel, following the contract in the module docstring."""
    by_candidate: dict[str, list[LabelRow]] = defaultdict(list)
    retracted: set[int] = set()
    for row in sorted(rows, key=lambda r: r.id):
        if row.kind == "retraction":
            if row.retracts is not None:
                retracted.add(row.retracts)
        else:
            by_candidate[row.candidate_id].append(row)
    return {cid: _final(cand_rows, retracted) for cid, cand_rows in by_candidate.items()}


def with_outcomes(finals: dict[str, FinalLabel], failed: Iterable[str]) -> dict[str, FinalLabel]:
    """``finals`` with the outcome label ``failed`` for each of the ``failed`` trajectories that no
    person decided (no standing vote, no adjudication)."""
    out = dict(finals)
    for cid in failed:
        held = out.get(cid)
        if held is None or (held.annotators == 0 and not held.adjudicated):
            out[cid] = FROM_OUTCOME
    return out


def load_final_labels(session: Session, candidate_ids: Iterable[str] | None = None, *,
                      outcomes: bool = False) -> dict[str, FinalLabel]:
    """Final labels of the given candidates (all labeled candidates when None), read in ``session``;
    with ``outcomes``, failed trajectories nobody decided count as ``failed`` (:func:`with_outcomes`).

    Pass ids a page at a time (one ``IN`` list; databases cap its size in the tens of thousands).
    """
    query = select(Label.id, Label.candidate_id, Label.annotator_id, Label.kind, Label.label, Label.retracts)
    failed = select(Candidate.id).where(Candidate.origin == OUTCOME_ORIGIN)
    if candidate_ids is not None:
        ids = list(candidate_ids)
        if not ids:
            return {}
        query = query.where(Label.candidate_id.in_(ids))
        failed = failed.where(Candidate.id.in_(ids))
    finals = final_labels(session.execute(query))  # plain rows: no ORM objects to build
    return with_outcomes(finals, session.scalars(failed)) if outcomes else finals
