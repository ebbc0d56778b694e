"""Learning curves: each method trained on the first n pairs of each negative set, evaluated
after each size, stored as a Run with its CurvePoints; adapters saved under the run's folder.

Size 0 is the base model's zero-shot accuracy (the same for every method). Its point's
``gold_mean`` / ``wrong_mean`` are the method's own score with untrained adapters (LoRA
starts at B = 0, so an untrained head is the base model): the "before" of the drop in the
wrong choices' score.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path

from tqdm import tqdm

from curator.store import Store
from curator.store.tables import CurvePoint, utcnow
from curator.trainer.config import TrainConfig
from curator.trainer.data import Pair, load_splits, negative_set
from curator.trainer.evaluate import Evaluator, metrics
from curator.trainer.heads import Heads
from curator.trainer.methods import METHODS
from curator.trainer.runs import create_run, gain_table, load_points, update_run

log = logging.getLogger(__name__)


class _Trainer:
    """Trains each head once per run (heads shared between methods) and saves it."""

    def __init__(self, heads: Heads, run_dir: Path):
        self.heads, self.run_dir = heads, run_dir
        self.done: dict[str, dict] = {}  # adapter name -> {path, losses, seconds}

    def ensure(self, spec, desc: str) -> str:
        name = spec.key
        if name not in self.done:
            t = time.perf_counter()
            losses = spec.train(self.heads, name, spec.examples, desc)
            path = self.heads.save(name, self.run_dir)
            self.done[name] = {"path": str(path), "losses": losses, "seconds": time.perf_counter() - t}
        return name

    def describe(self, name: str) -> dict:
        """What a curve point records of a head: where it is saved and how its training went."""
        done = self.done[name]
        return {"adapter": name, "path": done["path"], "steps": len(done["losses"]), "loss_first": done["losses"][0],
                "loss_last": done["losses"][-1], "train_seconds": round(done["seconds"], 1)}


def run_curves(store: Store, cfg: TrainConfig, run_id: int | None = None,
               on_point: Callable[[CurvePoint], None] | None = None) -> int:
    """Run the whole learning curve; progress and points are written to the store as they come.
    Returns the run id. On error the run is marked failed and the error re-raised."""
    run_id = run_id if run_id is not None else create_run(store, cfg)
    update_run(store, run_id, status="running", message="loading data and model")
    try:
        _run(store, cfg, run_id, on_point)
    except BaseException as e:
        update_run(store, run_id, status="failed", message=f"{type(e).__name__}: {e}", finished_at=utcnow())
        raise
    return run_id


def _run(store: Store, cfg: TrainConfig, run_id: int, on_point) -> None:
    with store.session() as s:
        train_items, eval_items = load_splits(s, cfg.dataset, cfg.train_split, cfg.eval_split, cfg.eval_limit,
                                              cfg.seed)
        sets: dict[str, list[Pair]] = {n: negative_set(n, s, train_items, cfg.seed) for n in cfg.negatives}
    skipped = {n: [z for z in cfg.sizes if z > len(p)] for n, p in sets.items()}
    for n, sizes in skipped.items():
        if sizes:
            log.warning("negative set %s has %d pairs: sizes %s skipped", n, len(sets[n]), sizes)
    heads = Heads(cfg)
    ev = Evaluator(heads, eval_items)
    trainer = _Trainer(heads, Path(cfg.out_dir) / f"run-{run_id}")
    methods = [METHODS[m](cfg) for m in cfg.methods]
    jobs = [(z, n, m) for z in cfg.sizes for n in cfg.negatives if z not in skipped[n] for m in methods]
    zero = metrics(ev.scores(None), ev.golds)
    bar = tqdm(jobs, desc="learning curve", unit="point")
    for i, (size, neg, method) in enumerate(bar):
        bar.set_postfix_str(f"n={size} {neg} {method.name}")
        t = time.perf_counter()
        specs = method.heads(sets[neg][:max(size, 1)])
        if size == 0:
            untrained = metrics(method.score(ev, {role: None for role in specs}), ev.golds)
            acc, acc_norm, meta = zero.acc, zero.acc_norm, {"gold_mean": untrained.gold_mean,
                                                            "wrong_mean": untrained.wrong_mean}
        else:
            adapters = {role: trainer.ensure(spec, f"{method.name} {role} n={size} {neg}")
                        for role, spec in specs.items()}
            m = metrics(method.score(ev, adapters), ev.golds)
            acc, acc_norm = m.acc, m.acc_norm
            meta = {"gold_mean": m.gold_mean, "wrong_mean": m.wrong_mean,
                    "heads": {role: trainer.describe(a) for role, a in adapters.items()}}
        meta |= {"n_eval": len(eval_items), "seconds": round(time.perf_counter() - t, 1)}
        point = CurvePoint(run_id=run_id, method=method.name, negatives=neg, size=size, acc=acc, acc_norm=acc_norm,
                           meta=meta)
        with store.session() as s:
            s.add(point)
        if on_point:
            on_point(point)
        update_run(store, run_id, progress=(i + 1) / len(jobs),
                message=f"n={size} {neg} {method.name}: acc {acc:.3f} acc_norm {acc_norm:.3f}")
        last_of_size = i + 1 == len(jobs) or jobs[i + 1][0] != size
        if last_of_size:  # adapters are saved; free them before the next size
            for name in heads.names:
                ev.forget(name)
                heads.delete(name)
    summary = gain_table(load_points(store, run_id), cfg.low_data_max)
    update_run(store, run_id, status="done", progress=1.0, finished_at=utcnow(),
            message=f"{len(jobs)} points", metrics={"skipped_sizes": skipped, "summary": summary,
                                                    "n_train": {n: len(p) for n, p in sets.items()},
                                                    "n_eval": len(eval_items)})
