"""Does the active queue ("most uncertain first") teach the ranker faster than random order?

    PYTHONPATH=. python bench/active.py --only mine & PYTHONPATH=. python bench/active.py --only oracle; wait
    PYTHONPATH=. python bench/active.py --only simulate --seeds 5 --out bench/active.png

Data: ARC-Easy validation (570 items, bundled), mined with the `distractors` pool and the
`embedding` + `lm` (SmolLM2-135M-Instruct) scorers: each wrong choice is a candidate with
the scores the ranker learns from. Store cached in bench/out/active.db.

Oracle (the simulated annotator): the larger bundled LM, gemma-3-270m, scores every choice
(log-likelihood per character after the same prompt, lm-eval's acc_norm); the wrong choice it
prefers on an item is a near-miss, the item's other wrong choices far-misses. gemma's scores
are none of the ranker's features (those come from SmolLM2 and MiniLM), so the ranker must
generalise from cheaper models' scores to a stronger model's judgement. Cached in
bench/out/active_oracle_gemma.json.

`--oracle lexical` is a cheap stand-in for when gemma cannot be run: the wrong choice most
similar to the gold answer by character-trigram Jaccard is the near-miss. It is no feature of
the ranker either (its similarity features are MiniLM embeddings), but it is a shallower
notion of "near" than a stronger LM's preference.

Simulation, per seed: 30% of items are held out; their candidates are the test set. Labels
come from the other items' candidates, one at a time, in one of two orders:
  random     shuffled with the seed;
  uncertain  the app's order: nearness closest to 0.5 while the fixed blend ranks (fewer than
             RankerConfig.min_labels near/far labels, or fewer than min_per_class of one), then
             p_near closest to 0.5 from the ranker refitted every RankerConfig.refit_every labels.
After 50, 100, 200, 400 labels the ranker (nearmiss.label.ranker_model, default config) is
fitted on the labels so far and scored by ROC AUC on the held-out candidates; the fixed
blend's AUC on the same candidates is the baseline. Intervals: mean +- t 95% over seeds;
the paired difference (uncertain - random, same seed, same split) too.
"""
from __future__ import annotations

import argparse
import json
import logging
from collections import defaultdict
from pathlib import Path

import numpy as np
from scipy import stats
from sqlalchemy import select
from threadpoolctl import threadpool_limits
from tqdm import tqdm

from nearmiss.label import ranker_model as rm
from nearmiss.label.ranker import RankerConfig, needed_labels, snapshot
from nearmiss.lm.models import auto_dtype, load_lm
from nearmiss.lm.prompts import continuation, item_prompt
from nearmiss.load.run import load_source
from nearmiss.mine.run import MineConfig, mine
from nearmiss.store import Store
from nearmiss.store.schema import normalize_answer
from nearmiss.store.tables import Candidate, Item

OUT = Path(__file__).parent / "out"
DATASET = "arc-easy"
CHECKPOINTS = (50, 100, 200, 400)
ORDERS = ("random", "uncertain")


def open_store(path: Path) -> Store:
    """ARC-Easy validation loaded into the cached store."""
    store = Store(f"sqlite:///{path}")
    with store.session() as s:
        if s.scalar(select(Item.id).limit(1)) is None:
            load_source(store, DATASET, split="validation")
    return store


def mine_store(store: Store, items: int | None) -> None:
    """Distractors scored by MiniLM and SmolLM2 on the first ``items`` items (all: None;
    resumable: mined items are skipped)."""
    mine(store, MineConfig(dataset=DATASET, pools=("distractors",), scorers=("embedding", "lm"), limit=items))


def _key(item_id: str, text: str) -> str:
    return f"{item_id}\t{normalize_answer(text)}"


def _gemma_preference(items: list[Item]) -> list[list[float]]:
    """gemma-3-270m's log-likelihood per character of each choice after the item's prompt."""
    from nearmiss.lm.loglik import score_continuations

    model, tok = load_lm("gemma-3-270m", auto_dtype())
    scores = score_continuations(model, tok, [item_prompt(i) for i in items],
                                 [[continuation(c) for c in i.choices] for i in items], batch_size=16, progress=True)
    return [[s.per_char for s in per_item] for per_item in scores]


def _trigrams(text: str) -> set[str]:
    t = f"  {normalize_answer(text)} "
    return {t[k:k + 3] for k in range(len(t) - 2)}


def _lexical_preference(items: list[Item]) -> list[list[float]]:
    """Character-trigram Jaccard similarity of each choice to the gold answer."""
    out = []
    for item in items:
        gold = _trigrams(item.choices[item.gold])
        out.append([len(gold & _trigrams(c)) / len(gold | _trigrams(c)) for c in item.choices])
    return out


ORACLES = {"gemma": _gemma_preference, "lexical": _lexical_preference}


def oracle(store: Store, name: str) -> dict[str, int]:
    """"item id<TAB>normalised wrong choice" -> 1 for the wrong choice the oracle prefers on its
    item, else 0. Needs only the items, so it can run beside mining; cached per oracle."""
    cache = OUT / f"active_oracle_{name}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    with store.session() as s:
        items = s.scalars(select(Item).where(Item.dataset == DATASET).order_by(Item.id)).all()
    truth: dict[str, int] = {}
    for item, per_choice in zip(items, ORACLES[name](items)):
        wrong = [(v, _key(item.id, c)) for j, (c, v) in enumerate(zip(item.choices, per_choice)) if j != item.gold]
        best = max(wrong)[1]
        truth.update({key: int(key == best) for _, key in wrong})
    cache.write_text(json.dumps(truth))
    return truth


def _fit_auc(x: np.ndarray, y: np.ndarray, labeled: list[int], test: np.ndarray, cfg: RankerConfig) -> float:
    ys = y[labeled]
    if min(ys.sum(), len(ys) - ys.sum()) < 3:  # calibration's 3 folds need 3 of each
        return float("nan")
    model = rm.fit_model(cfg.model, x[labeled], ys, cfg.seed)
    return rm.auc(y[test], rm.p_near(model, x[test]))


def simulate(x: np.ndarray, y: np.ndarray, nearness: np.ndarray, pool: np.ndarray, test: np.ndarray,
             order: str, seed: int, cfg: RankerConfig) -> dict[int, float]:
    """Label the pool in ``order``; held-out AUC at each checkpoint."""
    rng = np.random.default_rng(seed)
    left = list(rng.permutation(pool))
    labeled: list[int] = []
    score = nearness.copy()  # what the uncertain order ranks by: nearness, then p_near
    out = {}
    while len(labeled) < max(CHECKPOINTS):
        if order == "uncertain":
            n_near = int(y[labeled].sum())
            if not needed_labels(n_near, len(labeled) - n_near, cfg) and len(labeled) % cfg.refit_every == 0:
                score = score.copy()
                score[left] = rm.p_near(rm.fit_model(cfg.model, x[labeled], y[labeled], cfg.seed), x[left])
            pick = min(range(len(left)), key=lambda k: abs(score[left[k]] - 0.5))
        else:
            pick = 0
        labeled.append(left.pop(pick))
        if len(labeled) in CHECKPOINTS:
            out[len(labeled)] = _fit_auc(x, y, labeled, test, cfg)
    return out


def interval(values: list[float]) -> tuple[float, float, float]:
    v = np.array([a for a in values if not np.isnan(a)])
    mean = float(v.mean())
    half = float(stats.t.ppf(0.975, len(v) - 1) * v.std(ddof=1) / np.sqrt(len(v))) if len(v) > 1 else float("nan")
    return mean, mean - half, mean + half


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seeds", type=int, default=5)
    ap.add_argument("--items", type=int, help="Mine only the first N items (default: all 570).")
    ap.add_argument("--out", type=Path, default=OUT / "active.png")
    ap.add_argument("--only", choices=("mine", "oracle", "simulate"),
                    help="Only this stage (mine and oracle can run at once; simulate uses what they cached).")
    ap.add_argument("--oracle", choices=tuple(ORACLES), default="gemma", help="Who labels (see the docstring).")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO)
    OUT.mkdir(exist_ok=True)
    store = open_store(OUT / "active.db")
    if args.only in (None, "mine"):
        mine_store(store, args.items)
    if args.only != "mine":
        truth = oracle(store, args.oracle)
    if args.only in ("mine", "oracle"):
        return
    snap = snapshot(store, DATASET)
    with store.session() as s:
        rows = s.execute(select(Candidate.id, Candidate.item_id, Candidate.text)).all()
    key = {cid: _key(item, text) for cid, item, text in rows}
    item_of = {cid: item for cid, item, _ in rows}
    keep = np.array([i for i, cid in enumerate(snap.ids) if key[cid] in truth])
    x, nearness = snap.x[keep], np.nan_to_num(snap.nearness[keep], nan=0.5)
    y = np.array([truth[key[snap.ids[i]]] for i in keep])
    items = np.array([item_of[snap.ids[i]] for i in keep])
    print(f"{len(y)} candidates on {len(set(items))} items, {y.mean():.1%} near-miss by the oracle")
    cfg = RankerConfig()
    results: dict[str, dict[int, list[float]]] = {o: defaultdict(list) for o in ORDERS}
    blend = []
    with threadpool_limits(limits=1):
        for seed in tqdm(range(args.seeds), desc="seeds"):
            rng = np.random.default_rng(1000 + seed)
            names = np.unique(items)
            held = set(rng.choice(names, size=int(0.3 * len(names)), replace=False))
            test = np.array([k for k in range(len(y)) if items[k] in held])
            pool = np.array([k for k in range(len(y)) if items[k] not in held])
            blend.append(rm.auc(y[test], nearness[test]))
            for order in ORDERS:
                for n, a in simulate(x, y, nearness, pool, test, order, seed, cfg).items():
                    results[order][n].append(a)
    print(f"\nfixed blend (nearness) held-out AUC: {interval(blend)[0]:.3f} [{interval(blend)[1]:.3f}, "
          f"{interval(blend)[2]:.3f}]")
    print(f"{'labels':>6} | {'random order':>22} | {'uncertain order':>22} | {'uncertain - random':>22}")
    rows = []
    for n in CHECKPOINTS:
        r, u = interval(results["random"][n]), interval(results["uncertain"][n])
        d = interval([a - b for a, b in zip(results["uncertain"][n], results["random"][n])])
        rows.append((n, r, u, d))
        print(f"{n:>6} | " + " | ".join(f"{m:.3f} [{lo:.3f}, {hi:.3f}]" for m, lo, hi in (r, u, d)))
    plot(rows, interval(blend), args.out, f"oracle {args.oracle}, {args.seeds} seeds")


def plot(rows, blend, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [r[0] for r in rows]
    for k, (name, colour) in enumerate((("random order", "tab:blue"), ("uncertain order", "tab:orange")), start=1):
        mean = [r[k][0] for r in rows]
        ax.plot(ns, mean, marker="o", color=colour, label=name)
        ax.fill_between(ns, [r[k][1] for r in rows], [r[k][2] for r in rows], color=colour, alpha=0.2)
    ax.axhline(blend[0], color="grey", linestyle="--", label="fixed blend")
    ax.set_xscale("log")
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.xaxis.set_minor_formatter(matplotlib.ticker.NullFormatter())
    ax.set_xlabel("labels")
    ax.set_ylabel("held-out ROC AUC")
    ax.set_title(f"ARC-Easy, {title} (95% CI)")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out, dpi=110)


if __name__ == "__main__":
    main()
