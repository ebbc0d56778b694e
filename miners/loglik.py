"""Fast causal-LM log-likelihood of continuations given a context.

Gives the numbers lm-eval-harness gives (context and context+continuation tokenised, the
continuation's tokens taken as the tail of the whole) at a fraction of the cost:

- **shared prompt**: a context and all of its continuations form one block,
  ``[context | cont_1 | cont_2 | ...]``, with an attention mask that lets each continuation
  see the context and itself only, and position ids that restart after the context for
  every continuation. The context's forward pass is computed once for all of its
  continuations, exactly as a reused KV cache would, in a single forward call;
- **packed rows**: blocks of several contexts share a row of about ``ROW_TOKENS`` tokens
  (first-fit, longest first; a block never sees another), so padding stays small whatever
  the length spread;
- **LM head on answer tokens only**: ``logits_to_keep`` selects the positions that predict
  continuation tokens, so the vocabulary projection never runs on prompt tokens; the last
  token of a continuation predicts nothing we need, so it is never fed (a one-token
  continuation costs no forward work beyond its context).

Works on any Hugging Face causal LM whose forward accepts a 4D attention mask, position
ids and ``logits_to_keep`` (Llama, Gemma, Qwen, ... and a ``PeftModel`` around them).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import torch
from tqdm import tqdm

log = logging.getLogger(__name__)

ROW_TOKENS = 512  # tokens per packed row: attention cost grows with its square, padding with its spread


@dataclass(frozen=True)
class ContinuationScore:
    """Log-likelihood of one continuation after its context."""

    logprob: float  # sum of log-probabilities of the continuation tokens
    n_tokens: int
    n_chars: int  # len(continuation)

    @property
    def per_token(self) -> float:
        return self.logprob / max(self.n_tokens, 1)

    @property
    def per_char(self) -> float:
        return self.logprob / max(self.n_chars, 1)


@dataclass
class _Block:
    """A context and some of its continuations: ``(context index, continuation index)`` and tokens."""

    context: list[int]
    owners: list[tuple[int, int]] = field(default_factory=list)
    conts: list[list[int]] = field(default_factory=list)
    length: int = 0  # tokens fed: the context and every continuation but its last token


@dataclass
class _Row:
    """One packed sequence of blocks."""

    tokens: list[int] = field(default_factory=list)
    blocks: list[int] = field(default_factory=list)  # block number in the row, per token
    segments: list[int] = field(default_factory=list)  # 0 = context, k = k-th continuation of its block
    positions: list[int] = field(default_factory=list)
    keep: list[int] = field(default_factory=list)  # positions whose next-token logits are needed
    targets: list[tuple[tuple[int, int], list[int], list[int]]] = field(default_factory=list)  # owner, sources, tokens
    n_blocks: int = 0

    def add(self, block: _Block) -> None:
        base, n, number = len(self.tokens), len(block.context), self.n_blocks
        self.n_blocks += 1
        self.tokens += block.context
        self.blocks += [number] * n
        self.segments += [0] * n
        self.positions += range(n)
        last = base + n - 1
        self.keep.append(last)
        for k, (owner, cont) in enumerate(zip(block.owners, block.conts), start=1):
            start, fed = len(self.tokens), cont[:-1]
            self.tokens += fed
            self.blocks += [number] * len(fed)
            self.segments += [k] * len(fed)
            self.positions += range(n, n + len(fed))
            self.keep += range(start, start + len(fed))
            self.targets.append((owner, [last, *range(start, start + len(fed))], cont))


def special_prefix(tokenizer) -> list[int]:
    """Tokens the tokenizer puts before any text (e.g. ``<bos>`` for Gemma, none for SmolLM2)."""
    plain = tokenizer("a", add_special_tokens=False)["input_ids"]
    full = tokenizer("a")["input_ids"]
    for start in range(len(full) - len(plain) + 1):
        if full[start:start + len(plain)] == plain:
            return list(full[:start])
    return []


def encode_pairs(tokenizer, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                 max_length: int | None = None) -> tuple[list[list[int]], list[list[list[int]]]]:
    """Context tokens and continuation tokens, as lm-eval-harness splits them.

    Trailing spaces of the context move to the continuation; the continuation's tokens are
    the tail of ``encode(context + continuation)`` after ``len(encode(context))`` tokens. An
    empty context is replaced by the BOS (or EOS) token. With ``max_length``, the context is
    cut from the left so the longest of its continuations still fits.
    """
    prefix = special_prefix(tokenizer)
    if not prefix:
        fallback = tokenizer.bos_token_id if tokenizer.bos_token_id is not None else tokenizer.eos_token_id
    ctx_texts, whole_texts = [], []
    for ctx, conts in zip(contexts, continuations, strict=True):
        n_spaces = len(ctx) - len(ctx.rstrip())
        head, tail = (ctx[:-n_spaces], ctx[-n_spaces:]) if n_spaces else (ctx, "")
        ctx_texts.append(head)
        whole_texts.extend(head + tail + c for c in conts)
    ctx_ids = tokenizer(ctx_texts, add_special_tokens=False)["input_ids"] if ctx_texts else []
    whole_ids = tokenizer(whole_texts, add_special_tokens=False)["input_ids"] if whole_texts else []
    ctx_out, cont_out, k = [], [], 0
    for ids, conts in zip(ctx_ids, continuations):
        tails = [list(whole_ids[k + j][len(ids):]) for j in range(len(conts))]
        k += len(conts)
        full_ctx = prefix + list(ids) if (prefix or ids) else [fallback]
        if max_length is not None:
            room = max(max_length - max((len(t) for t in tails), default=0), 1)
            full_ctx = full_ctx[-room:]
        ctx_out.append(full_ctx)
        cont_out.append(tails)
    return ctx_out, cont_out


def _blocks(ctx_ids: list[list[int]], cont_ids: list[list[list[int]]], row_tokens: int) -> list[_Block]:
    """Each context with its continuations, split where a block would pass ``row_tokens``."""
    blocks = []
    for i, (ctx, conts) in enumerate(zip(ctx_ids, cont_ids)):
        block = None
        for j, cont in enumerate(conts):
            if not cont:
                continue
            if block is None or (block.length + len(cont) - 1 > row_tokens and block.owners):
                block = _Block(list(ctx), length=len(ctx))
                blocks.append(block)
            block.owners.append((i, j))
            block.conts.append(cont)
            block.length += len(cont) - 1
    return blocks


def _rows(blocks: list[_Block], row_tokens: int) -> list[_Row]:
    """Blocks packed into rows of at most ``row_tokens`` tokens (first fit, longest first)."""
    rows: list[_Row] = []
    for block in sorted(blocks, key=lambda b: -b.length):
        row = next((r for r in rows if len(r.tokens) + block.length <= row_tokens), None)
        if row is None:
            row = _Row()
            rows.append(row)
        row.add(block)
    return sorted(rows, key=lambda r: -len(r.tokens))


def _batch_inputs(rows: list[_Row], pad_id: int, dtype: torch.dtype, device: torch.device) -> dict:
    """Padded ids, position ids, the block-and-segment 4D mask and the kept positions."""
    width = max(len(r.tokens) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    blk = torch.full((len(rows), width), -1, dtype=torch.long)
    seg = torch.full((len(rows), width), -1, dtype=torch.long)
    pos = torch.arange(width).repeat(len(rows), 1)
    keep = torch.zeros((len(rows), width), dtype=torch.bool)
    for b, r in enumerate(rows):
        n = len(r.tokens)
        ids[b, :n] = torch.tensor(r.tokens)
        blk[b, :n] = torch.tensor(r.blocks)
        seg[b, :n] = torch.tensor(r.segments)
        pos[b, :n] = torch.tensor(r.positions)
        keep[b, r.keep] = True
    idx = torch.arange(width)
    causal = idx[None, :, None] >= idx[None, None, :]
    sq, sk = seg[:, :, None], seg[:, None, :]
    # same block, and the key is context or the query's own continuation; padding (-1) sees padding only
    allowed = causal & (blk[:, :, None] == blk[:, None, :]) & ((sk == 0) | (sk == sq))
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, torch.finfo(dtype).min)
    return {"input_ids": ids.to(device), "position_ids": pos.to(device), "attention_mask": mask[:, None].to(device),
            "logits_to_keep": keep.to(device)}


def _score_batch(model, rows: list[_Row], pad_id: int, dtype: torch.dtype,
                 device: torch.device) -> dict[tuple[int, int], float]:
    inputs = _batch_inputs(rows, pad_id, dtype, device)
    keep = inputs["logits_to_keep"]
    flat_of = (keep.flatten().cumsum(0) - 1).view(keep.shape)  # (row, position) -> row of the kept logits
    logits = model(**inputs, use_cache=False).logits
    logprobs = logits.float().log_softmax(-1)
    owners, sources, targets, owner_of_token = [], [], [], []
    for b, r in enumerate(rows):
        for owner, src, tokens in r.targets:
            sources.append(flat_of[b, src])
            targets += tokens
            owner_of_token += [len(owners)] * len(tokens)
            owners.append(owner)
    token_lp = logprobs[torch.cat(sources), torch.tensor(targets, device=device)]
    sums = torch.zeros(len(owners), device=device).index_add_(0, torch.tensor(owner_of_token, device=device), token_lp)
    return dict(zip(owners, sums.tolist()))


def _model_dtype_device(model) -> tuple[torch.dtype, torch.device]:
    weight = model.get_input_embeddings().weight
    return weight.dtype, weight.device


def score_continuations(model, tokenizer, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                        *, batch_size: int = 32, progress: bool = False) -> list[list[ContinuationScore]]:
    """Log-likelihood of every ``continuations[i][j]`` after ``contexts[i]``.

    ``batch_size`` counts packed rows (about ``ROW_TOKENS`` tokens each) per forward pass.
    The model is put in eval mode for the call and restored after. Returns one list of :class:`ContinuationScore` per context, in order.
    """
    if len(contexts) != len(continuations):
        raise ValueError(f"contexts ({len(contexts)}) and continuations ({len(continuations)}) differ in length")
    dtype, device = _model_dtype_device(model)
    max_length = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    ctx_ids, cont_ids = encode_pairs(tokenizer, contexts, continuations, max_length)
    rows = _rows(_blocks(ctx_ids, cont_ids, ROW_TOKENS), ROW_TOKENS)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sums: dict[tuple[int, int], float] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), tqdm(total=sum(len(r.targets) for r in rows), desc="log-likelihood",
                                          unit=" cand", disable=not progress) as bar:
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                sums.update(_score_batch(model, batch, pad_id, dtype, device))
                bar.update(sum(len(r.targets) for r in batch))
    finally:
        model.train(was_training)
    return [[ContinuationScore(sums.get((i, j), 0.0), len(cont_ids[i][j]), len(c)) for j, c in enumerate(conts)]
            for i, conts in enumerate(continuations)]
