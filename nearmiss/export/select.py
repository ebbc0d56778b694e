"""Selecting what to export: items with their gold answer and the negatives that pass
the filters, read from the store in one transaction (one snapshot).

A negative is a candidate whose final label (``nearmiss.label.final_labels``) is near-miss or
far-miss, a failed trajectory nobody decided (label ``failed``, from its outcome), or, with ``include_unlabeled_distractors``, an MCQA item's own wrong choice
that nobody labeled (label ``unlabeled``). A candidate finally labeled actually-correct
or invalid is never a negative, whatever the filters. Answers equal to the gold answer
(after normalisation) are dropped; duplicate items (same prompt and gold) are merged.
Every drop is counted under a reason in ``Selection.removed``.
"""
from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session
from tqdm import tqdm

from nearmiss.export.config import NEVER_NEGATIVE, ExportFilters
from nearmiss.export.spill import Spill
from nearmiss.label.final_labels import FinalLabel, load_final_labels
from nearmiss.label.labels import is_active, settled_by
from nearmiss.lm.prompts import mcqa_prompt
from nearmiss.store import Store
from nearmiss.store.schema import candidate_id, normalize_answer
from nearmiss.store.tables import Candidate, Item, Label, utcnow

log = logging.getLogger(__name__)
UNLABELED = "unlabeled"


@dataclass
class Negative:
    """One wrong answer to export, with where it came from and what annotators said."""

    candidate_id: str
    text: str
    label: str
    origin: str
    nearness: float | None = None
    annotators: int = 0
    agreement: float | None = None
    messages: list[dict] | None = None  # a failed trace's conversation
    first_wrong_step: int | None = None  # the index most annotators marked (ties: the earliest)
    comments: list[str] = field(default_factory=list)  # of its standing decisions, oldest first
    flagged: bool = False  # a standing decision marked it "needs discussion"
    source: str = "unlabeled"  # where the label came from: majority, adjudication, outcome (or unlabeled)


@dataclass
class Example:
    """An item with its gold answer and its selected negatives."""

    item_id: str
    dataset: str
    split: str
    question: str
    context: str | None
    gold: str
    negatives: list[Negative] = field(default_factory=list)
    kind: str = "mcqa"
    messages: list[dict] | None = None  # a trace item's successful conversation
    native_id: str | None = None  # the item's id in its source

    @property
    def prompt(self) -> str:
        return mcqa_prompt(self.question, self.context)


@dataclass
class Selection:
    """The examples an export writes (kept on disk, in ``spill``), their tallies, and why
    everything else was left out."""

    spill: Spill
    removed: Counter
    snapshot_time: datetime
    schema_version: str | None
    items: int = 0
    pairs: Counter = field(default_factory=Counter)  # (label, origin) -> negatives
    sources: Counter = field(default_factory=Counter)  # where labels came from -> negatives
    with_comments: int = 0
    flagged: int = 0

    def add(self, ex: Example) -> None:
        """Count a kept example."""
        self.items += 1
        self.pairs.update((n.label, n.origin) for n in ex.negatives)
        self.sources.update(n.source for n in ex.negatives)
        self.with_comments += sum(bool(n.comments) for n in ex.negatives)
        self.flagged += sum(n.flagged for n in ex.negatives)

    @property
    def examples(self) -> list[Example]:
        """Every example, read into memory (for small selections; exports read ``spill`` by the chunk)."""
        return list(self.spill.part())

    @property
    def negatives(self) -> list[Negative]:
        return [n for ex in self.spill.part() for n in ex.negatives]

    def counts(self) -> dict:
        """Items, negatives, negatives per label, per origin and per label source, and drops per reason."""
        by_label: Counter = Counter()
        by_origin: Counter = Counter()
        for (label, origin), n in self.pairs.items():
            by_label[label] += n
            by_origin[origin] += n
        return {"items": self.items, "negatives": sum(self.pairs.values()),
                "by_label": dict(sorted(by_label.items())), "by_origin": dict(sorted(by_origin.items())),
                "by_label_source": dict(sorted(self.sources.items())),
                "with_comments": self.with_comments, "flagged": self.flagged,
                "removed": dict(sorted(self.removed.items()))}

    def label_origin_counts(self) -> list[dict]:
        """Negatives per (label, origin), as rows for a chart."""
        return [{"label": label, "origin": origin, "negatives": n} for (label, origin), n in sorted(self.pairs.items())]


def _gold_text(item: Item) -> str | None:
    if item.kind == "mcqa" and item.choices and item.gold is not None and 0 <= item.gold < len(item.choices):
        return str(item.choices[item.gold])
    return item.answer


def _why_not(fl: FinalLabel, f: ExportFilters) -> str | None:
    """The reason a labeled candidate is not exported, or None when it passes the label filters."""
    if fl.label is None:
        return "disputed (tie, needs adjudication)"
    if fl.label in NEVER_NEGATIVE:
        return f"label {fl.label}"
    if fl.label not in f.labels:
        return f"label {fl.label} not selected"
    if not fl.beyond_votes and fl.annotators < f.min_annotators:
        return "fewer annotators than min_annotators"
    if not fl.beyond_votes and fl.agreement < f.min_agreement:
        return "agreement below min_agreement"
    return None


def _in_range(value: float | None, lo: float | None, hi: float | None) -> bool:
    if lo is None and hi is None:
        return True
    if value is None:
        return False
    return (lo is None or value >= lo) and (hi is None or value <= hi)


def _out_of_range(cand: Candidate | None, f: ExportFilters) -> str | None:
    """Why the candidate's nearness or p_near is outside the filters' ranges (None: inside)."""
    for name in ("nearness", "p_near"):
        if not _in_range(getattr(cand, name, None), getattr(f, f"{name}_min"), getattr(f, f"{name}_max")):
            return f"{name} out of range"
    return None


def _items_query(f: ExportFilters):
    q = select(Item)
    if f.datasets:
        q = q.where(Item.dataset.in_(f.datasets))
    if f.splits:
        q = q.where(Item.split.in_(f.splits))
    return q.order_by(Item.id)


def nearness_bounds(store: Store) -> tuple[float, float] | None:
    """The smallest and largest nearness score stored, or None when no candidate is scored."""
    with store.session() as s:
        lo, hi = s.execute(select(func.min(Candidate.nearness), func.max(Candidate.nearness))).one()
    return None if lo is None or hi is None else (float(lo), float(hi))


def schema_version(session: Session) -> str | None:
    """The Alembic revision the store is at."""
    return MigrationContext.configure(session.connection()).get_current_revision()


def _negatives(item: Item, cands: list[Any], labels: dict[str, FinalLabel], f: ExportFilters,
               removed: Counter) -> list[Negative]:
    out: dict[str, Negative] = {}
    by_id = {c.id: c for c in cands}
    for c in cands:
        fl = labels.get(c.id)
        if fl is None or (fl.label is None and fl.annotators == 0):
            continue  # unlabeled: only item distractors can come back, below
        reason = _why_not(fl, f)
        if reason is None and f.origins and c.origin not in f.origins:
            reason = f"origin {c.origin} not selected"
        if reason is None:
            reason = _out_of_range(c, f)
        if reason:
            removed[reason] += 1
            continue
        assert fl.label is not None  # _why_not gives a disputed candidate (no label) its reason
        out[c.id] = Negative(c.id, c.text, fl.label, c.origin, c.nearness, fl.annotators, fl.agreement, c.messages,
                             source=settled_by(fl) or "majority")
    if f.include_unlabeled_distractors and item.kind == "mcqa" and item.choices:
        for i, text in enumerate(item.choices):
            cid = candidate_id(item.id, str(text))
            if i == item.gold or cid in out:
                continue
            fl = labels.get(cid)
            if fl is not None and (fl.label is not None or fl.annotators > 0):
                continue  # labeled: decided above
            cand = by_id.get(cid)
            if f.origins and "distractor" not in f.origins:
                removed["origin distractor not selected"] += 1
            elif reason := _out_of_range(cand, f):
                removed[reason] += 1
            else:
                out[cid] = Negative(cid, str(text), UNLABELED, "distractor", cand.nearness if cand else None)
    return list(out.values())


def _merge(ex: Example, negatives: list[Negative], gold: str, removed: Counter) -> None:
    """Add negatives to an example once per answer text (a trace: per answer and conversation);
    a labeled one replaces an unlabeled one."""
    def key(n: Negative) -> tuple[str, str | None]:
        return normalize_answer(n.text), n.candidate_id if n.messages else None

    by_text = {key(n): n for n in ex.negatives}
    for neg in negatives:
        k = key(neg)
        if k[0] == gold:
            removed["same text as the gold answer"] += 1
            continue
        if k in by_text:
            removed["duplicate answer"] += 1
            if by_text[k].label != UNLABELED:
                continue
        by_text[k] = neg
    ex.negatives = list(by_text.values())


def first_wrong_steps(session: Session) -> dict[str, int]:
    """candidate id -> the first wrong step most of its standing decisions marked (ties: the earliest)."""
    marks: dict[str, Counter] = {}
    q = select(Label.candidate_id, Label.first_wrong_step).where(
        Label.kind == "decision", Label.first_wrong_step.is_not(None), is_active())
    for cid, step in session.execute(q):
        marks.setdefault(cid, Counter())[step] += 1
    return {cid: min(c, key=lambda step: (-c[step], step)) for cid, c in marks.items()}


ITEMS_PER_READ = 1000
CANDIDATE_COLUMNS = (Candidate.id, Candidate.item_id, Candidate.text, Candidate.origin, Candidate.nearness,
                     Candidate.p_near, Candidate.messages)


def _items_with_candidates(s: Session, filters: ExportFilters) -> Iterator[tuple[Item, list[Any], dict[str, FinalLabel]]]:
    """Each selected item with its candidates (plain rows) and their final labels, read
    ``ITEMS_PER_READ`` items at a time, so memory does not grow with the store."""
    for items in s.scalars(_items_query(filters).execution_options(yield_per=ITEMS_PER_READ)).partitions():
        cands: dict[str, list[Any]] = {}
        for c in s.execute(select(*CANDIDATE_COLUMNS).where(Candidate.item_id.in_([it.id for it in items]))):
            cands.setdefault(c.item_id, []).append(c)
        labels = load_final_labels(s, [c.id for group in cands.values() for c in group], outcomes=True)
        for item in items:
            yield item, cands.get(item.id, []), labels


def remarks_by_candidate(session: Session) -> dict[str, tuple[list[str], bool]]:
    """candidate id -> (comments of its standing decisions, oldest first; whether one is flagged)."""
    out: dict[str, tuple[list[str], bool]] = {}
    q = (select(Label.candidate_id, Label.note, Label.flagged).where(
        Label.kind == "decision", is_active(), or_(Label.note.is_not(None), Label.flagged.is_(True)))
        .order_by(Label.id))
    for cid, note, flagged in session.execute(q):
        comments, was = out.get(cid, ([], False))
        out[cid] = (comments + [note] if note else comments, was or bool(flagged))
    return out


def select_examples(store: Store, filters: ExportFilters) -> Selection:
    """Read the store once and return what an export with these filters writes. Memory stays
    flat in the store's size: examples are merged in a :class:`Spill` on disk."""
    removed: Counter = Counter()
    spill = Spill()
    with store.session() as s:
        snapshot = utcnow()
        version = schema_version(s)
        steps = first_wrong_steps(s)
        remarks = remarks_by_candidate(s)
        for item, item_cands, labels in tqdm(_items_with_candidates(s, filters), desc="export: select", unit=" items",
                                             disable=None):
            gold = _gold_text(item)
            key = (normalize_answer(mcqa_prompt(item.question, item.context)), normalize_answer(gold or ""))
            spill.block(key, {normalize_answer(c.text) for c in item_cands
                              if c.id in labels and labels[c.id].label in NEVER_NEGATIVE})
            negatives = _negatives(item, item_cands, labels, filters, removed)
            for neg in negatives:
                neg.first_wrong_step = steps.get(neg.candidate_id)
                neg.comments, neg.flagged = remarks.get(neg.candidate_id, ([], False))
            if not negatives:
                continue
            if gold is None:
                removed["item without a gold answer"] += len(negatives)
                continue
            ex = spill.get(key)
            if ex is None:
                ex = Example(item.id, item.dataset, item.split, item.question, item.context, gold,
                             kind=item.kind, messages=item.messages, native_id=item.native_id)
            else:
                removed["duplicate item merged"] += 1
            _merge(ex, negatives, key[1], removed)
            spill.put(key, ex)
    sel = Selection(spill, removed, snapshot, version)
    for key, ex in spill.keyed():
        blocked = spill.blocked(key)
        kept_negs = [n for n in ex.negatives if normalize_answer(n.text) not in blocked]
        if dropped := len(ex.negatives) - len(kept_negs):
            removed["labeled actually_correct/invalid on a duplicate item"] += dropped
        if not kept_negs:
            spill.drop(key)
            continue
        ex.negatives = sorted(kept_negs, key=lambda n: (n.nearness is None, -(n.nearness or 0.0), n.text))
        spill.put(key, ex)
        sel.add(ex)
    log.info("export selection: %s", sel.counts())
    return sel
