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
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import torch
from tqdm import tqdm

from nearmiss.errors import ConfigError
from nearmiss.lm.loglik import ContinuationScore, encode_pairs, score_continuations, score_grouped
from nearmiss.lm.models import device as best_device
from nearmiss.lm.models import free_cores, keep_freed_memory, lm_path
from nearmiss.train.config import TrainConfig

if TYPE_CHECKING:
    from peft import PeftModel

log = logging.getLogger(__name__)
Encoded = tuple[list[int], list[int]]  # (context token ids, continuation token ids)


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
        return _scored(rows)

    def score_group(self, names: Sequence[str | None], contexts: Sequence[str],
                    choices: Sequence[Sequence[str]]) -> dict[str | None, Scored]:
        """:meth:`score` under each of ``names`` in one batched pass over the prefix trees (each
        row fed once per adapter in the same forward, through its own adapter; None: the base
        model). Equal to scoring them one by one up to float rounding of the larger batch."""
        if len(names) < 2 or self.model is None:
            return {name: self.score(name, contexts, choices) for name in names}
        routed = ["__base__" if name is None else name for name in names]  # peft's name for no adapter
        with torch.inference_mode():
            rows = score_grouped(self.model, self.tok, contexts, choices, routed,
                                 batch_tokens=self.cfg.eval_batch_tokens)
        return {name: _scored(rows[r]) for name, r in zip(names, routed)}

    def train_nll(self, name: str, examples: Sequence[tuple[str, str]], *, desc: str = "train") -> list[float]:
        """Train adapter ``name`` (added fresh) by maximum likelihood of each continuation given
        its context, loss on the continuation tokens only; returns the loss of every step."""
        return self.train_nll_group({name: examples}, desc=desc)[name]

    def train_nll_group(self, jobs: Mapping[str, Sequence[tuple[str, str]]], *,
                        desc: str = "train") -> dict[str, list[float]]:
        """Train several fresh adapters at once, each as :meth:`train_nll` trains one (its own
        seeded init, example order, AdamW state and schedule): every step takes each head's next
        batch, runs the rows of all heads through the frozen base in one forward pass, each row
        through its own adapter (grouped LoRA: peft's mixed adapter batch), and steps every head
        on its own loss. Heads with the same batch size and step count train together; the
        result equals training them one by one up to float rounding of the larger batch. Calls
        ``self.on_step(i, steps)`` after each step when set. Returns each head's loss per step.

        Under ``accelerate launch`` (a torch.distributed process group) the heads train
        data-parallel: each of the W processes takes its share of every head's global batch of
        W x batch examples (the same shuffled order everywhere), DistributedDataParallel averages
        the gradients, so every process ends with the same adapters after W times fewer steps.
        The recorded loss is the mean over processes."""
        if self.device == "cpu" and not self.cfg.threads:
            set_threads(self.cfg)
        plans = {name: self._plan(examples, f"{desc} ({name})") for name, examples in jobs.items()}
        groups: dict[tuple[int, int], list[str]] = {}
        for name, (_, bs, steps) in plans.items():
            groups.setdefault((bs, steps), []).append(name)
        losses: dict[str, list[float]] = {}
        for (bs, steps), names in groups.items():
            losses |= self._train_group({n: plans[n][0] for n in names}, bs, steps, desc)
        return losses

    def _plan(self, examples: Sequence[tuple[str, str]], desc: str) -> tuple[list[Encoded], int, int]:
        """A head's tokenised examples that fit ``max_length``, its batch size and its step count."""
        cfg = self.cfg
        ctx_ids, cont_ids = encode_pairs(self.tok, [c for c, _ in examples], [[a] for _, a in examples])
        encoded = [(c, a[0]) for c, a in zip(ctx_ids, cont_ids)]
        kept = [(c, a) for c, a in encoded if a and len(c) + len(a) <= cfg.max_length]
        if not kept:
            raise ConfigError(f"{desc}: no example fits max_length={cfg.max_length} tokens")
        if len(kept) < len(encoded):
            log.warning("%s: dropped %d of %d examples longer than max_length=%d", desc, len(encoded) - len(kept),
                        len(encoded), cfg.max_length)
        bs = min(cfg.train_batch(self.device), len(kept))
        world = _rank_world()[1]
        return kept, bs, max(cfg.epochs * math.ceil(len(kept) / (bs * world)), cfg.min_steps)

    def _train_group(self, kept: dict[str, list[Encoded]], bs: int, steps: int, desc: str) -> dict[str, list[float]]:
        cfg, names = self.cfg, list(kept)
        for name in names:
            self.add(name)
        model = self._adapters()
        model.set_adapter(names[0])  # one head computes as the active adapter; several are routed per row
        for pname, p in model.named_parameters():  # only this group's adapters train
            p.requires_grad_(any(f".{name}." in pname for name in names))
        rank, world = _rank_world()
        net = self._parallel() if world > 1 else model
        params = [p for p in model.parameters() if p.requires_grad]
        # elementwise, so one optimizer over every head is each head's own; fused: one kernel for all tensors
        opt = torch.optim.AdamW(params, lr=cfg.lr, weight_decay=0.0, fused=self.device in ("cpu", "cuda"))
        decay = cfg.lr_schedule == "linear"
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda s: 1 - s / steps if decay else 1.0)
        rngs = {name: random.Random(cfg.seed) for name in names}
        orders: dict[str, list[int]] = {name: [] for name in names}
        losses: dict[str, list[float]] = {name: [] for name in names}
        model.train()
        with _routed(model) if len(names) > 1 else nullcontext() as route:
            for step in tqdm(range(steps), desc=f"{desc} ({len(names)} heads)", unit="step", leave=False,
                             disable=rank > 0):
                batch: dict[str, list[Encoded]] = {}
                for name in names:
                    while len(orders[name]) < bs * world:
                        fresh = list(range(len(kept[name])))
                        rngs[name].shuffle(fresh)
                        orders[name] += fresh
                    taken, orders[name] = orders[name][:bs * world], orders[name][bs * world:]
                    batch[name] = [kept[name][i] for i in taken[rank::world]]
                per_head = self._nll(batch, net, route)
                per_head.sum().backward()  # each head's parameters get the gradient of its own loss only
                opt.step()
                sched.step()
                opt.zero_grad(set_to_none=True)
                for name, loss in zip(names, per_head.detach()):
                    losses[name].append(_mean_over_processes(loss) if world > 1 else loss.item())
                if self.on_step:
                    self.on_step(step + 1, steps)
        model.eval()
        return losses

    def _parallel(self):
        """The model under DistributedDataParallel (its trainable adapter synchronised)."""
        from torch.nn.parallel import DistributedDataParallel

        ids = [torch.cuda.current_device()] if self.device == "cuda" else None
        return DistributedDataParallel(self._adapters(), device_ids=ids)

    def _nll(self, batch: Mapping[str, list[Encoded]], net: torch.nn.Module | None = None,
             route: list[str] | None = None) -> torch.Tensor:
        """Mean negative log-likelihood of the continuation tokens of each head's examples
        (``batch[name]``), in the order of ``batch``, through ``net`` (default the model itself).

        No padding is computed: each head's sequences are packed, longest first, into rows as wide
        as the longest sequence of the step, each sequence attending to itself only (a block-diagonal
        causal mask) with position ids from 0, so the numbers are those of a padded batch. A packed
        row holds one head's sequences; with ``route`` (the list :func:`_routed` reads) each row goes
        through its head's adapter. The LM head runs only on the positions that predict a
        continuation token (``logits_to_keep``).
        """
        width = max(len(c) + len(a) for examples in batch.values() for c, a in examples)
        rows = [(h, row) for h, examples in enumerate(batch.values()) for row in _pack(examples, width)]
        ids = torch.full((len(rows), width), self.tok.pad_token_id, dtype=torch.long)
        positions = torch.zeros((len(rows), width), dtype=torch.long)
        allowed = torch.eye(width, dtype=torch.bool).repeat(len(rows), 1, 1)  # padding sees itself only
        keep = torch.zeros((len(rows), width), dtype=torch.bool)
        targets: list[int] = []
        head_of_target: list[int] = []
        for r, (h, row) in enumerate(rows):
            at = 0
            for c, a in row:
                n = len(c) + len(a)
                ids[r, at:at + n] = torch.tensor(c + a)
                positions[r, at:at + n] = torch.arange(n)
                allowed[r, at:at + n, at:at + n] = torch.ones(n, n, dtype=torch.bool).tril()
                keep[r, at + len(c) - 1:at + n - 1] = True  # the positions that predict a continuation token
                targets += a
                head_of_target += [h] * len(a)
                at += n
        if route is not None:
            names = list(batch)
            route[:] = [names[h] for h, _ in rows]
        dtype = self.base.dtype
        mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, torch.finfo(dtype).min)[:, None]
        logits = (net or self._adapters())(input_ids=ids.to(self.device), attention_mask=mask.to(self.device),
                                        position_ids=positions.to(self.device), logits_to_keep=keep.to(self.device),
                                        use_cache=False).logits
        target = torch.tensor(targets, device=self.device)
        logp = torch.log_softmax(logits.float(), dim=-1).gather(-1, target[:, None]).squeeze(-1)
        owner = torch.tensor(head_of_target, device=self.device)
        per_head = torch.zeros(len(batch), device=self.device).index_add(0, owner, logp)
        return -per_head / torch.bincount(owner, minlength=len(batch))


def _scored(rows: list[list[ContinuationScore]]) -> Scored:
    return Scored([[c.logprob for c in row] for row in rows], [[c.n_chars for c in row] for row in rows])


def _pack(examples: list[Encoded], width: int) -> list[list[Encoded]]:
    """``examples`` packed first fit, longest first, into rows of at most ``width`` tokens."""
    rows: list[list[Encoded]] = []
    room: list[int] = []
    for c, a in sorted(examples, key=lambda e: -len(e[0]) - len(e[1])):
        r = next((i for i, free in enumerate(room) if free >= len(c) + len(a)), len(rows))
        if r == len(rows):
            rows.append([])
            room.append(width)
        rows[r].append((c, a))
        room[r] -= len(c) + len(a)
    return rows


@contextmanager
def _routed(model) -> Iterator[list[str]]:
    """Within: every LoRA layer of ``model`` sends row i of its input through the adapter named by
    entry i of the yielded list, which the caller fills before each forward (peft's mixed adapter
    batch, which its PeftModel allows only in eval mode)."""
    from peft.tuners.lora import LoraLayer

    route: list[str] = []

    def hook(_module, args, kwargs):
        return args, {**kwargs, "adapter_names": route}

    layers = [name for name, m in model.named_modules() if isinstance(m, LoraLayer)]
    handles = [model.get_submodule(name).register_forward_pre_hook(hook, with_kwargs=True) for name in layers]
    try:
        yield route
    finally:
        for h in handles:
            h.remove()


def _rank_world() -> tuple[int, int]:
    """(rank, world size) of the torch.distributed group, (0, 1) outside one."""
    if torch.distributed.is_available() and torch.distributed.is_initialized():
        return torch.distributed.get_rank(), torch.distributed.get_world_size()
    return 0, 1


def _mean_over_processes(value: torch.Tensor) -> float:
    value = value.clone()
    torch.distributed.all_reduce(value)
    return value.item() / torch.distributed.get_world_size()
