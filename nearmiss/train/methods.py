"""The registry of training methods: name -> factory(config). A method's module (and torch with it) is
imported when the method is made, so configs and the CLI name the methods for free."""
from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nearmiss.registry import Registry

if TYPE_CHECKING:
    from nearmiss.train.base import Method
    from nearmiss.train.config import TrainConfig

Factory = Callable[["TrainConfig"], "Method"]


def _method(module: str, cls: str, **kwargs: Any) -> Factory:
    """A factory of ``nearmiss.train.<module>.<cls>(config, **kwargs)``."""
    def make(cfg: TrainConfig) -> Method:
        return getattr(importlib.import_module(f"nearmiss.train.{module}"), cls)(cfg, **kwargs)

    return make


METHODS: Registry[Factory] = Registry("method", {
    "likra": _method("likra", "Likra"),
    "likra_neg": _method("likra", "Likra", mode="neg_only"),
    "sft": _method("sft", "Sft"),
    "nat": _method("nat", "Nat"),
    "dpo": _method("dpo", "Dpo"),
})
