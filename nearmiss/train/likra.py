"""Likra: a positive and a negative LoRA head on one base model; a choice scores L+ - w*L-.

The positive head is trained on (question, correct answer), the negative head on (question,
wrong answer). Mode ``full`` trains both; ``neg_only`` uses the base model as the positive
head, so every example it learns from is a negative. With ``likra_w = auto`` each point picks
w from ``w_grid`` by accuracy on the dev slice (held out of the training split); only the
scores are recombined, nothing is retrained.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from nearmiss.errors import ConfigError
from nearmiss.lm.prompts import continuation
from nearmiss.train.base import HeadSpec, Method, nll_head
from nearmiss.train.config import TrainConfig
from nearmiss.train.data import Pair
from nearmiss.train.evaluate import Evaluator, combine, metrics
from nearmiss.train.heads import Scored
from nearmiss.train.sft import positive_head

LikraMode = Literal["full", "neg_only"]


def choose_w(plus: Scored, minus: Scored, golds: list[int], grid: Sequence[float]) -> float:
    """The w of ``grid`` with the best accuracy of L+ - w*L- on the dev items (ties: the smaller w)."""
    best: float | None = None
    best_acc = -1.0
    for w in sorted(grid):
        acc = metrics(combine(plus, minus, w), golds).acc
        if acc > best_acc:
            best, best_acc = w, acc
    if best is None:
        raise ConfigError("w_grid: give at least one value")
    return best


class Likra(Method):
    """L+ - w*L- with w = ``cfg.likra_w`` (a number, or auto: chosen on the dev slice)."""

    def __init__(self, cfg: TrainConfig, mode: LikraMode = "full"):
        super().__init__(cfg)
        self.mode = mode
        self.name = "likra" if mode == "full" else "likra_neg"

    def heads(self, pairs: Sequence[Pair]) -> dict[str, HeadSpec]:
        neg = {"neg": nll_head([(p.prompt, continuation(p.rejected)) for p in pairs])}
        return neg if self.mode == "neg_only" else {"pos": positive_head(pairs), **neg}

    def weight(self, ev: Evaluator, adapters: dict[str, str | None]) -> float:
        """The w this point scores with."""
        if self.cfg.likra_w != "auto":
            return float(self.cfg.likra_w)
        if not ev.dev:
            raise ConfigError("likra_w=auto needs a dev slice of the training split (too few training items)")
        return choose_w(ev.scores(adapters.get("pos"), part="dev"), ev.scores(adapters["neg"], part="dev"),
                        ev.dev_golds, self.cfg.w_grid)

    def settings(self, ev: Evaluator, adapters: dict[str, str | None]) -> dict:
        return {"w": self.weight(ev, adapters)}

    def score(self, ev: Evaluator, adapters: dict[str, str | None]) -> Scored:
        return combine(ev.scores(adapters.get("pos")), ev.scores(adapters["neg"]), self.weight(ev, adapters))
