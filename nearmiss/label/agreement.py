"""Agreement between annotators: Cohen's kappa per pair, Fleiss' kappa per dataset, and
the candidates they disagree on, per-annotator figures, comments and flags.

Only active, non-skip decisions count (see nearmiss.label.labels). Cohen's kappa of two
annotators over the candidates both labeled: (p_o - p_e) / (1 - p_e), p_o the observed
agreement, p_e = sum over labels of the product of each annotator's label rates. Fleiss'
kappa over candidates with at least two labels, allowing a different number of labels per
candidate: P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)), P = mean P_i, p_j = share of
all labels that are j, P_e = sum_j p_j^2, kappa = (P - P_e) / (1 - P_e). A kappa whose
chance agreement is 1 (everyone always used one label) is undefined: None.
"""
from __future__ import annotations

import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from itertools import combinations

from sqlalchemy import or_, select

from nearmiss.label.final_labels import final_without, load_final_labels
from nearmiss.label.labels import DECIDED_LABEL, is_active, votes
from nearmiss.store import Store
from nearmiss.store.tables import Annotator, Candidate, Item, Label, as_utc

BREAK_SECONDS = 600  # a longer gap between two decisions is a break, not time spent on a decision


def cohen_kappa(pairs: Sequence[tuple[str, str]]) -> float | None:
    """Cohen's kappa of two raters from their (label_a, label_b) pairs."""
    n = len(pairs)
    if n == 0:
        return None
    observed = sum(a == b for a, b in pairs) / n
    rate_a, rate_b = Counter(a for a, _ in pairs), Counter(b for _, b in pairs)
    expected = sum(rate_a[k] * rate_b[k] for k in rate_a) / (n * n)
    if expected == 1:
        return None
    return (observed - expected) / (1 - expected)


def fleiss_kappa(counts: Iterable[dict[str, int]]) -> float | None:
    """Fleiss' kappa from per-subject label counts (subjects with < 2 ratings are ignored)."""
    rows = [c for c in counts if sum(c.values()) >= 2]
    if not rows:
        return None
    per_subject: list[float] = []
    totals: Counter[str] = Counter()
    for c in rows:
        n = sum(c.values())
        per_subject.append((sum(v * v for v in c.values()) - n) / (n * (n - 1)))
        totals.update(c)
    p_bar = sum(per_subject) / len(per_subject)
    all_ratings = sum(totals.values())
    p_e = sum((v / all_ratings) ** 2 for v in totals.values())
    if p_e == 1:
        return None
    return (p_bar - p_e) / (1 - p_e)


@dataclass(frozen=True)
class PairAgreement:
    a: str
    b: str
    shared: int           # candidates both labeled
    agreement: float      # observed share of equal labels
    kappa: float | None


@dataclass(frozen=True)
class DatasetAgreement:
    dataset: str
    candidates: int       # candidates with at least two labels
    labels: int
    kappa: float | None


def _by_candidate(store: Store, datasets: Iterable[str]) -> tuple[dict[str, dict[str, str]], dict[str, str]]:
    """candidate -> {annotator: label}, and candidate -> dataset."""
    table: dict[str, dict[str, str]] = defaultdict(dict)
    dataset_of: dict[str, str] = {}
    for v in votes(store, datasets=datasets):
        table[v.candidate_id][v.annotator] = v.label
        dataset_of[v.candidate_id] = v.dataset
    return table, dataset_of


def pairwise(store: Store, *, datasets: Iterable[str] = ()) -> list[PairAgreement]:
    """Cohen's kappa for every pair of annotators that labeled a candidate in common."""
    table, _ = _by_candidate(store, datasets)
    shared: dict[tuple[str, str], list[tuple[str, str]]] = defaultdict(list)
    for labels in table.values():
        for a, b in combinations(sorted(labels), 2):
            shared[a, b].append((labels[a], labels[b]))
    return [PairAgreement(a, b, len(p), sum(x == y for x, y in p) / len(p), cohen_kappa(p))
            for (a, b), p in sorted(shared.items())]


def per_dataset(store: Store, *, datasets: Iterable[str] = ()) -> list[DatasetAgreement]:
    """Fleiss' kappa per dataset over its candidates with two or more labels."""
    table, dataset_of = _by_candidate(store, datasets)
    groups: dict[str, list[dict[str, int]]] = defaultdict(list)
    for cid, labels in table.items():
        if len(labels) >= 2:
            groups[dataset_of[cid]].append(Counter(labels.values()))
    return [DatasetAgreement(d, len(rows), sum(sum(r.values()) for r in rows), fleiss_kappa(rows))
            for d, rows in sorted(groups.items())]


@dataclass(frozen=True)
class Disagreement:
    candidate_id: str
    dataset: str
    question: str
    text: str
    votes: dict[str, str]  # annotator -> label
    notes: dict[str, str] = field(default_factory=dict)  # annotator -> comment


def disagreements(store: Store, *, datasets: Iterable[str] = ()) -> list[Disagreement]:
    """Candidates whose active labels differ and that no admin has adjudicated yet."""
    table, dataset_of = _by_candidate(store, datasets)
    split = [cid for cid, labels in table.items() if len(set(labels.values())) > 1]
    if not split:
        return []
    with store.session() as s:
        finals = load_final_labels(s, split)
        open_ = [cid for cid in split if not finals[cid].adjudicated]
        texts = {cid: (q, t) for cid, q, t in s.execute(
            select(Candidate.id, Item.question, Candidate.text).join(Item, Item.id == Candidate.item_id)
            .where(Candidate.id.in_(open_)))}
        notes: dict[str, dict[str, str]] = defaultdict(dict)
        for cid, who, note in s.execute(
                select(Label.candidate_id, Annotator.name, Label.note).join(Annotator, Annotator.id == Label.annotator_id)
                .where(Label.candidate_id.in_(open_), Label.kind == "decision", Label.note.is_not(None), is_active())):
            if note is not None:  # always: the query keeps commented decisions only
                notes[cid][who] = note
    return [Disagreement(cid, dataset_of[cid], *texts[cid], dict(sorted(table[cid].items())), notes[cid])
            for cid in open_]


@dataclass(frozen=True)
class AnnotatorFigures:
    annotator: str
    decisions: int                 # standing decisions (skips included)
    median_seconds: float | None   # between consecutive decisions, breaks left out
    with_final: float | None       # share of standing votes equal to the final label of the others' votes
    with_suggestion: float | None  # share of standing votes equal to the suggested label
    comments: int
    flagged: int
    late: int                      # stored after the annotator's lease had expired


def _median_gap(times: list[datetime]) -> float | None:
    times = sorted(times)
    gaps = [(b - a).total_seconds() for a, b in zip(times, times[1:])]
    gaps = [g for g in gaps if g <= BREAK_SECONDS]
    return statistics.median(gaps) if gaps else None


def _share(hits: list[bool]) -> float | None:
    return sum(hits) / len(hits) if hits else None


def per_annotator(store: Store, *, datasets: Iterable[str] = ()) -> list[AnnotatorFigures]:
    """Each annotator's decisions, pace (median seconds per decision) and agreement with
    the final label left by the others (their own vote out: ``final_without``) and with the
    suggestion (candidates with one; skips do not vote)."""
    q = (select(Annotator.name, Label.candidate_id, Label.label, Label.created_at, is_active(), Label.note,
                Label.flagged, Label.late, Candidate.suggested)
         .join(Annotator, Annotator.id == Label.annotator_id).join(Candidate, Candidate.id == Label.candidate_id)
         .join(Item, Item.id == Candidate.item_id).where(Label.kind == "decision"))
    if datasets := tuple(datasets):
        q = q.where(Item.dataset.in_(datasets))
    with store.session() as s:
        rows = s.execute(q).all()
        finals = load_final_labels(s, {r.candidate_id for r in rows})
    by_who: dict[str, list] = defaultdict(list)
    for r in rows:
        by_who[r.name].append(r)
    figures = []
    for who, mine in sorted(by_who.items()):
        standing = [r for r in mine if r[4]]
        voting = [r for r in standing if r.label != "skip"]
        figures.append(AnnotatorFigures(
            who, len(standing), _median_gap([as_utc(r.created_at) for r in mine]),
            _share([r.label == other for r in voting if (other := final_without(finals[r.candidate_id], r.label))]),
            _share([r.label == r.suggested for r in voting if r.suggested]),
            sum(bool(r.note) for r in standing), sum(bool(r.flagged) for r in standing),
            sum(bool(r.late) for r in mine)))
    return figures


@dataclass(frozen=True)
class Remark:
    """A standing decision that carries a comment or a flag (needs discussion)."""

    candidate_id: str
    dataset: str
    question: str
    text: str
    annotator: str
    label: str
    comment: str | None
    flagged: bool
    at: datetime


def remarks(store: Store, *, datasets: Iterable[str] = (), flagged_only: bool = False) -> list[Remark]:
    """Standing decisions with a comment or a flag, newest first (``flagged_only``: flags)."""
    q = (select(Label.candidate_id, Item.dataset, Item.question, Candidate.text, Annotator.name, DECIDED_LABEL,
                Label.note, Label.flagged, Label.created_at)
         .join(Annotator, Annotator.id == Label.annotator_id).join(Candidate, Candidate.id == Label.candidate_id)
         .join(Item, Item.id == Candidate.item_id)
         .where(Label.kind == "decision", is_active(),
                Label.flagged.is_(True) if flagged_only else or_(Label.note.is_not(None), Label.flagged.is_(True)))
         .order_by(Label.id.desc()))
    if datasets := tuple(datasets):
        q = q.where(Item.dataset.in_(datasets))
    with store.session() as s:
        return [Remark(*r) for r in s.execute(q)]
