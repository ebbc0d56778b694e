"""The one configuration of a training / learning-curve run, with help text per field.

CLI flags and the Train page take their help from ``help_of(name)``, so the text lives here.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import MISSING, asdict, dataclass, field, fields
from typing import Any

from curator.errors import ConfigError
from curator.models import DEFAULT_LM, auto_dtype
from curator.prompts import NAT_CORRECT, NAT_INCORRECT


def _f(default: Any, help: str) -> Any:
    if isinstance(default, (list, dict)):
        return field(default_factory=lambda: type(default)(default), metadata={"help": help})
    return field(default=default, metadata={"help": help})


@dataclass
class TrainConfig:
    """What to train, on what, and how; every learning-curve run stores one as JSON."""

    # data
    dataset: str = _f("arc-easy", "Dataset name in the store (its items are trained on and evaluated).")
    train_split: str = _f("test", "Split whose items are trained on.")
    eval_split: str = _f("validation", "Held-out split evaluated after each size (disjoint items).")
    eval_limit: int | None = _f(None, "Evaluate on the first N held-out items in seeded order (default all).")
    methods: list[str] = _f(["likra", "sft", "nat", "dpo"], "Training methods (see METHODS).")
    negatives: list[str] = _f(["distractor"], "Negative sets: near, far (labeled in the store), distractor "
                                              "(a random own wrong choice), unrelated (another item's answer).")
    sizes: list[int] = _f([0, 16, 32, 64, 128], "Training set sizes of the curve (examples per head); 0 = zero-shot.")
    seed: int = _f(0, "Seed for item order, negative picks, adapter init and batch order.")
    # model and LoRA
    lm: str = _f(DEFAULT_LM, "Base causal LM: registry name or local HF folder.")
    dtype: str = _f("auto", "Base weights dtype: auto (bfloat16 on CUDA and on CPUs with native bf16 "
                            "matmuls, else float32), bfloat16 or float32. LoRA weights train in float32.")
    lora_r: int = _f(16, "LoRA rank.")
    lora_alpha: int = _f(32, "LoRA alpha (scale = alpha / r).")
    lora_dropout: float = _f(0.0, "LoRA dropout.")
    threads: int | None = _f(None, "CPU threads for torch (default: torch's choice). On a CPU shared with other "
                                   "jobs, 1 avoids thread oversubscription and is often several times faster.")
    # optimisation
    lr: float = _f(1e-3, "AdamW learning rate of the LoRA weights (linear decay to 0).")
    epochs: int = _f(4, "Passes over the n examples of each head.")
    min_steps: int = _f(8, "At least this many optimizer steps per head, so the smallest sizes still train.")
    batch_size: int | None = _f(None, "Training batch (default 8 on CPU, 32 on CUDA).")
    eval_batch_size: int | None = _f(None, "Scoring batch (default 32 on CPU, 128 on CUDA).")
    max_length: int = _f(256, "Longest training sequence in tokens (longer examples are dropped and counted).")
    # methods
    likra_w: float = _f(1.0, "Likra: weight w of the negative head in L+ - w*L-.")
    nat_correct: str = _f(NAT_CORRECT, "NAT: marker line before a correct example (and at evaluation).")
    nat_incorrect: str = _f(NAT_INCORRECT, "NAT: marker line before an incorrect example.")
    dpo_beta: float = _f(0.1, "DPO: beta (strength of the pull towards the base model).")
    # reporting
    low_data_max: int = _f(64, "Gain per example is the best (acc(n) - acc(0)) / n over sizes n up to this size.")
    out_dir: str = _f("runs", "Where adapters are saved: <out_dir>/run-<id>/<adapter>/.")

    def __post_init__(self) -> None:
        from curator.trainer.data import NEGATIVE_SETS
        from curator.trainer.methods import METHODS

        for name, allowed in (("methods", METHODS), ("negatives", NEGATIVE_SETS)):
            values = getattr(self, name)
            if not values:
                raise ConfigError(f"{name}: give at least one of {', '.join(allowed)}")
            bad = [v for v in values if v not in allowed]
            if bad:
                raise ConfigError(f"{name}: unknown {', '.join(bad)}; allowed: {', '.join(allowed)}")
        if not self.sizes or any(s < 0 for s in self.sizes) or sorted(set(self.sizes)) != list(self.sizes):
            raise ConfigError(f"sizes: give increasing, distinct, non-negative numbers, got {self.sizes}")
        if self.dtype not in ("auto", "bfloat16", "float32"):
            raise ConfigError(f"dtype: auto, bfloat16 or float32, got {self.dtype!r}")
        if self.train_split == self.eval_split and self.eval_limit is None:
            raise ConfigError("eval_limit: required when train_split == eval_split (the first eval_limit items "
                              "in seeded order are held out, the rest trained on)")
        for name in ("lora_r", "epochs", "max_length"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if not self.nat_correct.strip() or self.nat_correct.strip() == self.nat_incorrect.strip():
            raise ConfigError("nat_correct / nat_incorrect: must be non-empty and differ")
        if self.lr <= 0:
            raise ConfigError(f"lr: must be > 0, got {self.lr}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def config_hash(self) -> str:
        """Hash of everything that changes the results (not where adapters go, nor CPU threads)."""
        d = {k: v for k, v in self.as_dict().items() if k not in ("out_dir", "threads")}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:32]

    def torch_dtype(self, device: str) -> str:
        """The dtype to load the base model in on ``device``."""
        return auto_dtype(self.dtype, device)

    def train_batch(self, device: str) -> int:
        return self.batch_size or (32 if device == "cuda" else 8)

    def score_batch(self, device: str) -> int:
        return self.eval_batch_size or (128 if device == "cuda" else 32)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> TrainConfig:
        known = {f.name for f in fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"unknown config field(s): {', '.join(sorted(unknown))}")
        return cls(**d)


def _field(name: str):
    return next(f for f in fields(TrainConfig) if f.name == name)


def help_of(name: str) -> str:
    """The help text of a TrainConfig field."""
    return _field(name).metadata["help"]


def default_of(name: str) -> Any:
    """The default value of a TrainConfig field (without building a config, which validates
    method names against the registry and so imports torch)."""
    f = _field(name)
    return f.default_factory() if f.default is MISSING else f.default
