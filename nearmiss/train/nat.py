"""NAT: one head trained on correct answers after a "correct" marker and on wrong answers
after an "incorrect" marker; evaluated with the "correct" marker."""
from __future__ import annotations

from collections.abc import Sequence

from nearmiss.lm.prompts import continuation, marked_prompt
from nearmiss.train.base import HeadSpec, Method, nll_head
from nearmiss.train.data import Pair
from nearmiss.train.evaluate import Evaluator
from nearmiss.train.heads import Scored


class Nat(Method):
    """Size n trains on 2n sequences: each pair's correct and wrong answer, interleaved."""

    name = "nat"

    def heads(self, pairs: Sequence[Pair]) -> dict[str, HeadSpec]:
        ok, bad = self.cfg.nat_correct, self.cfg.nat_incorrect
        examples = []
        for p in pairs:
            examples += [(marked_prompt(ok, p.question, p.context), continuation(p.chosen)),
                         (marked_prompt(bad, p.question, p.context), continuation(p.rejected))]
        return {"nat": nll_head(examples)}

    @property
    def marker(self) -> str | None:
        return self.cfg.nat_correct

    def score(self, ev: Evaluator, adapters: dict[str, str | None]) -> Scored:
        return ev.scores(adapters["nat"], marker=self.marker)
