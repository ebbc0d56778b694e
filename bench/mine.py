"""End-to-end mining of MMLU: distractors + neighbours, embedding and LM scoring.

    PYTHONPATH=. python bench/mine.py --items 10000 --lm-items 10000

Loads ``--items`` MMLU test items into a fresh SQLite store and mines them in stages,
each timed with its peak resident-memory rise:
  1. distractors + neighbours (faiss over all items) scored by embeddings;
  2. the same rerun: the resume check (every item already mined, nothing added);
  3. LM scoring (shared-prompt log-likelihood) of the first ``--lm-items`` items' candidates
     (embeddings come from the cache of stage 1);
  4. the baseline for stage 3: the same candidates scored the lm-eval-harness way, on the
     first ``--baseline-items`` items (it is the slow part, so fewer).
Stage 3 also prints its FLOP roof: the forward FLOPs the LM did (``nearmiss.train.roof.FlopMeter``:
every position fed, padding included, and every position projected onto the vocabulary) at the
matmul speed measured here at the same dtype and threads, and the share of it the stage reached.
"""
from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path

import torch
from measure import measure
from sqlalchemy import func, select

from nearmiss.lm.models import auto_dtype
from nearmiss.lm.prompts import continuation, item_prompt
from nearmiss.lm.speed import matmul_gflops  # noqa: E402
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.mine.base import gold_text
from nearmiss.mine.run import MineConfig, Resources, mine
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Item
from nearmiss.train.roof import FlopMeter


def _baseline(store: Store, cfg: MineConfig, n: int) -> int:
    """Score the first n items' stored candidates (and gold) the lm-eval-harness way."""
    from nearmiss.lm.loglik_baseline import score_continuations_baseline

    with store.session() as s:
        items = list(s.scalars(select(Item).where(Item.dataset == "mmlu").order_by(Item.id).limit(n)))
        texts = {it.id: list(s.scalars(select(Candidate.text).where(Candidate.item_id == it.id))) for it in items}
    contexts = [item_prompt(it) for it in items]
    conts = [[continuation(gold_text(it))] + [continuation(t) for t in texts[it.id]] for it in items]
    model, tok = Resources(store, cfg, items).lm()
    score_continuations_baseline(model, tok, contexts, conts)
    return sum(map(len, conts))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=10000, help="MMLU test items loaded and mined")
    ap.add_argument("--lm-items", type=int, default=10000, help="items whose candidates the LM scores")
    ap.add_argument("--baseline-items", type=int, default=100, help="items scored the lm-eval-harness way")
    ap.add_argument("--dtype", default="auto", help="LM dtype (auto: bf16 where native, else fp32)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        rows = []
        loaded, sec, mem = measure(lambda: ingest(store, open_source("mmlu", split="test", limit=args.items).items))
        rows.append(("load", loaded.items_added, sec, mem, loaded.items_added))
        emb = MineConfig(dataset="mmlu", split="test", pools=("distractors", "neighbours"), scorers=("embedding",))
        first, sec, mem = measure(lambda: mine(store, emb, progress=True))
        rows.append((f"distractors+neighbours ({first.index}), embedding", first.items_mined, sec, mem,
                     first.candidates_added))
        again, sec, mem = measure(lambda: mine(store, emb, progress=False))
        rows.append(("rerun (all skipped)", again.items_skipped, sec, mem, again.candidates_added))
        lm = MineConfig(dataset="mmlu", split="test", pools=("distractors", "neighbours"), scorers=("embedding", "lm"),
                        limit=args.lm_items, dtype=args.dtype)
        model, _ = Resources(store, lm, []).lm()
        meter = FlopMeter().attach(model)
        scored, sec, mem = measure(lambda: mine(store, lm, progress=True))
        meter.detach()
        gflops = matmul_gflops(next(model.parameters()).dtype)
        roof = meter.flops["score"] / (gflops * 1e9)
        rows.append((f"+ LM scoring, ours ({auto_dtype(args.dtype)})", scored.items_mined, sec, mem,
                     scored.candidates_rescored + scored.candidates_added + scored.items_mined))  # + gold answers
        n_base, sec, mem = measure(lambda: _baseline(store, lm, args.baseline_items))
        rows.append((f"  baseline: lm-eval way ({auto_dtype(args.dtype)})", args.baseline_items, sec, mem, n_base))
        with store.session() as s:
            total = s.scalar(select(func.count(Candidate.id)))
        store.dispose()

    print(f"mmlu/test: {args.items} items, {total} candidates stored")
    print(f"{'stage':48} {'items':>7} {'seconds':>9} {'items/s':>9} {'peak MiB':>9} {'answers':>11}")
    for name, n, sec, mem, cands in rows:
        print(f"{name:48} {n:7d} {sec:9.1f} {n / sec:9.2f} {mem:9.0f} {cands:11d}")
    ours, base = rows[3], rows[4]
    print(f"LM FLOP roof of stage 3: {meter.flops['score'] / 1e12:.2f} TFLOP at {gflops:.0f} GFLOP/s "
          f"({torch.get_num_threads()} threads) = {roof:.0f} s; it took {ours[2]:.0f} s: {100 * roof / ours[2]:.0f}% "
          f"of the roof end to end")
    print(f"LM-scored answers/s: ours end to end (pools, cache, writes included) {ours[4] / ours[2]:.1f}, "
          f"lm-eval way (scoring only) {base[4] / base[2]:.1f}")


if __name__ == "__main__":
    main()
