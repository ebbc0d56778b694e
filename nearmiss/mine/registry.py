"""Pools and scorers by name: each entry builds one from the run's shared resources."""
from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from nearmiss.mine.base import Pool, Scorer
from nearmiss.mine.pools.distractors import DistractorPool
from nearmiss.mine.pools.lm import LMSamplePool
from nearmiss.mine.pools.stored import StoredPool
from nearmiss.mine.scorers.embedding import EmbeddingScorer
from nearmiss.mine.scorers.likelihood import LikelihoodScorer
from nearmiss.registry import Registry

if TYPE_CHECKING:
    from nearmiss.mine.run import Resources

POOLS: Registry[Callable[[Resources], Pool]] = Registry("pool", {
    "distractors": lambda r: DistractorPool(),
    "neighbours": lambda r: r.neighbours(),
    "lm": lambda r: LMSamplePool(*r.lm(), r.cfg.lm, r.cfg.lm_samples),
    "failed_traces": lambda r: StoredPool(r.store, "failed_trace", "failed_traces"),
    "given": lambda r: StoredPool(r.store, "given", "given"),
})
SCORERS: Registry[Callable[[Resources], Scorer]] = Registry("scorer", {
    "embedding": lambda r: EmbeddingScorer(r.store, r.cfg.embedder),
    "lm": lambda r: LikelihoodScorer(*r.lm(), r.cfg.lm),
})
