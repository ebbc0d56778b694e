"""SFT: one LoRA head trained by maximum likelihood of the correct answer."""
from __future__ import annotations

from collections.abc import Sequence

from curator.prompts import continuation
from curator.trainer.base import HeadSpec, Method, nll_head
from curator.trainer.data import Pair
from curator.trainer.evaluate import Evaluator
from curator.trainer.heads import Scored


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
