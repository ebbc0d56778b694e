"""Training and evaluation data from the store: the items trained on, the Likra dev slice and
the held-out evaluation items (negative sets: :mod:`nearmiss.train.negatives`).

Evaluation items are the same for every seed (a fixed shuffle), so curve points of different
seeds, methods and negative sets are paired on the same items. Training items are shuffled
per seed; the dev slice (for Likra's w = auto) is the tail of that order, never trained on.
"""
from __future__ import annotations

import random
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from nearmiss.errors import NotFoundError
from nearmiss.lm.prompts import mcqa_prompt
from nearmiss.store.tables import Item

EVAL_ORDER_SEED = 0  # the held-out items' order does not follow the training seed


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


@dataclass(frozen=True)
class Splits:
    """What one seed of a run uses: training items (seeded order), the dev slice and the
    held-out evaluation items (fixed order); pairwise disjoint by item."""

    train: list[TrainItem]
    dev: list[EvalItem]
    eval: list[EvalItem]


def _items(session: Session, dataset: str, split: str) -> list[Item]:
    rows = list(session.scalars(select(Item).where(Item.dataset == dataset, Item.split == split).order_by(Item.id)))
    if not rows:
        raise NotFoundError(f"no items for {dataset}/{split} in the store: load that split first")
    return rows


def _seeded(rows: list, seed: int) -> list:
    rows = list(rows)
    random.Random(seed).shuffle(rows)
    return rows


def _mcqa(r: Item) -> bool:
    return bool(r.choices) and r.gold is not None


def _eval_item(r: Item) -> EvalItem:
    if not r.choices or r.gold is None:
        raise ValueError(f"item {r.id} is not a multiple-choice question")
    return EvalItem(r.id, r.question, r.context, tuple(r.choices), r.gold)


def dev_size(n_train: int, fraction: float, most: int) -> int:
    """Items of the dev slice: ``fraction`` of the training items, at most ``most``, and
    always leaving items to train on."""
    return min(most, max(1, round(n_train * fraction)), n_train - 1) if n_train > 1 else 0


def load_splits(session: Session, dataset: str, train_split: str, eval_split: str | list[str],
                eval_limit: int | None, seed: int, dev: tuple[float, int] | None = None) -> Splits:
    """Train, dev and held-out items for one seed.

    Several eval splits pool their items (in the order given, then one fixed shuffle). When the
    train split is among them, the first ``eval_limit`` items (fixed order) are held out.
    ``dev = (fraction, most)`` holds out a dev slice of the training items (see :func:`dev_size`).
    """
    names = [eval_split] if isinstance(eval_split, str) else eval_split
    pooled = [r for name in names for r in _items(session, dataset, name)]
    evals = [r for r in _seeded(pooled, EVAL_ORDER_SEED) if _mcqa(r)]
    if not evals:
        raise NotFoundError(f"{dataset}/{'+'.join(names)}: no multiple-choice items to evaluate on")
    evals = evals[:eval_limit] if eval_limit else evals
    held_out = {r.id for r in evals}
    train = [r for r in _seeded(_items(session, dataset, train_split), seed + 1) if r.id not in held_out]
    train = [r for r in train if _gold_text(r)]
    n_dev = dev_size(len([r for r in train if _mcqa(r)]), *dev) if dev else 0
    dev_rows = [r for r in reversed(train) if _mcqa(r)][:n_dev]
    dev_ids = {r.id for r in dev_rows}
    train_items = [TrainItem(r.id, r.question, r.context, _gold_text(r),
                             tuple(c for i, c in enumerate(r.choices or []) if i != r.gold))
                   for r in train if r.id not in dev_ids]
    return Splits(train_items, [_eval_item(r) for r in dev_rows], [_eval_item(r) for r in evals])


def _gold_text(item: Item) -> str:
    if item.choices and item.gold is not None:
        return item.choices[item.gold]
    return item.answer or ""
