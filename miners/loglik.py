"""Fast causal-LM log-likelihood of continuations given a context.

Gives the numbers lm-eval-harness gives (context and context+continuation tokenised, the
continuation's tokens taken as the tail of the whole) at a fraction of the cost:

- **shared prompt**: a context and all of its continuations are packed into one row,
  ``[context | cont_1 | cont_2 | ...]``, with an attention mask that lets each continuation
  see the context and itself only, and position ids that restart after the context for
  every continuation. The context's forward pass is computed once for all of its
  continuations, exactly as a reused KV cache would, in a single forward call;
- **LM head on answer tokens only**: ``logits_to_keep`` selects the positions that predict
  continuation tokens, so the vocabulary projection never runs on prompt tokens; the last
  token of a continuation predicts nothing we need, so it is never fed (a one-token
  continuation costs no forward work beyond its context);
- **rows batched by length**, so padding stays small.

Works on any Hugging Face causal LM whose forward accepts a 4D attention mask, position
ids and ``logits_to_keep`` (Llama, Gemma, Qwen, ... and a ``PeftModel`` around them).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from tqdm import tqdm

log = logging.getLogger(__name__)

ROW_TOKENS = 1024  # a context's continuations are split over rows of about this many tokens (attention is quadratic)


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
class _Row:
    """One packed sequence: a context followed by some of its continuations."""

    tokens: list[int]
    segments: list[int]  # 0 = context, k = k-th continuation in this row
    context_len: int
    owners: list[tuple[int, int]]  # (context index, continuation index) per continuation in the row
    spans: list[tuple[int, int]]  # (start, end) of each continuation's fed tokens (all but its last) in the row
    targets: list[list[int]]  # each continuation's tokens


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


def _rows(ctx_ids: list[list[int]], cont_ids: list[list[list[int]]], row_tokens: int) -> list[_Row]:
    rows = []
    for i, (ctx, conts) in enumerate(zip(ctx_ids, cont_ids)):
        row = None
        for j, cont in enumerate(conts):
            if not cont:
                continue
            fed = cont[:-1]
            if row is None or (len(row.tokens) + len(fed) > row_tokens and row.owners):
                row = _Row(list(ctx), [0] * len(ctx), len(ctx), [], [], [])
                rows.append(row)
            start = len(row.tokens)
            row.tokens.extend(fed)
            row.segments.extend([len(row.owners) + 1] * len(fed))
            row.owners.append((i, j))
            row.spans.append((start, start + len(fed)))
            row.targets.append(cont)
    return rows


def _batch_inputs(rows: list[_Row], pad_id: int, dtype: torch.dtype, device: torch.device) -> dict:
    """Padded ids, restart-after-context position ids, the packed 4D mask and the kept positions."""
    width = max(len(r.tokens) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    seg = torch.full((len(rows), width), -1, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    keep = torch.zeros((len(rows), width), dtype=torch.bool)
    for b, r in enumerate(rows):
        n = len(r.tokens)
        ids[b, :n] = torch.tensor(r.tokens)
        seg[b, :n] = torch.tensor(r.segments)
        pos[b, :r.context_len] = torch.arange(r.context_len)
        keep[b, r.context_len - 1] = True
        for start, end in r.spans:
            pos[b, start:end] = torch.arange(r.context_len, r.context_len + end - start)
            keep[b, start:end] = True
        pos[b, n:] = torch.arange(width - n)
    idx = torch.arange(width)
    causal = idx[None, :, None] >= idx[None, None, :]
    sq, sk = seg[:, :, None], seg[:, None, :]
    allowed = causal & ((sk == 0) | (sk == sq))  # padding (segment -1) sees padding only, never NaN
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, torch.finfo(dtype).min)
    return {"input_ids": ids.to(device), "position_ids": pos.to(device), "attention_mask": mask[:, None].to(device),
            "logits_to_keep": keep.to(device)}


def _score_batch(model, rows: list[_Row], pad_id: int, dtype: torch.dtype, device: torch.device) -> list[float]:
    inputs = _batch_inputs(rows, pad_id, dtype, device)
    keep = inputs["logits_to_keep"]
    flat_of = (keep.flatten().cumsum(0) - 1).view(keep.shape)  # (row, position) -> row of the kept logits
    logits = model(**inputs, use_cache=False).logits
    logprobs = logits.float().log_softmax(-1)
    sources, targets, owner = [], [], []
    n = 0
    for b, r in enumerate(rows):
        for (start, end), target in zip(r.spans, r.targets):
            sources.append(flat_of[b, [r.context_len - 1, *range(start, end)]])
            targets.append(torch.tensor(target))
            owner.append(torch.full((len(target),), n))
            n += 1
    src, tgt, own = torch.cat(sources), torch.cat(targets).to(device), torch.cat(owner).to(device)
    token_lp = logprobs[src, tgt]
    return torch.zeros(n, device=device, dtype=torch.float32).index_add_(0, own, token_lp).tolist()


def _model_dtype_device(model) -> tuple[torch.dtype, torch.device]:
    weight = model.get_input_embeddings().weight
    return weight.dtype, weight.device


def score_continuations(model, tokenizer, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                        *, batch_size: int = 32, progress: bool = False) -> list[list[ContinuationScore]]:
    """Log-likelihood of every ``continuations[i][j]`` after ``contexts[i]``.

    ``batch_size`` counts packed rows (one context with up to ``ROW_TOKENS`` tokens of its
    continuations) per forward pass. The model is put in eval mode for the call and
    restored after. Returns one list of :class:`ContinuationScore` per context, in order.
    """
    if len(contexts) != len(continuations):
        raise ValueError(f"contexts ({len(contexts)}) and continuations ({len(continuations)}) differ in length")
    dtype, device = _model_dtype_device(model)
    max_length = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    ctx_ids, cont_ids = encode_pairs(tokenizer, contexts, continuations, max_length)
    rows = sorted(_rows(ctx_ids, cont_ids, ROW_TOKENS), key=lambda r: -len(r.tokens))
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sums: dict[tuple[int, int], float] = {}
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), tqdm(total=sum(len(r.owners) for r in rows), desc="log-likelihood",
                                          unit=" cand", disable=not progress) as bar:
            for start in range(0, len(rows), batch_size):
                batch = rows[start:start + batch_size]
                owners = [o for r in batch for o in r.owners]
                sums.update(zip(owners, _score_batch(model, batch, pad_id, dtype, device)))
                bar.update(len(owners))
    finally:
        model.train(was_training)
    return [[ContinuationScore(sums.get((i, j), 0.0), len(cont_ids[i][j]), len(c)) for j, c in enumerate(conts)]
            for i, conts in enumerate(continuations)]
