"""Embedding similarity of each candidate to the gold answer and to the question.

Scores: ``sim_gold`` and ``sim_question``, cosine similarities in [-1, 1] (normalised
sentence embeddings; cached in the store by model and text).
"""
from __future__ import annotations

import numpy as np

from nearmiss.mine.base import Proposal, gold_text
from nearmiss.mine.embed import embed_texts
from nearmiss.store import Store


class EmbeddingScorer:
    name = "embedding"

    def __init__(self, store: Store, model_name: str):
        self.store, self.model_name = store, model_name

    def score(self, proposals: list[Proposal]) -> None:
        texts: list[str] = []
        for p in proposals:
            texts += [p.item.question, gold_text(p.item) or ""] + [c.text for c in p.candidates]
        vectors = embed_texts(self.store, self.model_name, texts)
        at = 0
        for p in proposals:
            question, gold = vectors[at], vectors[at + 1]
            cands = vectors[at + 2:at + 2 + len(p.candidates)]
            at += 2 + len(p.candidates)
            to_question = cands @ question
            to_gold = cands @ gold if gold_text(p.item) else np.full(len(cands), np.nan)
            for c, sq, sg in zip(p.candidates, to_question, to_gold):
                c.scores["sim_question"] = round(float(sq), 6)
                if not np.isnan(sg):
                    c.scores["sim_gold"] = round(float(sg), 6)
