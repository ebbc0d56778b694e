"""K LoRA heads of one learning-curve point: trained one by one against trained together.

    PYTHONPATH=. python bench/train_step.py                      # 4 heads, 16 examples each
    PYTHONPATH=. python bench/train_step.py --heads 6 --examples 32 --dtype auto

The heads are what a point trains on ARC-Easy: the positive head (question, correct answer)
and one negative head per wrong choice index (question, that wrong answer), the same
recipe, seed and steps. "one by one" trains each alone (`Heads.train_nll`); "together"
trains all in one grouped pass (`Heads.train_nll_group`: one base forward over the rows of
every head, each row through its own adapter). Prints a table with both, measured in the same
run, the largest loss difference between them, and as its LAST line:

    heads=.. examples=.. steps=.. dtype=.. one_by_one_s=.. together_s=.. batched_speedup=.. max_loss_rel_diff=..
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nearmiss.lm.models import cpu_flags  # noqa: E402
from nearmiss.lm.prompts import continuation, mcqa_prompt  # noqa: E402
from nearmiss.load.sources import open_source  # noqa: E402
from nearmiss.train.config import TrainConfig  # noqa: E402
from nearmiss.train.heads import Heads  # noqa: E402


def _jobs(heads: int, examples: int) -> dict[str, list[tuple[str, str]]]:
    items = [it for it in open_source("arc-easy", split="test", limit=4 * examples).items
             if it.choices and len(it.choices) >= heads][:examples]
    jobs = {"pos": [(mcqa_prompt(it.question, it.context), continuation(it.choices[it.gold])) for it in items]}
    for k in range(1, heads):
        jobs[f"neg{k}"] = [(mcqa_prompt(it.question, it.context), continuation(it.choices[(it.gold + k) % len(it.choices)])) for it in items]
    return jobs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--examples", type=int, default=16, help="examples per head")
    ap.add_argument("--dtype", default="float32", help="base weights: float32, bfloat16 or auto")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    cfg = TrainConfig(dtype=args.dtype, threads=args.threads, epochs=1, min_steps=4)
    heads = Heads(cfg)
    jobs = _jobs(args.heads, args.examples)
    t = time.perf_counter()
    alone = {name: heads.train_nll(name, examples) for name, examples in jobs.items()}
    one_by_one = time.perf_counter() - t
    for name in jobs:
        heads.delete(name)
    t = time.perf_counter()
    together = heads.train_nll_group(jobs)
    grouped = time.perf_counter() - t
    steps = len(together["pos"])
    diff = max(abs(a - b) / abs(a) for name in jobs for a, b in zip(alone[name], together[name]))
    print(f"cpu: {' '.join(sorted(cpu_flags() & {'avx2', 'avx512f', 'avx512_bf16', 'amx_bf16'}))}; "
          f"threads {args.threads}; load average {os.getloadavg()[0]:.2f}")
    print(f"{args.heads} heads x {args.examples} examples, {steps} steps of {min(cfg.train_batch(heads.device), args.examples)} per head, "
          f"{cfg.torch_dtype(heads.device)}, LoRA r={cfg.lora_r} on {cfg.lora_targets}")
    print(f"{'mode':<12} {'seconds':>8} {'s/head-step':>12}")
    for mode, sec in (("one by one", one_by_one), ("together", grouped)):
        print(f"{mode:<12} {sec:8.1f} {sec / (steps * args.heads):12.2f}")
    print(f"heads={args.heads} examples={args.examples} steps={steps} dtype={cfg.torch_dtype(heads.device)} "
          f"one_by_one_s={one_by_one:.1f} together_s={grouped:.1f} batched_speedup={one_by_one / grouped:.2f} "
          f"max_loss_rel_diff={diff:.1e}")


if __name__ == "__main__":
    main()
