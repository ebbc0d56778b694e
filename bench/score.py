"""Log-likelihood scoring: the lm-eval-harness way against nearmiss's shared-prompt scorer.

    PYTHONPATH=. python bench/score.py --items 100

Scores the same N items x all their choices both ways in one process, in fp32 (``--bf16``
adds ours with bf16 weights), each method timed ``--repeats`` times interleaved and the best time
kept (the machine is shared; the best run is the least disturbed). Peak memory is the
largest rise of the process's resident memory (CPU) or of allocated CUDA memory during a
call. The last line is ``speedup=<ours/baseline> max_abs_diff=<max |difference|>`` in fp32.

    PYTHONPATH=. python bench/score.py --items 570 --peer lm-eval

``--peer lm-eval`` runs the real ``lm_eval`` CLI (0.4.13, its own venv: see bench/lm_eval_peer.py)
on the same items, model and prompt as a subprocess, interleaved ``--repeats`` times with ours
in this process (model loaded before the clock starts); each way's best run is kept. lm_eval's
wall time includes its start-up and model load, printed apart as measured on one item (best of
``--repeats``). It prints both times, both accuracies (acc and
lm-eval's acc_norm: log-likelihood / len(choice text)), the time ratio and the ratio of forward
FLOPs, lm_eval's counted from the positions its model was fed in the run (bench/lm_eval_fed.py):
the bound that sharing the prompt can buy. The last line is
``speedup_vs_lm_eval=<lm_eval/ours> acc_equal=<true|false>`` (acc and acc_norm to four digits).
"""
from __future__ import annotations

import argparse
import time

import torch
from measure import measure

from nearmiss.lm.loglik import CPU_BATCH_TOKENS, fed_tokens, score_continuations
from nearmiss.lm.loglik_baseline import score_continuations_baseline
from nearmiss.lm.models import load_lm
from nearmiss.lm.prompts import continuation, mcqa_prompt
from nearmiss.load.sources import open_source


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--items", type=int, default=100, help="number of items (all their choices are scored)")
    ap.add_argument("--dataset", default="arc-easy")
    ap.add_argument("--split", default="validation")
    ap.add_argument("--lm", default="smollm2-135m", help="bundled name, hub id org/name or local HF folder")
    ap.add_argument("--batch-tokens", type=int, help="positions per forward, ours (default: the scorer's)")
    ap.add_argument("--baseline-batch-size", type=int, default=32, help="sequences per forward, the baseline")
    ap.add_argument("--repeats", type=int, default=3, help="timed runs per method; the best is kept")
    ap.add_argument("--bf16", action="store_true", help="also time ours with bf16 weights (fast only on CPUs with native bf16)")
    ap.add_argument("--peer", choices=("baseline", "lm-eval"), default="baseline",
                    help="baseline: lm-eval's way re-implemented in process; lm-eval: the real lm_eval CLI")
    args = ap.parse_args()

    items = list(open_source(args.dataset, split=args.split, limit=args.items).items)
    contexts = [mcqa_prompt(it.question, it.context) for it in items]
    choices = [[continuation(c) for c in it.choices] for it in items]
    if args.peer == "lm-eval":
        versus_lm_eval(args, items, contexts, choices)
        return
    n = sum(map(len, choices))
    fp32, tok = load_lm(args.lm, "float32")
    methods = {
        ("lm-eval-harness", "fp32"): lambda: score_continuations_baseline(fp32, tok, contexts, choices,
                                                                          batch_size=args.baseline_batch_size),
        ("nearmiss", "fp32"): lambda: score_continuations(fp32, tok, contexts, choices, batch_tokens=args.batch_tokens),
    }
    if args.bf16:
        bf16, _ = load_lm(args.lm, "bfloat16")
        methods[("nearmiss", "bf16")] = lambda: score_continuations(bf16, tok, contexts, choices,
                                                                    batch_tokens=args.batch_tokens)
    best: dict[tuple[str, str], tuple[float, float]] = {}
    results: dict[tuple[str, str], list] = {}
    for _ in range(args.repeats):
        for key, fn in methods.items():
            results[key], sec, mem = measure(fn)
            old = best.get(key, (float("inf"), 0.0))
            best[key] = (min(old[0], sec), max(old[1], mem))

    flat = {k: [s.logprob for row in r for s in row] for k, r in results.items()}
    base = flat[("lm-eval-harness", "fp32")]
    diff = {k: max(abs(a - b) for a, b in zip(v, base)) for k, v in flat.items()}
    gold_hit = {k: sum(max(range(len(row)), key=lambda j: row[j].logprob) == it.gold for row, it in zip(r, items))
                / len(items) for k, r in results.items()}
    device = "cuda" if torch.cuda.is_available() else f"cpu ({torch.get_num_threads()} threads)"
    print(f"{args.dataset}/{args.split}: {len(items)} items, {n} candidates, {args.lm}, {device}, "
          f"{args.batch_tokens or 'default'} positions a forward, best of {args.repeats}")
    print(f"{'method':16} {'dtype':5} {'seconds':>8} {'cand/s':>8} {'peak MiB':>9} {'max|diff|':>10} {'acc':>6}")
    for (name, dtype), (sec, mem) in best.items():
        print(f"{name:16} {dtype:5} {sec:8.2f} {n / sec:8.1f} {mem:9.0f} {diff[(name, dtype)]:10.2e} "
              f"{gold_hit[(name, dtype)]:6.3f}")
    speedup = best[("lm-eval-harness", "fp32")][0] / best[("nearmiss", "fp32")][0]
    print(f"speedup={speedup:.2f} max_abs_diff={diff[('nearmiss', 'fp32')]:.2e}")


def _accuracies(items: list, rows: list) -> tuple[float, float]:
    """acc (argmax log-likelihood) and lm-eval's acc_norm (argmax log-likelihood / len(choice text))."""
    acc = sum(max(range(len(r)), key=lambda j: r[j].logprob) == it.gold for r, it in zip(rows, items))
    norm = sum(max(range(len(r)), key=lambda j: r[j].logprob / max(len(it.choices[j].strip()), 1)) == it.gold
               for r, it in zip(rows, items))
    return acc / len(items), norm / len(items)


def versus_lm_eval(args, items: list, contexts: list[str], choices: list[list[str]]) -> None:
    from lm_eval_peer import run_lm_eval

    from nearmiss.lm.models import lm_path

    model, tok = load_lm(args.lm, "float32")
    ours_runs, peers = [], []
    for _ in range(args.repeats):  # interleaved, each way's best kept: the least disturbed run
        start = time.perf_counter()
        rows = score_continuations(model, tok, contexts, choices, batch_tokens=args.batch_tokens)
        ours_runs.append(time.perf_counter() - start)
        peers.append(run_lm_eval(items, lm_path(args.lm)))
    ours_sec, peer = min(ours_runs), min(peers, key=lambda p: p.seconds)
    acc, acc_norm = _accuracies(items, rows)
    fed = fed_tokens(tok, contexts, choices, batch_tokens=args.batch_tokens or CPU_BATCH_TOKENS)
    start_up = min(run_lm_eval(items[:1], lm_path(args.lm)).seconds for _ in range(args.repeats))
    n = sum(map(len, choices))
    print(f"{args.dataset}/{args.split}: {len(items)} items, {n} choices, {args.lm} fp32, "
          f"cpu ({torch.get_num_threads()} threads); lm_eval batch 16, ours {args.batch_tokens or CPU_BATCH_TOKENS} positions a forward")
    print(f"{'way':26} {'seconds':>8} {'acc':>7} {'acc_norm':>8}")
    print(f"{'lm_eval 0.4.13 (CLI)':26} {peer.seconds:8.1f} {peer.acc:7.4f} {peer.acc_norm:8.4f}   "
          f"(runs: {', '.join(f'{p.seconds:.1f}' for p in peers)})")
    print(f"{'  of which start-up+load':26} {start_up:8.1f}   (lm_eval on 1 item)")
    print(f"{'nearmiss (in process)':26} {ours_sec:8.1f} {acc:7.4f} {acc_norm:8.4f}   "
          f"(runs: {', '.join(f'{s:.1f}' for s in ours_runs)}; the first with the model cold)")
    head = model.get_input_embeddings().weight.numel()
    body = sum(p.numel() for p in model.parameters()) - head
    bound = 2.0 * peer.positions * (body + head) / fed.flops(body, head)
    speedup, net = peer.seconds / ours_sec, (peer.seconds - start_up) / ours_sec
    print(f"positions fed: lm_eval {peer.positions} (padding included; {fed.separate} as one sequence a choice), "
          f"ours {fed.shared} ({fed.padded} with padding); projected onto the vocabulary: lm_eval all, ours "
          f"{fed.answers}; forward FLOP ratio {bound:.2f} (positions alone {peer.positions / fed.padded:.2f})")
    print(f"time ratio {speedup:.2f} ({net:.2f} without lm_eval's start-up) = {net / bound:.0%} of the FLOP ratio")
    equal = f"{acc:.4f}" == f"{peer.acc:.4f}" and f"{acc_norm:.4f}" == f"{peer.acc_norm:.4f}"
    print(f"speedup_vs_lm_eval={speedup:.2f} acc_equal={str(equal).lower()}")


if __name__ == "__main__":
    main()
