"""Learning curves on ARC-Easy with the bundled model: Likra against SFT (the baseline, same run).

    PYTHONPATH=. python bench/curves.py --quick                 # under 10 minutes on 2 CPU cores
    PYTHONPATH=. python bench/curves.py --threads 1             # full: sizes 0,16,32,64,128, 200 eval items
    PYTHONPATH=. python bench/curves.py --methods nat,dpo --negatives distractor --sizes 0,16,32,64

Trains on ARC-Easy test and evaluates on ARC-Easy validation (disjoint items), through the
same library path as `nearmiss train` (a throwaway SQLite store unless --db). Prints the
curve table (acc/acc_norm per size), the gain table, the time, and as its LAST line:

    likra_gain_per_example=<x> sft_gain_per_example=<y> ratio=<x/y> ll_drop_distractors_likra=<a> ll_drop_distractors_sft=<b>

x, y: best accuracy gain over zero-shot per example, (acc(n) - acc(0)) / n for n up to --low-data-max, for
Likra (both heads) on the `distractor` negatives (a random own wrong choice, the paper's
near-miss proxy) and for SFT; a, b: the mean drop of the held-out wrong choices' score from
untrained heads to the largest size (Likra: L+ - w*L-, SFT: log-likelihood; positive = lowered).
"""
from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from curator.ingest import ingest  # noqa: E402
from curator.loaders import open_source  # noqa: E402
from curator.store import Store  # noqa: E402
from curator.trainer.config import TrainConfig  # noqa: E402
from curator.trainer.curves import run_curves  # noqa: E402
from curator.trainer.runs import gain_table, load_points  # noqa: E402
from curator.trainer.report import curve_table, gain_lines  # noqa: E402

QUICK = {"sizes": "0,4,8,16", "eval_limit": 60, "methods": "likra,sft", "negatives": "distractor"}
FULL = {"sizes": "0,16,32,64,128", "eval_limit": 200, "methods": "likra,likra_neg,sft",
        "negatives": "distractor,unrelated"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"small run: {QUICK}")
    ap.add_argument("--sizes", help=f"comma list (full: {FULL['sizes']})")
    ap.add_argument("--eval-limit", type=int, help="held-out items (full: 200)")
    ap.add_argument("--methods", help=f"comma list (full: {FULL['methods']})")
    ap.add_argument("--negatives", help=f"comma list (full: {FULL['negatives']})")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, help="torch CPU threads (1 is fastest on a CPU shared with other jobs)")
    ap.add_argument("--low-data-max", type=int, default=TrainConfig.low_data_max)
    ap.add_argument("--db", help="store URL (default: a throwaway SQLite file)")
    ap.add_argument("--out-dir", default=None, help="where adapters go (default: a temporary folder)")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    preset = QUICK if args.quick else FULL
    pick = {k: getattr(args, k) if getattr(args, k) is not None else v for k, v in preset.items()}

    with tempfile.TemporaryDirectory(prefix="nearmiss-curves-") as tmp:
        store = Store(args.db or f"sqlite:///{tmp}/store.db")
        for split in ("test", "validation"):
            ingest(store, open_source("arc-easy", split=split).items)
        cfg = TrainConfig(dataset="arc-easy", train_split="test", eval_split="validation",
                          eval_limit=pick["eval_limit"], methods=pick["methods"].split(","),
                          negatives=pick["negatives"].split(","), sizes=[int(x) for x in pick["sizes"].split(",")],
                          seed=args.seed, threads=args.threads, low_data_max=args.low_data_max,
                          out_dir=args.out_dir or f"{tmp}/runs")
        t0 = time.perf_counter()
        run_id = run_curves(store, cfg)
        seconds = time.perf_counter() - t0
        points = load_points(store, run_id)
        rows = gain_table(points, cfg.low_data_max)
        store.dispose()

    print(f"ARC-Easy: train on test, evaluate on {cfg.eval_limit} validation items; model {cfg.lm} "
          f"({cfg.torch_dtype('cpu')}), seed {cfg.seed}, threads {cfg.threads or 'default'}")
    print(curve_table(points))
    print()
    print(gain_lines(rows))
    print(f"\ntotal {seconds / 60:.1f} min")
    by = {(r["method"], r["negatives"]): r for r in rows}
    neg = "distractor" if ("likra", "distractor") in by else cfg.negatives[0]
    likra, sft = by.get(("likra", neg)), by.get(("sft", neg))
    if likra is None or sft is None:
        sys.exit("the headline needs methods likra and sft")
    nan = float("nan")
    x, y = (nan if r["gain_per_example"] is None else r["gain_per_example"] for r in (likra, sft))
    a, b = (nan if r["wrong_drop"] is None else r["wrong_drop"] for r in (likra, sft))
    ratio = x / y if y else nan
    print(f"likra_gain_per_example={x:.6f} sft_gain_per_example={y:.6f} ratio={ratio:.3f} "
          f"ll_drop_distractors_likra={a:.4f} ll_drop_distractors_sft={b:.4f}")


if __name__ == "__main__":
    main()
