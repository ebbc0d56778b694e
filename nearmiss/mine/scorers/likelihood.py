"""Causal-LM log-likelihood of each candidate after the item's prompt, and its margin to gold.

Scores (natural log): ``lp_sum`` (sum over the answer's tokens), ``lp_token`` (per token),
``lp_char`` (per character of the scored continuation, its leading space included: one more than
the choice text lm-eval's acc_norm divides by), and ``margin_sum`` / ``margin_token`` /
``margin_char``: candidate minus gold on the same scale (> 0: the LM prefers the candidate).
The gold answer is scored in the same pass, sharing the prompt's forward computation.
"""
from __future__ import annotations

from nearmiss.lm.prompts import continuation, item_prompt
from nearmiss.mine.base import Proposal, gold_text


def _values(s) -> dict[str, float]:
    return {"sum": s.logprob, "token": s.per_token, "char": s.per_char}


class LikelihoodScorer:
    name = "lm"

    def __init__(self, model, tokenizer, model_name: str):
        self.model, self.tok, self.model_name = model, tokenizer, model_name

    def score(self, proposals: list[Proposal]) -> None:
        from nearmiss.lm.loglik import score_continuations  # torch is imported on first use only

        contexts = [item_prompt(p.item) for p in proposals]
        golds = [gold_text(p.item) for p in proposals]
        conts = [([continuation(g)] if g else []) + [continuation(c.text) for c in p.candidates]
                 for p, g in zip(proposals, golds)]
        for p, gold, scores in zip(proposals, golds, score_continuations(self.model, self.tok, contexts, conts)):
            gold_values = _values(scores[0]) if gold else None
            for cand, s in zip(p.candidates, scores[1:] if gold else scores):
                values = _values(s)
                cand.scores.update({f"lp_{k}": round(v, 6) for k, v in values.items()})
                if gold_values:
                    cand.scores.update({f"margin_{k}": round(v - gold_values[k], 6) for k, v in values.items()})
