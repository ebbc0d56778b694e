"""How far a run is from the machine's roof: the FLOPs its forward and backward passes did, and
the time they would take at the matmul speed measured on this machine.

Counted with hooks on the base model: every token fed to the input embeddings costs
2 x (parameters outside the embedding table) FLOPs forward, every position projected onto the
vocabulary 2 x hidden x vocab; a training token costs twice its forward (the backward pass
through frozen weights computes activation gradients only; LoRA's own weights are small).
Attention-score FLOPs are left out (short sequences here). DPO trains a model of its own and
is not counted.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import torch


@dataclass
class FlopMeter:
    """Counts forward FLOPs of a causal LM while attached, split into training and scoring."""

    body: int = 0  # parameters a token passes through (outside the embedding table)
    head: int = 0  # FLOPs of projecting one position onto the vocabulary
    flops: dict[str, float] = field(default_factory=lambda: {"train": 0.0, "score": 0.0})
    _handles: list = field(default_factory=list)

    def attach(self, model) -> FlopMeter:
        emb, lm_head = model.get_input_embeddings(), model.get_output_embeddings()
        self.body = sum(p.numel() for p in model.parameters()) - emb.weight.numel()
        if lm_head is not None and lm_head.weight is not emb.weight:
            self.body -= lm_head.weight.numel()
        self.head = 2 * emb.weight.shape[0] * emb.weight.shape[1]
        self._handles = [emb.register_forward_hook(self._tokens), lm_head.register_forward_hook(self._projected)]
        return self

    def _add(self, flops: float) -> None:
        self.flops["train" if torch.is_grad_enabled() else "score"] += flops * (2 if torch.is_grad_enabled() else 1)

    def _tokens(self, _module, inputs, _output) -> None:
        self._add(2.0 * self.body * inputs[0].numel())

    def _projected(self, _module, _inputs, output) -> None:
        self._add(float(self.head) * output.shape[:-1].numel())

    def detach(self) -> None:
        for h in self._handles:
            h.remove()
