"""Sizing a mining run of 1M items: throughput of one actor per stage, then the arithmetic.

    PYTHONPATH=. python bench/scale.py --items 300

Loads ``--items`` MMLU test items, evenly spaced over the split (every subject, so lengths mix as
in the whole set), into a fresh SQLite store and times, in one process with one
torch thread (one actor on one CPU core), each stage of ``nearmiss mine --backend ray`` on them:
the first pass embedding every question (on actors), the pool stage (distractors + neighbours),
the embedding scorer (cold cache), the LM scorer (``--dtype``) and the driver's store writes.
The driver's faiss build is timed apart on ``--index-vectors`` random unit vectors with the
index kind ``auto`` picks for 1M (HNSW), since its cost is not linear in the items: its time is
scaled to 1M by n log n. It then prints, for 1M items on N CPU actors per stage, each stage's
time and the end-to-end time: the embedding pass, then the index build, then the streaming
pipeline (its slowest stage, or the driver's writes). GPU rows are arithmetic, not measurements: the LM
stage's FLOPs per item (2 x parameters x positions fed, padding included) over an assumed
sustained GPU rate (``--gpu-tflops``, default 200 for bf16 on an H100-class GPU at ~20-40 % of
its peak for a 135M model).
"""
from __future__ import annotations

import argparse
import logging
import math
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from nearmiss.lm.loglik import fed_tokens
from nearmiss.lm.models import auto_dtype, load_embedder, load_lm
from nearmiss.lm.prompts import continuation, item_prompt
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.mine.base import Proposal, gold_text
from nearmiss.mine.embed import embed_texts
from nearmiss.mine.index import IndexConfig, build_index, choose_kind
from nearmiss.mine.pools.neighbours import NeighbourPool
from nearmiss.mine.registry import POOLS, SCORERS
from nearmiss.mine.run import MineConfig, Resources, _universe, _write, create_run
from nearmiss.store import Store

TARGET = 1_000_000
EMBED_DIM = 384  # all-MiniLM-L6-v2, the default embedder


def _timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _index_seconds(size: int, kind: str) -> float:
    """Seconds to build a ``kind`` index over ``size`` random unit vectors of the embedder's width."""
    vectors = np.random.default_rng(0).standard_normal((size, EMBED_DIM), dtype=np.float32)
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    return _timed(lambda: build_index(vectors, IndexConfig(kind=kind)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=300, help="MMLU test items measured")
    ap.add_argument("--dtype", default="auto", help="LM dtype (auto: bf16 where native, else fp32)")
    ap.add_argument("--actors", default="1,8,64,256", help="CPU actors per stage to size for")
    ap.add_argument("--index-vectors", type=int, default=100_000, help="random vectors the index build is timed on")
    ap.add_argument("--gpu-tflops", type=float, default=200.0, help="assumed sustained GPU TFLOP/s for the LM stage")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    torch.set_num_threads(1)

    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'scale.db'}")
        every = list(open_source("mmlu", split="test").items)
        ingest(store, every[::max(1, len(every) // args.items)][:args.items])  # all subjects, as in the whole set
        cfg = MineConfig(dataset="mmlu", split="test", dtype=args.dtype, batch_size=32)
        universe = _universe(store, cfg)
        n = len(universe)
        load_embedder(cfg.embedder), load_lm(cfg.lm, auto_dtype(cfg.dtype))  # once per actor: not timed
        started = time.perf_counter()
        vectors = embed_texts(store, cfg.embedder, [it.question for it in universe])
        sec = {"question embeddings": time.perf_counter() - started}
        res = Resources(store, cfg, universe, neighbours=NeighbourPool(universe, vectors, cfg.neighbours))
        pools = [POOLS[name](res) for name in cfg.pools]
        scorers = {name: SCORERS[name](res) for name in cfg.scorers}
        batches = [[Proposal(it) for it in res.universe[i:i + cfg.batch_size]] for i in range(0, n, cfg.batch_size)]
        sec["pools"] = _timed(lambda: [p.propose(b) for b in batches for p in pools])
        for name, scorer in scorers.items():
            sec[f"scorer {name}"] = _timed(lambda scorer=scorer: [scorer.score(b) for b in batches])
        run_id = create_run(store, cfg)
        scored_by = {s.name: s.model_name for s in scorers.values()}

        def write() -> None:
            for b in batches:
                with store.session() as s:
                    _write(s, run_id, b, cfg, scored_by)
        sec["writes (driver)"] = _timed(write)
        cands = sum(len(p.candidates) for b in batches for p in b)
        model, tok = scorers["lm"].model, scorers["lm"].tok
        contexts = [item_prompt(p.item) for b in batches for p in b]
        conts = [[continuation(gold_text(p.item))] + [continuation(c.text) for c in p.candidates]
                 for b in batches for p in b]
        fed = fed_tokens(tok, contexts, conts)
        params = sum(p.numel() for p in model.parameters())
        store.dispose()

    kind = choose_kind(TARGET, IndexConfig())
    index_1m = _index_seconds(args.index_vectors, kind) * TARGET * math.log(TARGET) / (
        args.index_vectors * math.log(args.index_vectors))
    rate = {stage: n / s for stage, s in sec.items()}
    print(f"mmlu/test: {n} items, {cands} candidates ({cands / n:.1f}/item), LM {cfg.lm} "
          f"{auto_dtype(args.dtype)}, one thread per actor")
    print(f"{'stage':24} {'seconds':>8} {'items/s per actor':>18}")
    for stage, s in sec.items():
        print(f"{stage:24} {s:8.2f} {rate[stage]:18.2f}")
    import faiss  # after torch's thread setting, as when RESULTS was measured (it then reports 1 thread)

    print(f"index build (driver, once, {faiss.omp_get_max_threads()} faiss threads): {kind} over "
          f"{args.index_vectors:,} random vectors, scaled to 1M "
          f"by n log n: {index_1m / 3600:.2f} h; driver writes of 1M items: {TARGET / rate['writes (driver)'] / 3600:.2f} h")
    actor_stages = ["pools", *[f"scorer {name}" for name in cfg.scorers]]
    print(f"\n{'CPU actors/stage':>16} {'embed pass':>11} " + " ".join(f"{s:>16}" for s in actor_stages)
          + f" {'end to end (h)':>15}")
    for actors in (int(a) for a in args.actors.split(",")):
        embed = TARGET / (rate["question embeddings"] * actors) / 3600
        hours = [TARGET / (rate[s] * actors) / 3600 for s in actor_stages]
        total = embed + index_1m / 3600 + max(max(hours), TARGET / rate["writes (driver)"] / 3600)
        print(f"{actors:16d} {embed:10.2f}h " + " ".join(f"{h:15.2f}h" for h in hours) + f" {total:15.2f}")
    flops = 2 * params * fed.padded / n
    gpu_rate = args.gpu_tflops * 1e12 / flops
    print(f"\nLM stage: {fed.padded / n:.0f} positions fed per item (padding included), {params / 1e6:.0f}M params, "
          f"{flops / 1e9:.1f} GFLOP/item; measured {flops * rate['scorer lm'] / 1e9:.1f} GFLOP/s per CPU actor")
    for gpus in (1, 8):
        print(f"{gpus} GPU actor(s) at {args.gpu_tflops:.0f} TFLOP/s (assumed): LM stage of 1M items "
              f"{TARGET / (gpu_rate * gpus) / 3600:.2f} h ({gpu_rate * gpus:.0f} items/s)")


if __name__ == "__main__":
    main()
