"""Reference scorer, the lm-eval-harness way: one full forward pass per (context,
continuation), full-vocabulary log-softmax at every position. Slow; kept as the
correctness oracle and the baseline of ``bench/score.py``."""
from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

from nearmiss.lm.loglik import ContinuationScore, encode_pairs


def score_continuations_baseline(model, tokenizer, contexts: Sequence[str], continuations: Sequence[Sequence[str]],
                                 *, batch_size: int = 32) -> list[list[ContinuationScore]]:
    """Same contract as :func:`nearmiss.lm.loglik.score_continuations`, computed as lm-eval does."""
    max_length = model.config.max_position_embeddings
    ctx_ids, cont_ids = encode_pairs(tokenizer, contexts, continuations, max_length)
    requests = [(i, j, (ctx + cont)[-(max_length + 1):][:-1], cont)
                for i, ctx in enumerate(ctx_ids) for j, cont in enumerate(cont_ids[i])]
    requests.sort(key=lambda r: -len(r[2]))  # longest first, as lm-eval's Collator
    device = model.get_input_embeddings().weight.device
    sums: dict[tuple[int, int], float] = {}
    with torch.inference_mode():
        for start in range(0, len(requests), batch_size):
            batch = requests[start:start + batch_size]
            width = len(batch[0][2])
            inps = torch.zeros((len(batch), width), dtype=torch.long)  # right-padded with 0, no mask: causal
            for b, (_, _, inp, _) in enumerate(batch):
                inps[b, :len(inp)] = torch.tensor(inp)
            multi_logits = F.log_softmax(model(inps.to(device)).logits, dim=-1)
            for b, (i, j, inp, cont) in enumerate(batch):
                if not cont:
                    sums[(i, j)] = 0.0
                    continue
                logits = multi_logits[b, len(inp) - len(cont):len(inp)]
                target = torch.tensor(cont, device=device)
                sums[(i, j)] = float(logits.gather(-1, target[:, None]).sum())
    return [[ContinuationScore(sums[(i, j)], len(cont_ids[i][j]), len(c)) for j, c in enumerate(conts)]
            for i, conts in enumerate(continuations)]
