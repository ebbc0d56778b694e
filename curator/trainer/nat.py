"""NAT: one head trained on correct answers after a "correct" marker and on wrong answers
after an "incorrect" marker; evaluated with the "correct" marker."""
from __future__ import annotations

from collections.abc import Sequence

from curator.prompts import continuation
from curator.trainer.base import HeadSpec, Method, nll_head
from curator.trainer.data import Pair
from curator.trainer.evaluate import Evaluator
from curator.trainer.heads import Scored


class Nat(Method):
    """Size n trains on 2n sequences: each pair's correct and wrong answer, interleaved."""

    name = "nat"

    def heads(self, pairs: Sequence[Pair]) -> dict[str, HeadSpec]:
        ok, bad = self.cfg.nat_correct + "\n", self.cfg.nat_incorrect + "\n"
        examples = [ex for p in pairs for ex in ((ok + p.prompt, continuation(p.chosen)),
                                                 (bad + p.prompt, continuation(p.rejected)))]
        return {"nat": nll_head(examples)}

    def score(self, ev: Evaluator, adapters: dict[str, str | None]) -> Scored:
        return ev.scores(adapters["nat"], prefix=self.cfg.nat_correct + "\n")
