"""One base causal LM with named LoRA adapters ("heads") switched on it through peft.

Likra's positive and negative heads, the SFT head and the NAT head are adapters on the same
base weights: training or scoring one is ``set_adapter(name)``; the base model is
``disable_adapter()``. Heads are trained by maximum likelihood of the answer tokens only,
saved with ``save_pretrained`` and loaded back with ``load_adapter``. Training tokenises
with the scorer's own context/continuation split, so both see the same tokens.
"""
from __future__ import annotations

import logging
import math
import random
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from tqdm import tqdm

from nearmiss.errors import ConfigError
from nearmiss.lm.loglik import encode_pairs, score_continuations
from nearmiss.lm.models import device as best_device
from nearmiss.lm.models import free_cores, keep_freed_memory, lm_path
from nearmiss.train.config import TrainConfig

if TYPE_CHECKING:
    from peft import PeftModel

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Scored:
    """Per item, per choice: summed log-likelihood and a length in characters (the scored
    continuation's; the evaluator puts the choice text's there, for acc_norm)."""

    logprob: list[list[float]]
    n_chars: list[list[int]]


def set_threads(cfg: TrainConfig) -> int:
    """Torch CPU threads: ``cfg.threads``, else the cores not busy with other jobs."""
    n = cfg.threads or free_cores()
    torch.set_num_threads(n)
    return n


def load_base(cfg: TrainConfig):
    """A fresh (model, tokenizer) for training: never the process-wide cached eval model,
    since adapters are injected into the model's layers."""
    from transformers import AutoModelForCausalLM, AutoTokenizer

    set_threads(cfg)
    keep_freed_memory()
    path = str(lm_path(cfg.lm))
    tok = AutoTokenizer.from_pretrained(path)
    if tok.pad_token is None:
        tok.pad_token = tok.eos_token
    dev = best_device()
    model = AutoModelForCausalLM.from_pretrained(path, dtype=getattr(torch, cfg.torch_dtype(dev)))
    # transformers wraps Module.to with functools.wraps, which the stubs type as an unbound function
    model = model.to(dev)  # type: ignore[arg-type]
    return model.eval(), tok


class Heads:
    """Named LoRA adapters on one base model."""

    def __init__(self, cfg: TrainConfig):
        from peft import LoraConfig

        self.cfg = cfg
        self.device = best_device()
        self.base, self.tok = load_base(cfg)
        self.model: PeftModel | None = None  # made with the first adapter
        self.on_step: Callable[[int, int], None] | None = None  # training progress: (step, steps)
        self.lora = LoraConfig(r=cfg.lora_r, lora_alpha=cfg.lora_alpha, lora_dropout=cfg.lora_dropout,
                               target_modules=cfg.lora_target_modules(), task_type="CAUSAL_LM")

    def _adapters(self) -> PeftModel:
        """The PeftModel; there is one once an adapter was added or loaded."""
        if self.model is None:
            raise RuntimeError("no adapter on the base model yet: add or load one first")
        return self.model

    @property
    def names(self) -> list[str]:
        return list(self.model.peft_config) if self.model is not None else []

    def add(self, name: str) -> None:
        """A fresh adapter (B = 0, so it scores exactly as the base model), seeded init."""
        from peft import get_peft_model

        torch.manual_seed(self.cfg.seed)
        if self.model is None:
            self.model = get_peft_model(self.base, self.lora, adapter_name=name)
        else:
            self.model.add_adapter(name, self.lora)

    def load(self, name: str, path: str | Path) -> None:
        """Load a saved adapter folder under ``name``."""
        from peft import PeftModel

        if self.model is None:
            self.model = PeftModel.from_pretrained(self.base, str(path), adapter_name=name)
        else:
            self.model.load_adapter(str(path), adapter_name=name)
        self.model.eval()

    def save(self, name: str, out: str | Path) -> Path:
        """Save one adapter; returns its folder (reloadable with :meth:`load`)."""
        out = Path(out)
        self._adapters().save_pretrained(str(out), selected_adapters=[name])
        return out / name if name != "default" else out

    def delete(self, name: str) -> None:
        """Remove an adapter; removing the last one gives back the plain base model."""
        model = self._adapters()
        if list(model.peft_config) == [name]:
            self.base, self.model = model.unload(), None
        else:
            model.delete_adapter(name)

    def active(self, name: str | None):
        """Context in which the model computes with adapter ``name`` (None: the base model)."""
        if name is None:
            return self.model.disable_adapter() if self.model is not None else nullcontext()
        self._adapters().set_adapter(name)
        return nullcontext()

    @property
    def net(self):
        return self.model if self.model is not None else self.base

    def score(self, name: str | None, contexts: Sequence[str], choices: Sequence[Sequence[str]]) -> Scored:
        """Log-likelihood of each choice after its context under adapter ``name`` (fast scorer)."""
        with self.active(name), torch.inference_mode():
            rows = score_continuations(self.net, self.tok, contexts, choices,
                                       batch_tokens=self.cfg.eval_batch_tokens)
        return Scored([[c.logprob for c in row] for row in rows], [[c.n_chars for c in row] for row in rows])

    def train_nll(self, name: str, examples: Sequence[tuple[str, str]], *, desc: str = "train") -> list[float]:
        """Train adapter ``name`` (added fresh) by maximum likelihood of each continuation given
        its context, loss on the continuation tokens only; calls ``self.on_step(i, steps)``
        after each step when set. Returns the loss of every step.

        Under ``accelerate launch`` (a torch.distributed process group) the adapter trains
        data-parallel: each of the W processes takes its share of a global batch of W x batch
        examples (the same shuffled order everywhere), DistributedDataParallel averages the
        gradients, so every process ends with the same adapter after W times fewer steps.
        The recorded loss is the mean over processes."""
        cfg = self.cfg
        if self.device == "cpu" and not cfg.threads:
            set_threads(cfg)
        self.add(name)
        model = self._adapters()
        model.set_adapter(name)  # only this adapter requires grad
        ctx_ids, cont_ids = encode_pairs(self.tok, [c for c, _ in examples], [[a] for _, a in examples])
        encoded = [(c, a[0]) for c, a in zip(ctx_ids, cont_ids)]
        kept = [(c, a) for c, a in encoded if a and len(c) + len(a) <= cfg.max_length]
        if not kept:
            raise ConfigError(f"{desc}: no example fits max_length={cfg.max_length} tokens")
        if len(kept) < len(encoded):
            log.warning("%s: dropped %d of %d examples longer than max_length=%d", desc, len(encoded) - len(kept),
                        len(encoded), cfg.max_length)
        rank, world = _rank_world()
        net = self._parallel() if world > 1 else model
        params = [p for n, p in model.named_parameters() if p.requires_grad]
        bs = min(cfg.train_batch(self.device), len(kept))
        per_epoch = math.ceil(len(kept) / (bs * world))
        steps = max(cfg.epochs * per_epoch, cfg.min_steps)
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0)
        decay = cfg.lr_schedule == "linear"
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / steps if decay else 1.0)
        rng = random.Random(cfg.seed)
        order: list[int] = []
        losses = []
        model.train()
        for _ in tqdm(range(steps), desc=desc, unit="step", leave=False, disable=rank > 0):
            while len(order) < bs * world:
                fresh = list(range(len(kept)))
                rng.shuffle(fresh)
                order += fresh
            batch, order = [kept[i] for i in order[:bs * world][rank::world]], order[bs * world:]
            loss = self._nll(batch, net)
            loss.backward()
            opt.step()
            sched.step()
            opt.zero_grad(set_to_none=True)
            losses.append(_mean_over_processes(loss.detach()) if world > 1 else loss.item())
            if self.on_step:
                self.on_step(len(losses), steps)
        model.eval()
        return losses

    def _parallel(self):
        """The model under DistributedDataParallel (its trainable adapter synchronised)."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [torch.cuda.current_device()] if self.device == "cuda" else None
        return DistributedDataParallel(self._adapters(), device_ids=ids)

    def _nll(self, batch: list[tuple[list[int], list[int]]], net: torch.nn.Module | None = None) -> torch.Tensor:
        """Mean negative log-likelihood of the continuation tokens of a batch (through ``net``,
        default the model itself).

        Left padding puts every continuation at the end, so the LM head runs only on the last
        ``max continuation + 1`` positions (``logits_to_keep``); position ids skip the padding.
        """
        width = max(len(c) + len(a) for c, a in batch)
        keep = max(len(a) for _, a in batch) + 1
        ids = torch.full((len(batch), width), self.tok.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        answer = torch.zeros((len(batch), width), dtype=torch.bool)
        for i, (c, a) in enumerate(batch):
            ids[i, width - len(c) - len(a):] = torch.tensor(c + a)
            mask[i, width - len(c) - len(a):] = 1
            answer[i, width - len(a):] = True
        positions = (mask.cumsum(1) - 1).clamp(min=0)
        net = net or self._adapters()
        logits = net(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                     position_ids=positions.to(self.device), logits_to_keep=keep).logits
        targets, chosen = ids[:, width - keep + 1:].to(self.device), answer[:, width - keep + 1:].to(self.device)
        logp = torch.log_softmax(logits[:, :-1].float(), dim=-1).gather(-1, targets.unsqueeze(-1)).squeeze(-1)
        return -(logp * chosen).sum() / chosen.sum()


def _rank_world() -> tuple[int, int]:
    """(rank, world size) of the torch.distributed group, (0, 1) outside one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _mean_over_processes(value: torch.Tensor) -> float:
    value = value.clone()
    torch.distributed.all_reduce(value)
    return value.item() / torch.distributed.get_world_size()
