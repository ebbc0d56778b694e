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
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from nearmiss.store.tables import Label


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

    @property
    def disputed(self) -> bool:
        """Votes exist but tie: only an adjudication settles it."""
        return self.label is None and self.annotators > 0

    def as_dict(self) -> dict[str, Any]:
        return {"label": self.label, "annotators": self.annotators, "agreement": self.agreement,
                "adjudicated": self.adjudicated, "votes": dict(self.votes)}


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
    ranked = votes.most_common()
    if not ranked or (len(ranked) > 1 and ranked[0][1] == ranked[1][1]):
        return FinalLabel(None, n, 0.0, False, dict(votes))
    label, count = ranked[0]
    return FinalLabel(label, n, count / n, False, dict(votes))


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


def load_final_labels(session: Session, candidate_ids: Iterable[str] | None = None) -> dict[str, FinalLabel]:
    """Final labels of the given candidates (all labeled candidates when None), read in ``session``.

    Pass ids a page at a time (one ``IN`` list; databases cap its size in the tens of thousands).
    """
    query = select(Label.id, Label.candidate_id, Label.annotator_id, Label.kind, Label.label, Label.retracts)
    if candidate_ids is not None:
        ids = list(candidate_ids)
        if not ids:
            return {}
        query = query.where(Label.candidate_id.in_(ids))
    return final_labels(session.execute(query))  # plain rows: no ORM objects to build
