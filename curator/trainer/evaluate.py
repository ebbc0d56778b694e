"""Multiple-choice evaluation on held-out items, as lm-eval-harness defines it.

``acc``: the choice with the highest summed log-likelihood is the gold one; ``acc_norm``:
the same after dividing each choice's log-likelihood by its length in characters. Scores go
through the fast scorer; each (adapter, prompt marker) is scored once per run and cached.
"""
from __future__ import annotations

from dataclasses import dataclass

from curator.prompts import continuation, marked_prompt
from curator.trainer.data import EvalItem
from curator.trainer.heads import Heads, Scored


@dataclass(frozen=True)
class Metrics:
    """Accuracy and the mean score of the gold and of the wrong choices."""

    acc: float
    acc_norm: float
    gold_mean: float
    wrong_mean: float


def _argmax(xs: list[float]) -> int:
    return max(range(len(xs)), key=xs.__getitem__)


def metrics(scored: Scored, golds: list[int]) -> Metrics:
    """acc / acc_norm over items, and mean score of gold and of wrong choices (summed log-likelihood)."""
    n = len(golds)
    acc = sum(_argmax(lp) == g for lp, g in zip(scored.logprob, golds)) / n
    acc_norm = sum(_argmax([x / max(c, 1) for x, c in zip(lp, ch)]) == g
                   for lp, ch, g in zip(scored.logprob, scored.n_chars, golds)) / n
    gold = [lp[g] for lp, g in zip(scored.logprob, golds)]
    wrong = [x for lp, g in zip(scored.logprob, golds) for i, x in enumerate(lp) if i != g]
    return Metrics(acc, acc_norm, sum(gold) / len(gold), sum(wrong) / len(wrong))


def combine(plus: Scored, minus: Scored, w: float) -> Scored:
    """Likra's score: L+ - w * L- per choice (same continuations, so the same lengths)."""
    return Scored([[a - w * b for a, b in zip(ra, rb)] for ra, rb in zip(plus.logprob, minus.logprob)], plus.n_chars)


class Evaluator:
    """Scores the held-out items under an adapter (None: the base model), cached per
    (adapter, NAT marker)."""

    def __init__(self, heads: Heads, items: list[EvalItem]):
        self.heads, self.items = heads, items
        self.golds = [it.gold for it in items]
        self._cache: dict[tuple[str | None, str | None], Scored] = {}

    def scores(self, adapter: str | None, marker: str | None = None) -> Scored:
        """The choices' scores after the plain prompt, or after ``marker``'s marked prompt."""
        key = (adapter, marker)
        if key not in self._cache:
            prompts = [marked_prompt(marker, it.question, it.context) if marker else it.prompt for it in self.items]
            self._cache[key] = self.heads.score(adapter, prompts,
                                                [[continuation(c) for c in it.choices] for it in self.items])
        return self._cache[key]

    def forget(self, adapter: str) -> None:
        """Drop the cached scores of an adapter (before it is deleted)."""
        self._cache = {k: v for k, v in self._cache.items() if k[0] != adapter}
