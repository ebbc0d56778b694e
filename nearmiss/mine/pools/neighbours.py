"""Answers (gold and distractors) of the k nearest other items, by question embedding."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from nearmiss.mine.base import Proposal, gold_text
from nearmiss.mine.embed import embed_texts
from nearmiss.mine.index import IndexConfig, VectorIndex, build_index
from nearmiss.registry import Registry
from nearmiss.settings import check_choices, setting
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, normalize_answer
from nearmiss.store.tables import Item

ANSWERS = Registry.of_names("answer set", ("all", "gold"))


@dataclass(frozen=True)
class NeighboursConfig:
    k: int = setting(3, "Nearest other items whose answers are proposed.")
    answers: str = setting("all", "Answers taken from a neighbour: all (every choice, gold and distractors) or gold.",
                           ANSWERS)
    index: IndexConfig = setting(IndexConfig(), "Nearest-neighbour index settings.")

    def __post_init__(self) -> None:
        check_choices(self)


def answers_of(item: Item, which: str) -> list[str]:
    if which == "gold":
        gold = gold_text(item)
        return [gold] if gold else []
    return list(item.choices or ([item.answer] if item.answer else []))


class NeighbourPool:
    """Built once per run over every item of the mined dataset (the index spans all of them,
    whatever ``--limit`` says), from their question embeddings (``vectors[i]`` is ``universe[i]``'s)."""

    name = "neighbours"

    def __init__(self, universe: list[Item], vectors: np.ndarray, cfg: NeighboursConfig):
        if len(vectors) != len(universe):
            raise ValueError(f"{len(vectors)} question vectors for {len(universe)} items")
        self.cfg, self.universe, self.vectors = cfg, universe, vectors
        self.row_of = {it.id: i for i, it in enumerate(universe)}
        self.index: VectorIndex = build_index(vectors, cfg.index)

    @classmethod
    def embedded(cls, store: Store, universe: list[Item], embedder: str, cfg: NeighboursConfig) -> NeighbourPool:
        """The pool with the questions embedded here, in this process (cached in the store)."""
        vectors = embed_texts(store, embedder, [it.question for it in universe], progress=len(universe) > 2000)
        return cls(universe, vectors, cfg)

    def propose(self, proposals: list[Proposal]) -> None:
        rows = [self.row_of[p.item.id] for p in proposals]
        # extra hits cover the item itself and exact duplicates of its question
        sims, ids = self.index.search(self.vectors[rows], self.cfg.k + 4)
        for p, hit_sims, hit_ids in zip(proposals, sims, ids):
            question = normalize_answer(p.item.question)
            taken = 0
            for sim, j in zip(hit_sims, hit_ids):
                if taken == self.cfg.k:
                    break
                other = self.universe[j] if j >= 0 else None
                if other is None or other.id == p.item.id or normalize_answer(other.question) == question:
                    continue
                taken += 1
                for text in answers_of(other, self.cfg.answers):
                    p.add(CandidateRecord(text=text, origin="neighbour", miner=self.name,
                                          meta={"neighbour": other.id, "question_sim": round(float(sim), 4)}))

    @property
    def kind(self) -> str:
        return self.index.kind

