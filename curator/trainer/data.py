"""Training and evaluation data: items from the store, and the negative sets.

A negative set is a list of :class:`Pair` (question, correct answer, one wrong answer) in a
fixed seeded order; a curve point of size n trains on its first n pairs. Sets come from the
store's labels (``near``, ``far``) or from the data itself (``distractor``: a random own
wrong choice, as the Likra paper; ``unrelated``: the answer of another item, the paper's
far-miss).
"""
from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from curator.errors import NotFoundError
from curator.labeling.final_labels import load_final_labels
from curator.prompts import mcqa_prompt
from curator.store.schema import normalize_answer
from curator.store.tables import Candidate, Item

PAGE = 2000  # items per IN list when reading candidates and their labels


class _Prompted:
    question: str
    context: str | None

    @property
    def prompt(self) -> str:
        return mcqa_prompt(self.question, self.context)


@dataclass(frozen=True)
class TrainItem(_Prompted):
    """A training question: its correct answer and own wrong choices."""

    id: str
    question: str
    context: str | None
    gold: str
    distractors: tuple[str, ...]


@dataclass(frozen=True)
class Pair(_Prompted):
    """One training example: a question, its correct answer and one wrong answer (raw texts)."""

    item_id: str
    question: str
    context: str | None
    chosen: str
    rejected: str


@dataclass(frozen=True)
class EvalItem(_Prompted):
    """A held-out multiple-choice question."""

    id: str
    question: str
    context: str | None
    choices: tuple[str, ...]
    gold: int


def _items(session: Session, dataset: str, split: str) -> list[Item]:
    rows = list(session.scalars(select(Item).where(Item.dataset == dataset, Item.split == split).order_by(Item.id)))
    if not rows:
        raise NotFoundError(f"no items for {dataset}/{split} in the store: "
                            f"run `nearmiss load {dataset} --split {split}`")
    return rows


def _seeded(rows: list, seed: int) -> list:
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows


def load_splits(session: Session, dataset: str, train_split: str, eval_split: str, eval_limit: int | None,
                seed: int) -> tuple[list[TrainItem], list[EvalItem]]:
    """Train items and held-out MCQA items, each in seeded order and disjoint by item.

    When both splits are the same, the first ``eval_limit`` items (seeded order) are held out.
    """
    evals = [r for r in _seeded(_items(session, dataset, eval_split), seed) if r.choices and r.gold is not None]
    if not evals:
        raise NotFoundError(f"{dataset}/{eval_split}: no multiple-choice items to evaluate on")
    evals = evals[:eval_limit] if eval_limit else evals
    held_out = {r.id for r in evals}
    train = [r for r in _seeded(_items(session, dataset, train_split), seed + 1) if r.id not in held_out]
    train_items = [TrainItem(r.id, r.question, r.context, _gold_text(r),
                             tuple(c for i, c in enumerate(r.choices or []) if i != r.gold)) for r in train]
    eval_items = [EvalItem(r.id, r.question, r.context, tuple(r.choices), r.gold) for r in evals]
    return [t for t in train_items if t.gold], eval_items


def _gold_text(item: Item) -> str:
    if item.choices and item.gold is not None:
        return item.choices[item.gold]
    return item.answer or ""


def _labeled(label: str) -> Callable[[Session, list[TrainItem], random.Random], list[Pair]]:
    def build(session: Session, items: list[TrainItem], rng: random.Random) -> list[Pair]:
        by_id = {t.id: t for t in items}
        per_item: dict[str, list[str]] = defaultdict(list)
        ids = list(by_id)
        for start in range(0, len(ids), PAGE):
            cands = session.execute(select(Candidate.id, Candidate.item_id, Candidate.text)
                                    .where(Candidate.item_id.in_(ids[start:start + PAGE]))
                                    .order_by(Candidate.id)).all()
            final = load_final_labels(session, [c.id for c in cands])
            for cid, item_id, text in cands:
                if cid in final and final[cid].label == label \
                        and normalize_answer(text) != normalize_answer(by_id[item_id].gold):
                    per_item[item_id].append(text)
        for texts in per_item.values():
            rng.shuffle(texts)
        pairs, depth = [], 0  # round robin: every item's first negative before any item's second
        while any(len(v) > depth for v in per_item.values()):
            pairs += [Pair(t.id, t.question, t.context, t.gold, per_item[t.id][depth]) for t in items
                      if len(per_item.get(t.id, ())) > depth]
            depth += 1
        return pairs

    build.__doc__ = f"Candidates whose final label is {label}."
    return build


def _distractor(session: Session, items: list[TrainItem], rng: random.Random) -> list[Pair]:
    """One random own wrong choice per item."""
    return [Pair(t.id, t.question, t.context, t.gold, rng.choice(t.distractors)) for t in items if t.distractors]


def _unrelated(session: Session, items: list[TrainItem], rng: random.Random) -> list[Pair]:
    """The correct answer of another, random item (never one of this item's own choices)."""
    pairs = []
    for t in items:
        own = {normalize_answer(x) for x in (t.gold, *t.distractors)}
        for _ in range(100):
            other = items[rng.randrange(len(items))].gold
            if normalize_answer(other) not in own:
                pairs.append(Pair(t.id, t.question, t.context, t.gold, other))
                break
    return pairs


NegativeSet = Callable[[Session, list[TrainItem], random.Random], list[Pair]]
NEGATIVE_SETS: dict[str, NegativeSet] = {
    "near": _labeled("near_miss"),
    "far": _labeled("far_miss"),
    "distractor": _distractor,
    "unrelated": _unrelated,
}


def negative_set(name: str, session: Session, items: list[TrainItem], seed: int) -> list[Pair]:
    """The pairs of one negative set in seeded order; raises when the set is empty."""
    pairs = NEGATIVE_SETS[name](session, items, random.Random(f"{name}:{seed}"))
    if not pairs:
        raise NotFoundError(f"negative set '{name}' is empty for these items"
                            + (": label some candidates first, or use distractor / unrelated"
                               if name in ("near", "far") else ""))
    return pairs
