"""Learning curves with a bundled model: Likra against SFT, per negative set.

    PYTHONPATH=. python bench/curves.py --quick          # Likra + SFT, sizes 0-64, 200 eval items, 1 seed
    PYTHONPATH=. python bench/curves.py                  # full: 5 negative sets, sizes 0-256, 570 eval items, 2 seeds
    PYTHONPATH=. python bench/curves.py --sizes 0,16,64 --negatives hardest,distractor --seeds 0
    PYTHONPATH=. python bench/curves.py --quick --beside 1   # the same beside a one-thread CPU-bound job
    PYTHONPATH=. python bench/curves.py --dataset arc-challenge --lm gemma-3-270m --train-split train \
        --eval-split validation,test --decide likra/mined-likra/distractor@64 --budget 30m   # a study run

Trains on one split of a bundled benchmark (default ARC-Easy test) and evaluates on others
(default ARC-Easy validation; disjoint items), through the same library path as `nearmiss
train` (a throwaway SQLite store unless --db). The `mined` set needs mined candidates: the
bench mines the training split first (own distractors and neighbours, embedding nearness).
``--decide`` adds seeds until each comparison is decided or ``--budget`` ends (``nearmiss.train.decide``).
Prints the curve with 95% intervals, the gain table, the paired comparisons, the decisions, the
run's FLOPs against the measured matmul roof, the time, and as its LAST line:

    gain_likra_hardest=.. gain_likra_distractor=.. gain_sft=.. w_auto=.. seeds=.. decide_<target>=<verdict> minutes=.. roof_pct=..

gain_*: best accuracy gain over zero-shot per example, (acc(n) - acc(0)) / n for n up to
low_data_max (64), averaged over seeds; w_auto: the w Likra chose at the largest size, per seed.
"""
from __future__ import annotations

import argparse
import logging
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nearmiss.load.ingest import ingest  # noqa: E402
from nearmiss.load.sources import open_source  # noqa: E402
from nearmiss.mine.pools.neighbours import NeighboursConfig  # noqa: E402
from nearmiss.mine.run import MineConfig, mine  # noqa: E402
from nearmiss.store import Store  # noqa: E402
from nearmiss.train.config import TrainConfig  # noqa: E402
from nearmiss.train.curves import run_curves  # noqa: E402
from nearmiss.train.report import comparison_lines, curve_table, decision_lines, gain_lines, roof_line  # noqa: E402
from nearmiss.train.runs import curve_report, run_summary  # noqa: E402

QUICK = {"sizes": "0,16,32,64", "eval_limit": 200, "methods": "likra,sft", "negatives": "distractor", "seeds": "0"}
BUSY = "import sys, torch\ntorch.set_num_threads(int(sys.argv[1]))\na = torch.randn(1024, 1024)\nwhile True:\n    a @ a"
FULL = {"sizes": "0,16,32,64,128,256", "eval_limit": None, "methods": "likra,sft",
        "negatives": "hardest,easiest,mined,distractor,unrelated", "seeds": "0,1"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help=f"small run: {QUICK}")
    for name in ("sizes", "methods", "negatives", "seeds"):
        ap.add_argument(f"--{name}", help=f"comma list (full: {FULL[name]})")
    ap.add_argument("--eval-limit", type=int, help="held-out items (full: all 570)")
    ap.add_argument("--dataset", default="arc-easy", help="bundled benchmark (arc-easy, arc-challenge, ...)")
    ap.add_argument("--lm", help="base model (default: the bundled smollm2-135m; e.g. gemma-3-270m)")
    ap.add_argument("--train-split", default="test", help="split trained on")
    ap.add_argument("--eval-split", default="validation", help="held-out split(s), comma list")
    ap.add_argument("--decide", action="append", default=[],
                    help="comparison to decide, e.g. likra/mined-likra/distractor@64 (repeatable; all: every stated pair)")
    ap.add_argument("--equivalence", type=float, default=0.0, help="decide: equivalence margin in accuracy")
    ap.add_argument("--budget", help="decide: time budget (30m, 1h30m); no seed starts that would overrun it")
    ap.add_argument("--max-seeds", type=int, default=10, help="decide: at most this many seeds")
    ap.add_argument("--recipe", default="default", help="training recipe (default, likra-paper)")
    ap.add_argument("--likra-w", default="auto", help="a number or auto")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: the free cores)")
    ap.add_argument("--set", action="append", default=[], help="other config fields, key=value (JSON values)")
    ap.add_argument("--db", help="store URL (default: a throwaway SQLite file)")
    ap.add_argument("--beside", type=int, default=0,
                    help="run this many CPU-bound jobs (torch matmul loops) beside it")
    ap.add_argument("--beside-threads", type=int, default=1, help="torch threads of each job beside it")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)
    preset = QUICK if args.quick else FULL
    pick = {k: getattr(args, k) if getattr(args, k, None) is not None else v for k, v in preset.items()}
    extra = {}
    for kv in args.set:
        import json

        key, _, value = kv.partition("=")
        extra[key] = json.loads(value)

    with tempfile.TemporaryDirectory(prefix="nearmiss-curves-") as tmp:
        store = Store(args.db or f"sqlite:///{tmp}/store.db")
        eval_splits = args.eval_split.split(",")
        for split in dict.fromkeys([args.train_split, *eval_splits]):
            ingest(store, open_source(args.dataset, split=split).items)
        negatives = pick["negatives"].split(",")
        t0 = time.perf_counter()
        if any(n.startswith("mined") for n in negatives):
            mined = mine(store, MineConfig(dataset=args.dataset, split=args.train_split, pools=("distractors", "neighbours"),
                                           scorers=("embedding",), neighbours=NeighboursConfig(k=2)))
            print(f"mined the {args.train_split} split: {mined.candidates_added} candidates in "
                  f"{time.perf_counter() - t0:.0f} s")
        decide = {"decide": args.decide, "equivalence": args.equivalence, "budget": args.budget,
                  "max_seeds": args.max_seeds} if args.decide else {}
        cfg = TrainConfig.from_dict({
            "dataset": args.dataset, "train_split": args.train_split, "eval_split": eval_splits,
            "eval_limit": pick["eval_limit"], **({"lm": args.lm} if args.lm else {}), **decide,
            "methods": pick["methods"].split(","), "negatives": negatives,
            "sizes": [int(x) for x in pick["sizes"].split(",")], "seeds": [int(x) for x in pick["seeds"].split(",")],
            "recipe": args.recipe, "likra_w": args.likra_w if args.likra_w == "auto" else float(args.likra_w),
            "threads": args.threads, "out_dir": f"{tmp}/runs", **extra})
        jobs = [subprocess.Popen([sys.executable, "-c", BUSY, str(args.beside_threads)])
                for _ in range(args.beside)]
        time.sleep(5 if jobs else 0)  # let them start
        t1 = time.perf_counter()
        try:
            run_id = run_curves(store, cfg)
        finally:
            for job in jobs:
                job.kill()
        seconds = time.perf_counter() - t1
        metrics = run_summary(store, run_id)["metrics"]
        report, roof = curve_report(store, run_id), metrics["roof"]
        store.dispose()

    print(f"{cfg.dataset}: train on {cfg.train_split}, evaluate on {report['n_eval']} {'+'.join(cfg.eval_split)} items; "
          f"model {cfg.lm} "
          f"({cfg.torch_dtype('cpu')}), seeds {cfg.seeds}, recipe {cfg.recipe}, likra_w {cfg.likra_w}")
    print(curve_table(report["points"]))
    print()
    print(gain_lines(report["gains"]))
    print("\npaired differences (same eval items and seeds), 95% bootstrap intervals:")
    print(comparison_lines(report["comparisons"]))
    if metrics.get("decisions"):
        print("\ndecisions (repeated 95% intervals, valid at whichever look the run stopped):")
        print(decision_lines(metrics["decisions"], metrics.get("decide")))
    print(roof_line(roof))
    for seed, lines in metrics["notes"].items():
        print("\n".join(f"seed {seed}: {line}" for line in lines))
    print(f"\ntraining run {seconds / 60:.1f} min" + (f", beside {args.beside} CPU-bound job(s) of {args.beside_threads} thread(s)" if args.beside else ""))
    gains = {(r["method"], r["negatives"]): r for r in report["gains"]}
    figures = {f"gain_{m}_{n}": gains[(m, n)]["gain_per_example"] for m, n in gains if m != "sft"}
    sft = next((r for (m, _), r in gains.items() if m == "sft"), None)
    figures["gain_sft"] = sft["gain_per_example"] if sft else None
    w_last = next((r["w_last"] for (m, n), r in gains.items() if m == "likra" and r["w_last"]), None)
    figures["w_auto"] = "/".join(f"{v:g}" for v in w_last.values()) if w_last else None
    figures["seeds"] = len(report["seeds"])
    figures |= {f"decide_{d['target']}": d["verdict"] for d in metrics.get("decisions", [])}
    figures["minutes"] = round(seconds / 60, 1)
    figures["roof_pct"] = round(100 * roof["roof_seconds"] / roof["seconds"]) if roof.get("roof_seconds") else None
    print(" ".join(f"{k}={v:.5f}" if isinstance(v, float) and k.startswith("gain") else f"{k}={v}"
                   for k, v in figures.items()))


if __name__ == "__main__":
    main()
