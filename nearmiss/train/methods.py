"""The registry of training methods: name -> factory(config)."""
from __future__ import annotations

from collections.abc import Callable

from nearmiss.train.base import Method
from nearmiss.train.config import TrainConfig
from nearmiss.train.dpo import Dpo
from nearmiss.train.likra import Likra
from nearmiss.train.nat import Nat
from nearmiss.train.sft import Sft

METHODS: dict[str, Callable[[TrainConfig], Method]] = {
    "likra": Likra,
    "likra_neg": lambda cfg: Likra(cfg, mode="neg_only"),
    "sft": Sft,
    "nat": Nat,
    "dpo": Dpo,
}
