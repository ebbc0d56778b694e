"""SFT: one LoRA head trained by maximum likelihood of the correct answer."""
from __future__ import annotations

from collections.abc import Sequence

from nearmiss.lm.prompts import continuation
from nearmiss.train.base import HeadSpec, Method, nll_head
from nearmiss.train.data import Pair
from nearmiss.train.evaluate import Evaluator
from nearmiss.train.heads import Scored


def positive_head(pairs: Sequence[Pair]) -> HeadSpec:
    """The head of the correct answers (SFT's only head, Likra's positive head)."""
    return nll_head([(p.prompt, continuation(p.chosen)) for p in pairs])


class Sft(Method):
    """Positives only: a choice is scored by its log-likelihood under the SFT head."""

    name = "sft"

    def heads(self, pairs: Sequence[Pair]) -> dict[str, HeadSpec]:
        return {"pos": positive_head(pairs)}

    def score(self, ev: Evaluator, adapters: dict[str, str | None]) -> Scored:
        return ev.scores(adapters["pos"])
