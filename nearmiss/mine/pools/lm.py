"""Answers sampled from the causal LM, kept when they differ from gold.

Instruct models (with a chat template) are asked through it; base models continue the
scoring prompt ``Question: ...\\nAnswer:``. An answer is its first non-empty line.
"""
from __future__ import annotations

from dataclasses import dataclass

from nearmiss.lm.prompts import item_prompt
from nearmiss.mine.base import Proposal
from nearmiss.settings import setting
from nearmiss.store.schema import CandidateRecord, stable_id

CHAT_INSTRUCTION = "Answer the question in a few words.\n\n"


@dataclass(frozen=True)
class LMSampleConfig:
    samples: int = setting(4, "Answers sampled per item (duplicates and gold are dropped).")
    temperature: float = setting(1.0, "Sampling temperature.")
    top_p: float = setting(0.95, "Nucleus sampling.")
    max_new_tokens: int = setting(24, "Longest answer generated, in tokens.")
    seed: int = setting(0, "Sampling seed; with the item ids it makes every batch reproducible.")


def first_line(text: str, limit: int = 300) -> str:
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line.removeprefix("Answer:").strip()[:limit]


class LMSamplePool:
    name = "lm"

    def __init__(self, model, tokenizer, model_name: str, cfg: LMSampleConfig):
        self.model, self.tok, self.model_name, self.cfg = model, tokenizer, model_name, cfg
        self.chat = bool(getattr(tokenizer, "chat_template", None))

    def _prompt(self, proposal: Proposal) -> str:
        if not self.chat:
            return item_prompt(proposal.item)
        return self.tok.apply_chat_template([{"role": "user", "content": CHAT_INSTRUCTION + proposal.item.question}],
                                            add_generation_prompt=True, tokenize=False)

    def generate(self, prompts: list[str]) -> list[list[str]]:
        """``samples`` sampled answers per prompt."""
        side, self.tok.padding_side = self.tok.padding_side, "left"
        try:
            enc = self.tok(prompts, return_tensors="pt", padding=True, add_special_tokens=not self.chat)
        finally:
            self.tok.padding_side = side
        import torch

        enc = enc.to(self.model.device)
        with torch.inference_mode():
            out = self.model.generate(**enc, do_sample=True, temperature=self.cfg.temperature, top_p=self.cfg.top_p,
                                      max_new_tokens=self.cfg.max_new_tokens, num_return_sequences=self.cfg.samples,
                                      pad_token_id=self.tok.pad_token_id)
        texts = self.tok.batch_decode(out[:, enc["input_ids"].shape[1]:], skip_special_tokens=True)
        n = self.cfg.samples
        return [[first_line(t) for t in texts[i * n:(i + 1) * n]] for i in range(len(prompts))]

    def propose(self, proposals: list[Proposal]) -> None:
        if not proposals:
            return
        import torch

        torch.manual_seed(int(stable_id(self.cfg.seed, [p.item.id for p in proposals])[:12], 16))
        for p, answers in zip(proposals, self.generate([self._prompt(p) for p in proposals])):
            for text in answers:
                p.add(CandidateRecord(text=text, origin="lm_sample", miner=self.name, model=self.model_name))
