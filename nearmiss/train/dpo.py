"""DPO: TRL's DPOTrainer with a LoRA adapter on (question, correct, wrong) pairs.

TRL trains the adapter on its own copy of the base model (the reference is that model with
the adapter disabled); the trained adapter is then saved and loaded onto the shared heads
model, so it is scored by the same code as every other head.
"""
from __future__ import annotations

import math
import tempfile
from collections.abc import Sequence

from nearmiss.lm.prompts import continuation
from nearmiss.train.base import HeadSpec, Method
from nearmiss.train.data import Pair
from nearmiss.train.evaluate import Evaluator
from nearmiss.train.heads import Heads, Scored, load_base


def train_dpo(heads: Heads, name: str, pairs: tuple[Pair, ...], desc: str) -> list[float]:
    """Train a DPO LoRA adapter on ``pairs`` and load it on ``heads`` as ``name``; returns the
    loss of every step."""
    from datasets import Dataset
    from peft import PeftModel
    from trl import DPOConfig, DPOTrainer

    cfg = heads.cfg
    model, tok = load_base(cfg)
    data = Dataset.from_list([{"prompt": p.prompt, "chosen": continuation(p.chosen),
                               "rejected": continuation(p.rejected)} for p in pairs])
    bs = min(cfg.train_batch(heads.device), len(pairs))
    steps = max(cfg.epochs * math.ceil(len(pairs) / bs), cfg.min_steps)
    with tempfile.TemporaryDirectory(prefix="nearmiss-dpo-") as tmp:
        args = DPOConfig(output_dir=tmp, max_steps=steps, per_device_train_batch_size=bs, learning_rate=cfg.lr,
                         lr_scheduler_type="linear", beta=cfg.dpo_beta, max_length=cfg.max_length,
                         gradient_checkpointing=False, bf16=cfg.torch_dtype(heads.device) == "bfloat16",
                         use_cpu=heads.device == "cpu", report_to="none", save_strategy="no", logging_steps=1,
                         seed=cfg.seed, data_seed=cfg.seed, disable_tqdm=True, run_name=desc)
        trainer = DPOTrainer(model=model, args=args, train_dataset=data, processing_class=tok,
                             peft_config=heads.lora)
        trainer.train()
        trained = trainer.model  # the base model with the LoRA adapter (peft_config)
        if not isinstance(trained, PeftModel):
            raise RuntimeError(f"DPOTrainer trained a {type(trained).__name__}, not a LoRA PeftModel")
        trained.save_pretrained(tmp + "/adapter")
        heads.load(name, tmp + "/adapter")
    return [h["loss"] for h in trainer.state.log_history if "loss" in h]


class Dpo(Method):
    """A choice is scored by its log-likelihood under the DPO adapter."""

    name = "dpo"

    def heads(self, pairs: Sequence[Pair]) -> dict[str, HeadSpec]:
        return {"dpo": HeadSpec("dpo", tuple(pairs), train_dpo)}

    def score(self, ev: Evaluator, adapters: dict[str, str | None]) -> Scored:
        return ev.scores(adapters["dpo"])
