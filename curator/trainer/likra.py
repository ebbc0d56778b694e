"""Likra: a positive and a negative LoRA head on one base model; a choice scores L+ - w*L-.

The positive head is trained on (question, correct answer), the negative head on (question,
wrong answer). Mode ``full`` trains both; ``neg_only`` uses the base model as the positive
head, so every example it learns from is a negative.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from curator.prompts import continuation
from curator.trainer.base import HeadSpec, Method, nll_head
from curator.trainer.config import TrainConfig
from curator.trainer.data import Pair
from curator.trainer.evaluate import Evaluator, combine
from curator.trainer.heads import Scored
from curator.trainer.sft import positive_head

LikraMode = Literal["full", "neg_only"]


class Likra(Method):
    """L+ - w*L- with w = ``cfg.likra_w``."""

    def __init__(self, cfg: TrainConfig, mode: LikraMode = "full"):
        super().__init__(cfg)
        self.mode = mode
        self.name = "likra" if mode == "full" else "likra_neg"

    def heads(self, pairs: Sequence[Pair]) -> dict[str, HeadSpec]:
        neg = {"neg": nll_head([(p.prompt, continuation(p.rejected)) for p in pairs])}
        return neg if self.mode == "neg_only" else {"pos": positive_head(pairs), **neg}

    def score(self, ev: Evaluator, adapters: dict[str, str | None]) -> Scored:
        return combine(ev.scores(adapters.get("pos")), ev.scores(adapters["neg"]), self.cfg.likra_w)
