"""Which ranker and which labeling order learn an oracle's notion of "near" fastest?

    PYTHONPATH=. python bench/active.py --only mine --items 300 && PYTHONPATH=. python bench/active.py --only oracle
    PYTHONPATH=. python bench/active.py --only simulate --seeds 5 --out bench/active.png   # + --model item_softmax

Data: ARC-Easy validation (570 items, bundled; `--items N`: the first N), mined with the
`distractors` pool and the `embedding` + `lm` (SmolLM2-135M-Instruct) scorers: each wrong
choice is a candidate with the scores the ranker learns from. Store cached in bench/out/active.db.

Oracle (the simulated annotator): the larger bundled LM, gemma-3-270m, scores every choice
(log-likelihood per character after the same prompt, lm-eval's acc_norm); the wrong choice it
prefers on an item is a near-miss, the item's other wrong choices far-misses. gemma's scores
are none of the ranker's features (those come from SmolLM2 and MiniLM), so the ranker must
generalise from cheaper models' scores to a stronger model's judgement. Cached in
bench/out/active_oracle_gemma.json. `--oracle lexical` is a cheap stand-in: the wrong choice
most similar to the gold answer by character-trigram Jaccard is the near-miss.

Rankers: `old`, the per-candidate calibrated logistic regression on per-candidate features
(the ranker before item-relative features); `new`, `--model` on every feature, item-relative
ones included (nearmiss.label.ranker_features). Default `logistic`: the model the app's `auto`
chose on 200 random gemma labels in 2 of 3 draws (boosting in the third; item_softmax had the
highest log loss: random labels seldom give two candidates of one item); `--model auto` reruns
the choice at every fit, ~10x the CPU.

Simulation, per seed: 30% of items are held out; their candidates are the test set. Labels
come from the other items' candidates, one at a time, in one of four orders:
  random     shuffled with the seed;
  uncertain  the app's order: nearness closest to 0.5 while the fixed blend ranks (fewer than
             RankerConfig.min_labels near/far labels, or fewer than min_per_class of one), then
             the new ranker's p_near closest to 0.5, refitted every RankerConfig.refit_every labels;
  diverse    MiniLM embeddings of the candidates' texts in k-means clusters (k = 20); the next
             label comes from the cluster with fewest labels so far (random within it);
  mix        the cluster with fewest labels so far, its most uncertain candidate.
After 50, 100, 200, 400 labels both rankers are fitted on the labels so far and scored by ROC
AUC on the held-out candidates; the fixed blend's AUC on the same candidates is the baseline.
Suggestions: a card gets one where the new ranker's confidence max(p, 1 - p) reaches the
threshold; coverage is the share of held-out cards that get one, agreement the share of those
the oracle agrees with, at 0.8 and at the threshold that covers half the cards.
Intervals: mean +- t 95% over seeds; differences (order - random) paired by seed and split.
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

from nearmiss.label import ranker_features as rf
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
                                 [[continuation(c) for c in i.choices] for i in items], progress=True)
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
    item, else 0, on the items mined so far; cached per oracle (delete the cache after mining more)."""
    cache = OUT / f"active_oracle_{name}.json"
    if cache.exists():
        return json.loads(cache.read_text())
    with store.session() as s:
        items = s.scalars(select(Item).where(Item.dataset == DATASET, Item.candidates.any())  # the mined ones
                          .order_by(Item.id)).all()
    truth: dict[str, int] = {}
    for item, per_choice in zip(items, ORACLES[name](items)):
        wrong = [(v, _key(item.id, c)) for j, (c, v) in enumerate(zip(item.choices, per_choice)) if j != item.gold]
        best = max(wrong)[1]
        truth.update({key: int(key == best) for _, key in wrong})
    cache.write_text(json.dumps(truth))
    return truth


ORDERS = ("random", "uncertain", "diverse", "mix")
RANKERS = ("old", "new")
CLUSTERS = 20


def _fit(x: np.ndarray, items: np.ndarray, y: np.ndarray, labeled: list[int], model: str,
         cfg: RankerConfig) -> rm.Fitted | None:
    rows = np.array(labeled)
    ys = y[rows]
    if min(ys.sum(), len(ys) - ys.sum()) < 3:  # calibration's 3 folds need 3 of each
        return None
    kind = rm.choose(model, x, items, rows, ys, cfg.folds, cfg.seed)[0] if model == "auto" else model
    return rm.fit_model(kind, x, items, rows, ys, cfg.seed)


def clusters(store: Store, ids: list[str], seed: int = 0) -> np.ndarray:
    """k-means cluster of each candidate's MiniLM embedding (its text)."""
    from sklearn.cluster import KMeans

    from nearmiss.lm.models import load_embedder

    with store.session() as s:
        text = {cid: t for cid, t in s.execute(select(Candidate.id, Candidate.text).where(Candidate.id.in_(ids)))}
    emb = load_embedder().encode([text[c] for c in ids], batch_size=64, normalize_embeddings=True)
    return KMeans(n_clusters=CLUSTERS, n_init=4, random_state=seed).fit_predict(emb)


def simulate(x: np.ndarray, old_x: np.ndarray, items: np.ndarray, y: np.ndarray, nearness: np.ndarray,
             cluster: np.ndarray, pool: np.ndarray, test: np.ndarray, order: str, seed: int, model: str,
             cfg: RankerConfig) -> dict[int, dict[str, object]]:
    """Label the pool in ``order``; at each checkpoint both rankers' held-out AUC and the new
    one's held-out p_near."""
    rng = np.random.default_rng(seed)
    left = list(rng.permutation(pool))
    labeled: list[int] = []
    score = nearness.copy()  # what the uncertain orders rank by: nearness, then p_near
    per_cluster = np.zeros(CLUSTERS, dtype=int)
    out: dict[int, dict[str, object]] = {}
    while len(labeled) < max(CHECKPOINTS):
        if order in ("uncertain", "mix"):
            n_near = int(y[labeled].sum())
            if not needed_labels(n_near, len(labeled) - n_near, cfg) and len(labeled) % cfg.refit_every == 0:
                fitted = _fit(x, items, y, labeled, model, cfg)
                if fitted is not None:
                    score = fitted.p_near(x, items)
        if order == "random":
            pick = 0
        elif order == "uncertain":
            pick = min(range(len(left)), key=lambda k: abs(score[left[k]] - 0.5))
        else:
            fewest = min(per_cluster[cluster[c]] for c in left)
            open_ = [k for k in range(len(left)) if per_cluster[cluster[left[k]]] == fewest]
            pick = open_[0] if order == "diverse" else min(open_, key=lambda k: abs(score[left[k]] - 0.5))
        labeled.append(left.pop(pick))
        per_cluster[cluster[labeled[-1]]] += 1
        if len(labeled) in CHECKPOINTS:
            new = _fit(x, items, y, labeled, model, cfg)
            old = _fit(old_x, items, y, labeled, "logistic", cfg)
            p_new = new.p_near(x, items)[test] if new else None
            out[len(labeled)] = {"new": rm.auc(y[test], p_new) if new else float("nan"),
                                 "old": rm.auc(y[test], old.p_near(old_x, items)[test]) if old else float("nan"),
                                 "p": p_new}
    return out


def suggestions(y: np.ndarray, p: np.ndarray, threshold: float) -> tuple[float, float]:
    """(share of cards with a suggestion at ``threshold``, share of those the oracle agrees with)."""
    confident = np.maximum(p, 1 - p) >= threshold
    agree = float(np.mean((p[confident] >= 0.5) == y[confident])) if confident.any() else float("nan")
    return float(confident.mean()), agree


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
    ap.add_argument("--model", choices=tuple(rm.CHOICES), default="logistic", help="The new ranker's model.")
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
    old_x = x[:, [rf.FEATURES.index(f) for f in rf.BASE_FEATURES if f != "length"]]
    cluster = clusters(store, [snap.ids[i] for i in keep])
    cfg = RankerConfig()
    results: dict[tuple[str, str], dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    halves, at_08, blend = [], [], []
    with threadpool_limits(limits=1):
        for seed in tqdm(range(args.seeds), desc="seeds"):
            rng = np.random.default_rng(1000 + seed)
            names = np.unique(items)
            held = set(rng.choice(names, size=int(0.3 * len(names)), replace=False))
            test = np.array([k for k in range(len(y)) if items[k] in held])
            pool = np.array([k for k in range(len(y)) if items[k] not in held])
            blend.append(rm.auc(y[test], nearness[test]))
            for order in ORDERS:
                sim = simulate(x, old_x, items, y, nearness, cluster, pool, test, order, seed, args.model, cfg)
                for n, got in sim.items():
                    for r in RANKERS:
                        results[(r, order)][n].append(float(got[r]))  # type: ignore[arg-type]
                p = sim[200]["p"]
                if order == "random" and p is not None:
                    half = float(np.median(np.maximum(p, 1 - p)))  # type: ignore[arg-type]
                    halves.append((half, *suggestions(y[test], p, half)))  # type: ignore[arg-type]
                    at_08.append(suggestions(y[test], p, 0.8))  # type: ignore[arg-type]
    b = interval(blend)
    print(f"\nfixed blend (nearness) held-out AUC: {b[0]:.3f} [{b[1]:.3f}, {b[2]:.3f}]")
    cell = "{:.3f} [{:.3f}, {:.3f}]"
    print("| labels | ranker | " + " | ".join(ORDERS) + " | " + " | ".join(f"{o} - random" for o in ORDERS[1:]) + " |")
    rows = []
    for n in CHECKPOINTS:
        for r in RANKERS:
            means = [interval(results[(r, o)][n]) for o in ORDERS]
            diffs = [interval([a - c for a, c in zip(results[(r, o)][n], results[(r, "random")][n])]) for o in ORDERS[1:]]
            print(f"| {n} | {r} | " + " | ".join(cell.format(*m) for m in means + diffs) + " |")
            if r == "new":
                rows.append((n, *means))
        d = interval([a - c for a, c in zip(results[("new", "random")][n], results[("old", "random")][n])])
        print(f"| {n} | new - old (random order) | " + cell.format(*d) + " |")
    cov = interval([h[1] for h in halves])
    agr = interval([h[2] for h in halves])
    thr = interval([h[0] for h in halves])
    c8, a8 = interval([c for c, _ in at_08]), interval([a for _, a in at_08])
    print(f"suggestions at 200 labels (new ranker, random order): threshold {thr[0]:.3f} covers "
          f"{cell.format(*cov)} of held-out cards, agreement {cell.format(*agr)}; at 0.8: coverage "
          f"{cell.format(*c8)}, agreement {cell.format(*a8)}")
    plot(rows, b, args.out, f"oracle {args.oracle}, {args.seeds} seeds, new ranker ({args.model})")
    auc200 = interval(results[("new", "random")][200])[0]
    old200 = interval(results[("old", "random")][200])[0]
    print(f"oracle={args.oracle} items={len(set(items))} seeds={args.seeds} model={args.model} auc_200={auc200:.3f} "
          f"auc_200_old={old200:.3f} blend={b[0]:.3f} threshold={thr[0]:.3f} coverage={cov[0]:.3f} "
          f"agreement={agr[0]:.3f} coverage_0.8={c8[0]:.3f} agreement_0.8={a8[0]:.3f}")


def plot(rows, blend, out: Path, title: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 4))
    ns = [r[0] for r in rows]
    for k, (name, colour) in enumerate(zip(ORDERS, ("tab:blue", "tab:orange", "tab:green", "tab:red")), start=1):
        mean = [r[k][0] for r in rows]
        ax.plot(ns, mean, marker="o", color=colour, label=f"{name} order")
        ax.fill_between(ns, [r[k][1] for r in rows], [r[k][2] for r in rows], color=colour, alpha=0.15)
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
