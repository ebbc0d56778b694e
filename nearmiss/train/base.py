"""What a training method is: the heads it trains from n pairs, and how it scores a choice."""
from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from nearmiss.train.config import TrainConfig
from nearmiss.train.data import Pair
from nearmiss.train.evaluate import Evaluator
from nearmiss.train.heads import Heads, Scored

# train(heads, adapter name, examples, desc) -> loss per step; the adapter is left on `heads`.
TrainFn = Callable[[Heads, str, tuple, str], list[float]]


@dataclass(frozen=True)
class HeadSpec:
    """One adapter to train: its objective, its examples and the function that trains it.

    Two methods asking for the same head (the SFT head is Likra's positive head) share it:
    the key is a hash of the objective and the examples.
    """

    objective: str
    examples: tuple
    train: TrainFn

    @property
    def key(self) -> str:
        blob = json.dumps([self.objective, [list(e) if isinstance(e, tuple) else e.__dict__ for e in self.examples]])
        return f"{self.objective}-{hashlib.sha256(blob.encode()).hexdigest()[:12]}"


NLL = "nll"  # the objective of heads a run trains together (Heads.train_nll_group)


def nll_head(examples: Sequence[tuple[str, str]]) -> HeadSpec:
    """A head trained by maximum likelihood of each (context, continuation)'s continuation."""
    return HeadSpec(NLL, tuple(examples), lambda heads, name, ex, desc: heads.train_nll(name, ex, desc=desc))


class Method(ABC):
    """A training method of the learning curve."""

    name: str

    def __init__(self, cfg: TrainConfig):
        self.cfg = cfg

    @property
    def marker(self) -> str | None:
        """The marker line before the prompt its heads are scored after (None: the plain prompt)."""
        return None

    @abstractmethod
    def heads(self, pairs: Sequence[Pair]) -> dict[str, HeadSpec]:
        """The heads to train from the first n pairs, by role."""

    def settings(self, ev: Evaluator, adapters: dict[str, str | None]) -> dict:
        """Settings the method chose for this point (Likra: its w), stored on the point."""
        return {}

    @abstractmethod
    def score(self, ev: Evaluator, adapters: dict[str, str | None]) -> Scored:
        """The held-out choices' scores given the trained adapter of each role (None: untrained,
        which scores as the base model)."""
