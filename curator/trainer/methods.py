"""The registry of training methods: name -> factory(config)."""
from __future__ import annotations

from collections.abc import Callable

from curator.trainer.base import Method
from curator.trainer.config import TrainConfig
from curator.trainer.dpo import Dpo
from curator.trainer.likra import Likra
from curator.trainer.nat import Nat
from curator.trainer.sft import Sft

METHODS: dict[str, Callable[[TrainConfig], Method]] = {
    "likra": Likra,
    "likra_neg": lambda cfg: Likra(cfg, mode="neg_only"),
    "sft": Sft,
    "nat": Nat,
    "dpo": Dpo,
}
