"""Fast causal-LM log-likelihood of continuations given a context.

Gives the numbers lm-eval-harness gives (context and context+continuation tokenised, the
continuation's tokens taken as the tail of the whole) at a fraction of the cost:

- **shared prefixes**: every sequence fed (context + continuation minus its last token) is
  inserted into its row's prefix tree, so a context is computed once for all of its continuations,
  and tokens shared by several contexts (a prompt header, a few-shot preamble) or by several
  continuations (" the ...") are computed once too. The tree is fed as one row with an
  attention mask that lets each token see its ancestors only and position ids equal to its
  depth: the same numbers a reused KV cache would give, in a single forward call;
- **packed rows**: a context and all its continuations stay in one row (split, the context
  repeated, only past ``BLOCK_TOKENS`` nodes); small trees are packed first fit, largest first,
  into rows of about ``ROW_TOKENS`` nodes, and rows of similar width are batched up to about
  ``CPU_BATCH_TOKENS`` positions a forward, so padding stays small whatever the length spread;
- **LM head on answer tokens only**: ``logits_to_keep`` selects the positions that predict
  continuation tokens, so the vocabulary projection never runs on prompt tokens; the last
  token of a continuation predicts nothing we need, so it is never fed (a one-token
  continuation costs no forward work beyond its context);
- **several LoRA heads at once** (:func:`score_grouped`): the same rows fed once per adapter of a
  peft model in one forward, each copy through its own adapter, as multi-LoRA servers batch.

Works on any Hugging Face causal LM whose forward accepts a 4D attention mask, position
ids and ``logits_to_keep`` (Llama, Gemma, Qwen, ... and a ``PeftModel`` around them).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
import torch
from tqdm import tqdm

log = logging.getLogger(__name__)

ROW_TOKENS = 128  # small trees are packed into rows of this many nodes: attention cost grows with its square
BLOCK_TOKENS = 1024  # a context's tree is split only past this: each part feeds the context again
CPU_BATCH_TOKENS = 2048  # positions per forward on CPU: activations stay in cache (bench/RESULTS.md "score")
CUDA_BATCH_TOKENS = 16384
LOGSUMEXP_ROWS = 128  # kept positions normalised at once: 128 x a 49k vocabulary is 25 MiB of float32


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


Owner = tuple[int, int]  # (context index, continuation index)


@dataclass
class _Row:
    """One packed row: a prefix tree of token sequences, nodes in insertion order (parents first)."""

    tokens: list[int] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)  # parent node, -1 for a root
    depths: list[int] = field(default_factory=list)  # the position id
    children: list[dict[int, int]] = field(default_factory=list)  # token -> child node
    roots: dict[int, int] = field(default_factory=dict)
    targets: list[tuple[Owner, list[int], list[int]]] = field(default_factory=list)  # owner, sources, tokens

    def _walk(self, seq: list[int]) -> list[int]:
        """The nodes of the longest prefix of ``seq`` already in the tree."""
        path, level = [], self.roots
        for tok in seq:
            if tok not in level:
                break
            path.append(level[tok])
            level = self.children[path[-1]]
        return path

    def cost(self, seq: list[int]) -> int:
        """Nodes that adding ``seq`` would create."""
        return len(seq) - len(self._walk(seq))

    def add(self, owner: Owner, ctx: list[int], cont: list[int]) -> None:
        """Insert ``ctx + cont[:-1]``; the nodes predicting ``cont`` become the owner's sources."""
        seq = ctx + cont[:-1]
        path = self._walk(seq)
        for tok in seq[len(path):]:
            node, new = (path[-1] if path else -1), len(self.tokens)
            (self.children[node] if node >= 0 else self.roots)[tok] = new
            self.tokens.append(tok)
            self.parents.append(node)
            self.depths.append(len(path))
            self.children.append({})
            path.append(new)
        self.targets.append((owner, path[len(ctx) - 1:], cont))

    def mask(self, width: int) -> np.ndarray:
        """``allowed[q, k]``: node k is q itself or one of its ancestors; padding sees itself only."""
        allowed = np.eye(width, dtype=bool)
        for i, parent in enumerate(self.parents):
            if parent >= 0:
                allowed[i] |= allowed[parent]
        return allowed


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
    ctx_texts: list[str] = []
    whole_texts: list[str] = []
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


@dataclass
class _Block:
    """Some continuations of one context whose prefix tree fits a row; ``size`` = its nodes alone."""

    context: int
    conts: list[int] = field(default_factory=list)
    size: int = 0


def _blocks(ctx_ids: list[list[int]], cont_ids: list[list[list[int]]], block_tokens: int) -> list[_Block]:
    """Each context with its non-empty continuations, split where its tree would pass ``block_tokens``
    (each part then repeats the context); a block always holds at least one continuation."""
    blocks = []
    for i, conts in enumerate(cont_ids):
        tree, block = _Row(), None
        for j, cont in enumerate(conts):
            if not cont:
                continue  # empty continuations score 0 and feed nothing
            if block is None or len(tree.tokens) + tree.cost(ctx_ids[i] + cont[:-1]) > block_tokens:
                tree, block = _Row(), _Block(i)
                blocks.append(block)
            tree.add((i, j), ctx_ids[i], cont)
            block.conts.append(j)
            block.size = len(tree.tokens)
    return blocks


def _rows(ctx_ids: list[list[int]], cont_ids: list[list[list[int]]], row_tokens: int,
          block_tokens: int) -> list[_Row]:
    """Blocks (see :func:`_blocks`) packed first fit, largest first, into prefix-tree rows of at most
    ``row_tokens`` nodes (a block larger than that gets a row of its own); blocks sharing a row share
    their common prefixes, so a row often holds more than the sum of sizes suggests. Longest rows first."""
    rows: list[_Row] = []
    for block in sorted(_blocks(ctx_ids, cont_ids, block_tokens), key=lambda b: -b.size):
        row = next((r for r in rows if len(r.tokens) + block.size <= row_tokens), None)
        if row is None:
            row = _Row()
            rows.append(row)
        for j in block.conts:
            row.add((block.context, j), ctx_ids[block.context], cont_ids[block.context][j])
    return sorted(rows, key=lambda r: -len(r.tokens))


def _batches(rows: list[_Row], batch_tokens: int) -> list[list[_Row]]:
    """Rows (longest first) in batches of at most ``batch_tokens`` positions, padding included (a
    row wider than that is a batch of its own); a row under half the width of its batch starts a
    new one, so a short last row is not padded to a full one."""
    batches: list[list[_Row]] = []
    for row in rows:
        if (not batches or (len(batches[-1]) + 1) * len(batches[-1][0].tokens) > batch_tokens
                or 2 * len(row.tokens) < len(batches[-1][0].tokens)):
            batches.append([])
        batches[-1].append(row)
    return batches


def _batch_inputs(rows: list[_Row], pad_id: int, dtype: torch.dtype, device: torch.device) -> dict:
    """Padded ids, position ids, the ancestor 4D mask and the kept positions."""
    width = max(len(r.tokens) for r in rows)
    ids = torch.full((len(rows), width), pad_id, dtype=torch.long)
    pos = torch.zeros((len(rows), width), dtype=torch.long)
    keep = torch.zeros((len(rows), width), dtype=torch.bool)
    allowed = torch.from_numpy(np.stack([r.mask(width) for r in rows]))
    for b, r in enumerate(rows):
        n = len(r.tokens)
        ids[b, :n] = torch.tensor(r.tokens)
        pos[b, :n] = torch.tensor(r.depths)
        keep[b, [s for _, sources, _ in r.targets for s in sources]] = True
    mask = torch.zeros(allowed.shape, dtype=dtype).masked_fill_(~allowed, torch.finfo(dtype).min)
    return {"input_ids": ids.to(device), "position_ids": pos.to(device), "attention_mask": mask[:, None].to(device),
            "logits_to_keep": keep.to(device)}


def _token_logprobs(logits: torch.Tensor, at: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """``log_softmax(logits)[at, targets]`` in float32, normalising ``LOGSUMEXP_ROWS`` positions at a
    time: the whole log-softmax would be a second array the size of the logits."""
    norm = torch.cat([chunk.float().logsumexp(-1) for chunk in logits.split(LOGSUMEXP_ROWS)])
    return logits[at, targets].float() - norm[at]


def _score_batch(model, rows: list[_Row], pad_id: int, dtype: torch.dtype, device: torch.device,
                 adapters: Sequence[str] | None = None) -> list[dict[tuple[int, int], float]]:
    """Scores of every target of ``rows``: one dict, or with ``adapters`` one per adapter, the rows
    fed once per adapter in the same forward (copy k of every row through ``adapters[k]``)."""
    inputs = _batch_inputs(rows, pad_id, dtype, device)
    copies = len(adapters) if adapters else 1
    if adapters:
        inputs = {k: v.repeat(copies, *[1] * (v.dim() - 1)) for k, v in inputs.items()}
        inputs["adapter_names"] = [name for name in adapters for _ in rows]
    keep = inputs["logits_to_keep"]
    flat_of = (keep.flatten().cumsum(0) - 1).view(keep.shape)  # (row, position) -> row of the kept logits
    logits = model(**inputs, use_cache=False).logits
    owners: list[tuple[int, int]] = []
    sources: list[torch.Tensor] = []
    targets: list[int] = []
    owner_of_token: list[int] = []
    for k in range(copies):
        for b, r in enumerate(rows):
            for owner, src, tokens in r.targets:
                sources.append(flat_of[k * len(rows) + b, src])
                targets += tokens
                owner_of_token += [len(owners)] * len(tokens)
                owners.append(owner)
    token_lp = _token_logprobs(logits, torch.cat(sources), torch.tensor(targets, device=device))
    sums = torch.zeros(len(owners), device=device).index_add_(0, torch.tensor(owner_of_token, device=device), token_lp)
    per_copy = len(owners) // copies
    flat = sums.tolist()
    return [dict(zip(owners[:per_copy], flat[k * per_copy:(k + 1) * per_copy])) for k in range(copies)]


@dataclass(frozen=True)
class FedTokens:
    """Token positions a scoring call feeds the model, three ways."""

    separate: int  # context + continuation minus its last token, once per continuation (the baseline's way)
    shared: int  # prefix-tree nodes (what this module feeds, padding aside)
    padded: int  # the same plus padding to each batch's widest row
    answers: int  # positions this module projects onto the vocabulary

    def flops(self, body: int, head: int) -> float:
        """This module's forward FLOPs (padding included) for a model with ``body`` parameters outside
        the embedding table and a vocabulary projection of ``head`` MACs a position."""
        return 2.0 * (self.padded * body + self.answers * head)


def fed_tokens(tokenizer, contexts: Sequence[str], continuations: Sequence[Sequence[str]], *,
               batch_tokens: int = CPU_BATCH_TOKENS, max_length: int | None = None) -> FedTokens:
    """How many positions :func:`score_continuations` and lm-eval-harness feed for the same call
    (the FLOPs of the linear layers are proportional to them)."""
    ctx_ids, cont_ids = encode_pairs(tokenizer, contexts, continuations, max_length)
    rows = _rows(ctx_ids, cont_ids, ROW_TOKENS, BLOCK_TOKENS)
    separate = sum(len(c) + len(t) - 1 for c, ts in zip(ctx_ids, cont_ids) for t in ts if t)
    padded = sum(len(b) * len(b[0].tokens) for b in _batches(rows, batch_tokens))
    answers = sum(len({s for _, sources, _ in r.targets for s in sources}) for r in rows)
    return FedTokens(separate, sum(len(r.tokens) for r in rows), padded, answers)


def _model_dtype_device(model) -> tuple[torch.dtype, torch.device]:
    weight = model.get_input_embeddings().weight
    return weight.dtype, weight.device


def score_continuations(model, tokenizer, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                        *, batch_tokens: int | None = None, progress: bool = False) -> list[list[ContinuationScore]]:
    """Log-likelihood of every ``continuations[i][j]`` after ``contexts[i]``.

    ``batch_tokens`` caps the positions of a forward pass, padding included (default
    ``CPU_BATCH_TOKENS`` on CPU, ``CUDA_BATCH_TOKENS`` on CUDA).
    The model is put in eval mode for the call and restored after. Returns one list of :class:`ContinuationScore` per context, in order.
    """
    return _score(model, tokenizer, contexts, continuations, None, batch_tokens, progress)[0]


def score_grouped(model, tokenizer, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                  adapters: Sequence[str], *, batch_tokens: int | None = None,
                  progress: bool = False) -> dict[str, list[list[ContinuationScore]]]:
    """:func:`score_continuations` under each of several LoRA adapters of a peft ``model`` in one
    pass: every row of the prefix trees is fed once per adapter in the same forward, copy k through
    ``adapters[k]`` (peft's mixed adapter batch; ``"__base__"`` is the base model), so a forward
    still holds about ``batch_tokens`` positions. Equal to scoring adapter by adapter up to float
    rounding of the larger batch. Returns each adapter's scores."""
    if len(set(adapters)) != len(adapters) or not adapters:
        raise ValueError(f"adapters: give distinct adapter names, got {list(adapters)}")
    scored = _score(model, tokenizer, contexts, continuations, list(adapters), batch_tokens, progress)
    return dict(zip(adapters, scored))


def _score(model, tokenizer, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
           adapters: list[str] | None, batch_tokens: int | None, progress: bool) -> list[list[list[ContinuationScore]]]:
    """The scores of :func:`score_grouped`, one list per adapter (one list for the model as it is
    when ``adapters`` is None)."""
    if len(contexts) != len(continuations):
        raise ValueError(f"contexts ({len(contexts)}) and continuations ({len(continuations)}) differ in length")
    dtype, device = _model_dtype_device(model)
    batch_tokens = batch_tokens or (CUDA_BATCH_TOKENS if device.type == "cuda" else CPU_BATCH_TOKENS)
    copies = len(adapters) if adapters else 1
    max_length = getattr(getattr(model, "config", None), "max_position_embeddings", None)
    ctx_ids, cont_ids = encode_pairs(tokenizer, contexts, continuations, max_length)
    rows = _rows(ctx_ids, cont_ids, ROW_TOKENS, BLOCK_TOKENS)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sums: list[dict[tuple[int, int], float]] = [{} for _ in range(copies)]
    was_training = model.training
    model.eval()
    try:
        with torch.inference_mode(), tqdm(total=copies * sum(len(r.targets) for r in rows), desc="log-likelihood",
                                          unit=" cand", disable=not progress) as bar:
            for batch in _batches(rows, max(batch_tokens // copies, 1)):
                for got, part in zip(sums, _score_batch(model, batch, pad_id, dtype, device, adapters)):
                    got.update(part)
                bar.update(copies * sum(len(r.targets) for r in batch))
    finally:
        model.train(was_training)
    return [[[ContinuationScore(got.get((i, j), 0.0), len(cont_ids[i][j]), len(c)) for j, c in enumerate(conts)]
             for i, conts in enumerate(continuations)] for got in sums]
