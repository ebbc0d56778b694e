"""Training steps of a learning-curve point: one SFT head against TRL's SFTTrainer, and K heads
trained one by one against trained together.

    PYTHONPATH=. python bench/train_step.py --peer trl             # TRL peer + 4 heads x 16 examples
    PYTHONPATH=. python bench/train_step.py                        # only the K heads
    PYTHONPATH=. python bench/train_step.py --heads 6 --examples 32 --dtype auto

The examples are ARC-Easy test items as a point trains on them: the positive head (question,
correct answer) and one negative head per wrong choice index (question, that wrong answer),
the same recipe, seed and steps for every head.

``--peer trl``: the positive head trained by ``Heads.train_nll`` and by TRL's ``SFTTrainer``
(+ peft) on the same base, LoRA config, examples, batches and steps. The losses are aligned:
both get the same tokens (TRL takes our tokenisation as a processed dataset of ``input_ids`` and
``completion_mask``, so it appends no EOS), loss on completion tokens only, mean over the
batch's completion tokens, LoRA and model dropout 0, the same initial LoRA weights (TRL's adapter
gets ours, copied), batches in our seeded order (TRL's sampler sequential over that order), the
same AdamW (lr, betas, eps, no weight decay), linear decay without warm-up, no gradient clipping
(TRL's default clips at 1.0; ours does not) and float32. Everything else is TRL's default,
gradient checkpointing included (SFTConfig turns it on); a second TRL row turns it off. Times are
of the training call alone (tokenising included for ours, TRL's dataset preparation not).

"one by one" trains each head alone (``Heads.train_nll``); "together" trains all in one
grouped pass (``Heads.train_nll_group``: one base forward over the rows of every head, each
row through its own adapter). The LAST line holds the figures:

    ... time_ratio_vs_trl=<ours/TRL> time_ratio_vs_trl_nogc=.. max_loss_diff_vs_trl=.. batched_speedup=<one-by-one/together> ...
"""
from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nearmiss.lm.loglik import encode_pairs  # noqa: E402
from nearmiss.lm.models import cpu_flags  # noqa: E402
from nearmiss.lm.prompts import continuation, mcqa_prompt  # noqa: E402
from nearmiss.load.sources import open_source  # noqa: E402
from nearmiss.train.config import TrainConfig  # noqa: E402
from nearmiss.train.heads import Heads, load_base  # noqa: E402

Examples = list[tuple[str, str]]


def _jobs(heads: int, examples: int) -> dict[str, Examples]:
    items = [it for it in open_source("arc-easy", split="test", limit=4 * examples).items
             if it.choices and len(it.choices) >= heads][:examples]
    jobs = {"pos": [(mcqa_prompt(it.question, it.context), continuation(it.choices[it.gold])) for it in items]}
    for k in range(1, heads):
        jobs[f"neg{k}"] = [(mcqa_prompt(it.question, it.context), continuation(it.choices[(it.gold + k) % len(it.choices)])) for it in items]
    return jobs


def _our_order(n: int, batch: int, steps: int, seed: int) -> list[int]:
    """The example order ``Heads.train_nll`` takes: a fresh seeded shuffle per pass."""
    rng, order = random.Random(seed), []
    while len(order) < batch * steps:
        fresh = list(range(n))
        rng.shuffle(fresh)
        order += fresh
    return order[:batch * steps]


def _trl(cfg: TrainConfig, heads: Heads, examples: Examples, init: dict, steps: int, batch: int,
         checkpointing: bool) -> tuple[list[float], float]:
    """The positive head through TRL's SFTTrainer: its loss per step and the seconds of ``train()``."""
    from datasets import Dataset
    from peft import get_peft_model, set_peft_model_state_dict
    from trl import SFTConfig, SFTTrainer

    base, tok = load_base(cfg)
    model = get_peft_model(base, heads.lora)
    set_peft_model_state_dict(model, init)
    ctx, conts = encode_pairs(heads.tok, [c for c, _ in examples], [[a] for _, a in examples])
    rows = [{"input_ids": c + a[0], "completion_mask": [0] * len(c) + [1] * len(a[0])} for c, a in zip(ctx, conts)]
    data = Dataset.from_list([rows[i] for i in _our_order(len(rows), batch, steps, cfg.seed)])
    with tempfile.TemporaryDirectory(prefix="nearmiss-trl-") as tmp:
        args = SFTConfig(output_dir=tmp, max_steps=steps, per_device_train_batch_size=batch, learning_rate=cfg.lr,
                         lr_scheduler_type="linear", warmup_steps=0, weight_decay=0.0, max_grad_norm=0.0,
                         bf16=False, use_cpu=heads.device == "cpu", completion_only_loss=True,
                         max_length=cfg.max_length, gradient_checkpointing=checkpointing,
                         train_sampling_strategy="sequential", seed=cfg.seed, report_to="none", save_strategy="no",
                         logging_steps=1, disable_tqdm=True)
        trainer = SFTTrainer(model=model, args=args, train_dataset=data, processing_class=tok)
        t = time.perf_counter()
        trainer.train()
        seconds = time.perf_counter() - t
    return [h["loss"] for h in trainer.state.log_history if "loss" in h], seconds


def _peer(cfg: TrainConfig, heads: Heads, examples: Examples) -> dict[str, float]:
    """Ours and TRL's on the positive head: seconds and loss per step of each, printed as a table."""
    from peft import get_peft_model_state_dict

    heads.add("init")
    init = {k: v.clone() for k, v in get_peft_model_state_dict(heads.net, adapter_name="init").items()}
    heads.delete("init")
    batch = min(cfg.train_batch(heads.device), len(examples))
    t = time.perf_counter()
    ours = heads.train_nll("sft", examples)
    ours_s = time.perf_counter() - t
    heads.delete("sft")
    steps = len(ours)
    trl, trl_s = _trl(cfg, heads, examples, init, steps, batch, checkpointing=True)
    trl_nogc, trl_nogc_s = _trl(cfg, heads, examples, init, steps, batch, checkpointing=False)
    diff = max(abs(a - b) for other in (trl, trl_nogc) for a, b in zip(ours, other, strict=True))
    print(f"one SFT head: {len(examples)} examples, {steps} steps of {batch}")
    print(f"{'trainer':<34} {'seconds':>8} {'s/step':>7}  loss first .. last")
    for name, sec, losses in (("TRL SFTTrainer (defaults: grad ckpt)", trl_s, trl),
                              ("TRL SFTTrainer, no grad ckpt", trl_nogc_s, trl_nogc), ("nearmiss", ours_s, ours)):
        print(f"{name:<34} {sec:8.1f} {sec / steps:7.2f}  {losses[0]:.5f} .. {losses[-1]:.5f}")
    return {"ours_s": ours_s, "trl_s": trl_s, "trl_nogc_s": trl_nogc_s, "diff": diff, "steps": steps}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--peer", choices=["trl"], help="also train the positive head through this peer trainer")
    ap.add_argument("--peer-examples", type=int, default=32, help="examples of the peer comparison's head")
    ap.add_argument("--heads", type=int, default=4)
    ap.add_argument("--examples", type=int, default=16, help="examples per head of the K-heads comparison")
    ap.add_argument("--dtype", default="float32", help="base weights: float32, bfloat16 or auto")
    ap.add_argument("--threads", type=int, default=os.cpu_count())
    args = ap.parse_args()
    cfg = TrainConfig(dtype=args.dtype, threads=args.threads, epochs=1, min_steps=4)
    heads = Heads(cfg)
    heads.train_nll("warm-up", _jobs(1, 2)["pos"])  # the first training call pays one-time set-up (~25 s here)
    heads.delete("warm-up")
    print(f"cpu: {' '.join(sorted(cpu_flags() & {'avx2', 'avx512f', 'avx512_bf16', 'amx_bf16'}))}; "
          f"threads {args.threads}; load average {os.getloadavg()[0]:.2f}")
    figures = ""
    if args.peer:
        if cfg.torch_dtype(heads.device) != "float32":
            raise SystemExit("--peer trl compares losses in float32: leave --dtype float32")
        peer = _peer(cfg, heads, _jobs(1, args.peer_examples)["pos"])
        figures = (f"peer=trl peer_steps={peer['steps']} ours_s={peer['ours_s']:.1f} trl_s={peer['trl_s']:.1f} "
                   f"trl_nogc_s={peer['trl_nogc_s']:.1f} time_ratio_vs_trl={peer['ours_s'] / peer['trl_s']:.2f} "
                   f"time_ratio_vs_trl_nogc={peer['ours_s'] / peer['trl_nogc_s']:.2f} "
                   f"max_loss_diff_vs_trl={peer['diff']:.1e} ")
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
    print(f"{args.heads} heads x {args.examples} examples, {steps} steps of {min(cfg.train_batch(heads.device), args.examples)} per head, "
          f"{cfg.torch_dtype(heads.device)}, LoRA r={cfg.lora_r} on {cfg.lora_targets}")
    print(f"{'mode':<12} {'seconds':>8} {'s/head-step':>12}")
    for mode, sec in (("one by one", one_by_one), ("together", grouped)):
        print(f"{mode:<12} {sec:8.1f} {sec / (steps * args.heads):12.2f}")
    print(f"{figures}heads={args.heads} examples={args.examples} steps={steps} dtype={cfg.torch_dtype(heads.device)} "
          f"one_by_one_s={one_by_one:.1f} together_s={grouped:.1f} batched_speedup={one_by_one / grouped:.2f} "
          f"max_loss_rel_diff={diff:.1e}")


if __name__ == "__main__":
    main()
