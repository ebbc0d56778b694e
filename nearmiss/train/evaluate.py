"""Multiple-choice evaluation on held-out items, as lm-eval-harness defines it.

``acc``: the choice with the highest summed log-likelihood is the gold one. ``acc_norm``: the
same after dividing each choice's log-likelihood by the length in characters of the choice
text as the task gives it, without the target delimiter (lm-eval-harness
``ConfigurableTask.process_results``: ``completion_len = [len(i) for i in choices]``), not the
continuation that is scored (which carries the leading space). Points stored before this
definition are marked ``acc_norm_legacy`` when read back (``runs.summarise``), never mixed silently.

Scores go through the fast scorer; the dev slice and the evaluation items are scored in one
call per (adapter, prompt marker), cached for the run; :meth:`Evaluator.prefetch` scores several
adapters in one batched pass. The base model's scores of the evaluation items, the same for every
seed, can be shared between the seeds' evaluators (``base``), so only the first seed computes them.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from nearmiss.lm.prompts import continuation, marked_prompt
from nearmiss.train.data import EvalItem
from nearmiss.train.heads import Heads, Scored

Part = Literal["dev", "eval"]


@dataclass(frozen=True)
class Metrics:
    """Accuracy, per-item correctness ("0"/"1" per item, in order) and the mean score of the
    gold and of the wrong choices."""

    acc: float
    acc_norm: float
    correct: str
    correct_norm: str
    gold_mean: float
    wrong_mean: float


def _argmax(xs: list[float]) -> int:
    return max(range(len(xs)), key=xs.__getitem__)


def metrics(scored: Scored, golds: list[int]) -> Metrics:
    """acc / acc_norm over items (``scored.n_chars`` = each choice's length in characters), and
    the mean score of the gold and of the wrong choices (summed log-likelihood)."""
    hit = "".join("1" if _argmax(lp) == g else "0" for lp, g in zip(scored.logprob, golds))
    hit_norm = "".join("1" if _argmax([x / max(c, 1) for x, c in zip(lp, ch)]) == g else "0"
                       for lp, ch, g in zip(scored.logprob, scored.n_chars, golds))
    gold = [lp[g] for lp, g in zip(scored.logprob, golds)]
    wrong = [x for lp, g in zip(scored.logprob, golds) for i, x in enumerate(lp) if i != g]
    n = len(golds)
    return Metrics(hit.count("1") / n, hit_norm.count("1") / n, hit, hit_norm, sum(gold) / len(gold),
                   sum(wrong) / len(wrong))


def combine(plus: Scored, minus: Scored, w: float) -> Scored:
    """Likra's score: L+ - w * L- per choice (same continuations, so the same lengths)."""
    return Scored([[a - w * b for a, b in zip(ra, rb)] for ra, rb in zip(plus.logprob, minus.logprob)], plus.n_chars)


def _part(scored: Scored, lo: int, hi: int) -> Scored:
    return Scored(scored.logprob[lo:hi], scored.n_chars[lo:hi])


class Evaluator:
    """Scores the dev slice and the held-out items under an adapter (None: the base model),
    both in one scorer call, cached per (adapter, NAT marker)."""

    def __init__(self, heads: Heads, items: list[EvalItem], dev: list[EvalItem] | None = None,
                 base: dict[str | None, Scored] | None = None):
        self.heads, self.items, self.dev = heads, items, list(dev or [])
        self.golds = [it.gold for it in items]
        self.dev_golds = [it.gold for it in self.dev]
        self._cache: dict[tuple[str | None, str | None], Scored] = {}
        self.base = base if base is not None else {}  # marker -> the base model's scores of ``items``

    def scores(self, adapter: str | None, marker: str | None = None, part: Part = "eval") -> Scored:
        """The choices' scores after the plain prompt, or after ``marker``'s marked prompt, on
        the evaluation items or the dev slice."""
        self.prefetch([adapter], marker)
        cut = len(self.dev)
        full = self._cache[(adapter, marker)]
        return _part(full, 0, cut) if part == "dev" else _part(full, cut, len(full.logprob))

    def prefetch(self, adapters: Sequence[str | None], marker: str | None = None) -> None:
        """Score the dev slice and the evaluation items under every adapter of ``adapters`` not
        cached yet (after ``marker``'s prompt), all in one batched pass (``Heads.score_group``)."""
        todo = list(dict.fromkeys(a for a in adapters if (a, marker) not in self._cache))
        if None in todo and marker in self.base:  # another seed scored the items under the base model
            todo.remove(None)
            dev = self._score([None], marker, self.dev)[None] if self.dev else Scored([], [])
            self._cache[(None, marker)] = Scored(dev.logprob + self.base[marker].logprob,
                                                 dev.n_chars + self.base[marker].n_chars)
        if not todo:
            return
        scored = self._score(todo, marker, self.dev + self.items)
        self._cache |= {(adapter, marker): scored[adapter] for adapter in todo}
        if None in todo:
            self.base[marker] = _part(scored[None], len(self.dev), len(self.dev) + len(self.items))

    def _score(self, adapters: Sequence[str | None], marker: str | None,
               items: list[EvalItem]) -> dict[str | None, Scored]:
        prompts = [marked_prompt(marker, it.question, it.context) if marker else it.prompt for it in items]
        scored = self.heads.score_group(adapters, prompts, [[continuation(c) for c in it.choices] for it in items])
        lengths = [[len(c) for c in it.choices] for it in items]
        return {adapter: Scored(scored[adapter].logprob, lengths) for adapter in adapters}

    def forget(self, adapter: str) -> None:
        """Drop the cached scores of an adapter (before it is deleted)."""
        self._cache = {k: v for k, v in self._cache.items() if k[0] != adapter}
