"""Agreement between annotators: Cohen's kappa per pair, Fleiss' kappa per dataset, and
the candidates they disagree on.

Only active, non-skip decisions count (see curator.labeling.labels). Cohen's kappa of two
annotators over the candidates both labeled: (p_o - p_e) / (1 - p_e), p_o the observed
agreement, p_e = sum over labels of the product of each annotator's label rates. Fleiss'
kappa over candidates with at least two labels, allowing a different number of labels per
candidate: P_i = (sum_j n_ij^2 - n_i) / (n_i (n_i - 1)), P = mean P_i, p_j = share of
all labels that are j, P_e = sum_j p_j^2, kappa = (P - P_e) / (1 - P_e). A kappa whose
chance agreement is 1 (everyone always used one label) is undefined: None.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import combinations

from sqlalchemy import select

from curator.labeling.final_labels import load_final_labels
from curator.labeling.labels import votes
from curator.store import Store
from curator.store.tables import Candidate, Item


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
    per_subject, totals = [], Counter()
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
    return [Disagreement(cid, dataset_of[cid], *texts[cid], dict(sorted(table[cid].items()))) for cid in open_]
