"""Learning curves: for each seed, each method trained on the first n pairs of each negative
set, evaluated after each size, stored as a Run with its CurvePoints (one per seed); adapters
saved under the run's folder.

Size 0 is the base model's zero-shot accuracy (the same for every method). Its point's
``gold_mean`` / ``wrong_mean`` are the method's own score with untrained adapters (LoRA
starts at B = 0, so an untrained head is the base model): the "before" of the drop in the
wrong choices' score. Each point stores, per eval item, whether it was right, so the summary
can give intervals and paired comparisons (``nearmiss.train.stats``).
"""
from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from tqdm import tqdm

from nearmiss.jobs.progress import Reporter
from nearmiss.jobs.runs import claim, finish
from nearmiss.lm.prompts import continuation
from nearmiss.lm.speed import matmul_gflops
from nearmiss.store import Store
from nearmiss.store.tables import CurvePoint
from nearmiss.train.base import NLL, HeadSpec, Method
from nearmiss.train.config import TrainConfig
from nearmiss.train.data import TrainItem, load_splits
from nearmiss.train.decide import Decision, Sequential
from nearmiss.train.evaluate import Evaluator, Metrics, metrics
from nearmiss.train.heads import Heads
from nearmiss.train.methods import METHODS
from nearmiss.train.negatives import build_sets
from nearmiss.train.roof import FlopMeter
from nearmiss.train.runs import ACC_NORM_DEF, create_run, load_points, run_dir, summarise, update_run

log = logging.getLogger(__name__)


class _Trainer:
    """Trains each head once per seed (heads shared between methods and sets) and saves it."""

    def __init__(self, heads: Heads, run_dir: Path, progress: _Progress):
        self.heads, self.run_dir, self.progress = heads, run_dir, progress
        self.done: dict[str, dict] = {}  # adapter name -> {path, losses, seconds}

    @staticmethod
    def name(spec: HeadSpec, seed: int) -> str:
        return f"{spec.key}-s{seed}"

    def ensure(self, spec, seed: int, desc: str, which: str = "") -> str:
        """The head ``spec`` for ``seed``, trained (and saved) unless it was; ``which`` names it in the
        run's stage (e.g. ``neg (2 of 2)``: the second of its curve point's two heads)."""
        name = self.name(spec, seed)
        if name not in self.done:
            self.progress.stage(f"tokenising and training head {which or name}", unit="steps")
            t = time.perf_counter()
            losses = spec.train(self.heads, name, spec.examples, desc)
            path = self.heads.save(name, self.run_dir)
            self.done[name] = {"path": str(path), "losses": losses, "seconds": time.perf_counter() - t}
        return name

    def ensure_together(self, specs: Sequence[HeadSpec], seed: int, desc: str) -> None:
        """Train the maximum-likelihood heads among ``specs`` not trained yet in one grouped pass
        (``Heads.train_nll_group``) and save each; other objectives are left to :meth:`ensure`."""
        todo = {self.name(s, seed): s for s in specs if s.objective == NLL}
        todo = {name: s for name, s in todo.items() if name not in self.done}
        if not todo:
            return
        self.progress.stage("tokenising and training", unit="steps")  # the label says which heads
        t = time.perf_counter()
        losses = self.heads.train_nll_group({name: s.examples for name, s in todo.items()}, desc=desc)
        seconds = (time.perf_counter() - t) / len(todo)  # each head's share of the pass
        for name in todo:
            path = self.heads.save(name, self.run_dir)
            self.done[name] = {"path": str(path), "losses": losses[name], "seconds": seconds, "together": len(todo)}

    def describe(self, name: str) -> dict:
        """What a curve point records of a head: where it is saved and how its training went."""
        done = self.done[name]
        return {"adapter": name, "path": done["path"], "steps": len(done["losses"]), "loss_first": done["losses"][0],
                "loss_last": done["losses"][-1], "train_seconds": round(done["seconds"], 1),
                "trained_with": done.get("together", 1)}


class _Progress:
    """The run's job view in the store: its stage (loading, tokenising and training head X (k of K),
    scoring), the step counter of the head in training, and the share of curve points done."""

    def __init__(self, store: Store, run_id: int, total: int):
        self.report, self.total, self.done = Reporter(store, run_id), total, 0
        self.label = ""  # the curve point in work: seed, size, negative set, method

    def stage(self, text: str, total: int | None = None, unit: str = "items") -> None:
        self.report.stage(f"{self.label}: {text}" if self.label else text, total, unit)

    def step(self, i: int, steps: int) -> None:
        """Step ``i`` of ``steps`` of the head (or heads) the stage names."""
        self.report.count(i, steps)

    def point(self, text: str) -> None:
        self.done += 1
        self.report.progress(self.done / self.total, text)


def run_curves(store: Store, cfg: TrainConfig, run_id: int | None = None,
               on_point: Callable[[CurvePoint], None] | None = None,
               on_look: Callable[[list[Decision]], None] | None = None) -> int:
    """Run the whole learning curve; progress and points are written to the store as they come.
    A run that decides (``cfg.decide``) adds seeds until decided and calls ``on_look`` with the
    decisions after each seed from the second. Returns the run id. On error the run is marked
    failed and the error re-raised."""
    run_id = run_id if run_id is not None else create_run(store, cfg)
    claim(store, run_id, "starting")
    Reporter(store, run_id).stage(f"loading the model ({cfg.lm})")
    try:
        _run(store, cfg, run_id, on_point, on_look)
    except BaseException as e:
        finish(store, run_id, "failed", message=f"{type(e).__name__}: {e}")
        raise
    return run_id


class _ChoiceScorer:
    """The base model's summed log-likelihood of each item's own wrong choices, cached across
    seeds (for the hardest / easiest sets)."""

    def __init__(self, heads: Heads):
        self.heads = heads
        self.cache: dict[str, list[float]] = {}  # item id -> score of each own wrong choice

    def __call__(self, items: Sequence[TrainItem]) -> list[list[float]]:
        todo = [t for t in items if t.id not in self.cache]
        if todo:
            scored = self.heads.score(None, [t.prompt for t in todo],
                                      [[continuation(d) for d in t.distractors] for t in todo])
            self.cache |= {t.id: lp for t, lp in zip(todo, scored.logprob)}
        return [self.cache[t.id] for t in items]


def _score_together(ev: Evaluator, trainer: _Trainer, points: Sequence[tuple[Method, Sequence]], seed: int) -> None:
    """Score every head already trained for ``points`` (method, its pairs) in one batched pass per
    prompt marker (``Evaluator.prefetch``); the points then read their scores from the cache."""
    wanted: dict[str | None, list[str]] = {}
    on_model = set(trainer.heads.names)
    for method, pairs in points:
        names = [trainer.name(spec, seed) for spec in method.heads(pairs).values()]
        wanted.setdefault(method.marker, []).extend(n for n in names if n in on_model)
    for marker, names in wanted.items():
        ev.prefetch(names, marker)


def _point_meta(m: Metrics, seed: int, n_eval: int) -> dict:
    return {"seed": seed, "correct": m.correct, "correct_norm": m.correct_norm, "acc_norm_def": ACC_NORM_DEF,
            "gold_mean": m.gold_mean, "wrong_mean": m.wrong_mean, "n_eval": n_eval}


def _run(store: Store, cfg: TrainConfig, run_id: int, on_point, on_look) -> None:
    started = time.perf_counter()
    heads = Heads(cfg)
    meter = FlopMeter().attach(heads.base)
    choice_scorer = _ChoiceScorer(heads)
    methods = [METHODS[m](cfg) for m in cfg.methods]
    folder = run_dir(store, cfg, run_id)
    n_eval, n_train, skipped_all = 0, {}, {}
    notes: dict[int, list[str]] = {}  # seed -> how its negative sets were made
    stored = {(p["seed"], p["size"], p["negatives"], p["method"]) for p in load_points(store, run_id)}  # a resumed run
    progress = _Progress(store, run_id, len(cfg.seeds) * len(cfg.sizes) * len(cfg.negatives) * len(methods))
    progress.done = len(stored)
    heads.on_step = progress.step
    plan = Sequential(cfg)
    base_scores: dict = {}  # the base model's scores of the eval items (the same items for every seed)
    for seed in plan.seeds():
        if seed not in cfg.seeds:  # a seed added to decide
            progress.total += len(cfg.sizes) * len(cfg.negatives) * len(methods)
        heads.cfg = scfg = cfg.for_seed(seed)
        progress.label = f"seed {seed}"
        progress.stage("loading data")
        with store.session() as s:
            splits = load_splits(s, cfg.dataset, cfg.train_split, cfg.eval_split, cfg.eval_limit, seed,
                                 dev=(cfg.dev_fraction, cfg.dev_max) if cfg.auto_w else None)
            notes[seed] = []
            progress.stage("building the negative sets")
            sets = build_sets(cfg.negatives, s, splits.train, scfg, choice_scorer, cfg.dataset, cfg.train_split,
                              notes[seed])
        for note in notes[seed]:
            log.info("seed %d: %s", seed, note)
        skipped = {n: [z for z in cfg.sizes if z > len(p)] for n, p in sets.items()}
        for n, sizes in skipped.items():
            if sizes:
                log.warning("seed %d: negative set %s has %d pairs: sizes %s skipped", seed, n, len(sets[n]), sizes)
        ev = Evaluator(heads, splits.eval, splits.dev, base_scores)
        trainer = _Trainer(heads, folder / f"seed-{seed}", progress)
        n_eval, n_train[seed], skipped_all[seed] = len(splits.eval), {n: len(p) for n, p in sets.items()}, skipped
        progress.total -= sum(len(z) for z in skipped.values()) * len(methods)
        jobs = [(z, n, m) for z in cfg.sizes for n in cfg.negatives if z not in skipped[n] for m in methods
                if (seed, z, n, m.name) not in stored]
        zero = None
        if any(z == 0 for z, _, _ in jobs):
            progress.stage(f"scoring {len(splits.eval)} eval items with the base model")
            zero = metrics(ev.scores(None), ev.golds)
        for i, (size, neg, method) in enumerate(tqdm(jobs, desc=f"learning curve, seed {seed}", unit="point")):
            t = time.perf_counter()
            specs = method.heads(sets[neg][:max(size, 1)])
            progress.label = f"seed {seed} · n={size} {neg} {method.name}"
            if size and cfg.together(heads.device) and (i == 0 or jobs[i - 1][0] != size):  # a new size
                together = [spec for z, n, m in jobs if z == size for spec in m.heads(sets[n][:z]).values()]
                progress.label = f"seed {seed} · n={size}: {len({s.key for s in together})} heads together"
                trainer.ensure_together(together, seed, f"n={size} heads")
                _score_together(ev, trainer, [(m, sets[n][:z]) for z, n, m in jobs if z == size], seed)
                progress.label = f"seed {seed} · n={size} {neg} {method.name}"
            if size == 0 and zero is not None:
                untrained = {role: None for role in specs}
                m, settings = zero, {}
                progress.stage(f"scoring {n_eval} eval items")
                own = metrics(method.score(ev, untrained), ev.golds)
                meta = _point_meta(m, seed, n_eval) | {"gold_mean": own.gold_mean, "wrong_mean": own.wrong_mean}
            else:
                adapters = {role: trainer.ensure(spec, seed, f"{method.name} {role} n={size} {neg}",
                                                     f"{role} ({k} of {len(specs)})")
                            for k, (role, spec) in enumerate(specs.items(), 1)}
                progress.stage(f"scoring {n_eval} eval items")
                m, settings = metrics(method.score(ev, adapters), ev.golds), method.settings(ev, adapters)
                meta = _point_meta(m, seed, n_eval) | {"heads": {r: trainer.describe(a) for r, a in adapters.items()}}
            meta |= settings | {"seconds": round(time.perf_counter() - t, 1)}
            point = CurvePoint(run_id=run_id, method=method.name, negatives=neg, size=size, acc=m.acc,
                               acc_norm=m.acc_norm, meta=meta)
            with store.session() as s:
                s.add(point)
            if on_point:
                on_point(point)
            w = f" w={settings['w']:g}" if "w" in settings else ""
            progress.point(f"{progress.label}: acc {m.acc:.3f} acc_norm {m.acc_norm:.3f}{w}")
            if i + 1 == len(jobs) or jobs[i + 1][0] != size:  # adapters are saved; free them before the next size
                for name in heads.names:
                    ev.forget(name)
                    heads.delete(name)
        decisions = plan.look(load_points(store, run_id))
        if decisions is not None:
            update_run(store, run_id, metrics=plan.record())
            for d in decisions:
                log.info("after seed %d: %s", seed, d.line())
            if on_look:
                on_look(decisions)
    meter.detach()
    seconds = time.perf_counter() - started
    gflops = matmul_gflops(heads.base.dtype, heads.device) if heads.device == "cpu" else None
    flops = {k: round(v) for k, v in meter.flops.items()}
    roof = {"flops": flops, "matmul_gflops": gflops, "threads": torch.get_num_threads(),
            "dtype": str(heads.base.dtype).removeprefix("torch."),
            "seconds": round(seconds, 1),
            "roof_seconds": round(sum(flops.values()) / (gflops * 1e9), 1) if gflops else None}
    summary = summarise(load_points(store, run_id), cfg.low_data_max, cfg.bootstrap)
    finish(store, run_id, "done", progress=1.0,
           message=f"{len(summary['points'])} points over {len(plan.ran)} seed(s)"
                   + (f", stopped: {plan.stopped}" if plan.deciding else ""),
           metrics={"skipped_sizes": skipped_all, "gains": summary["gains"], "n_train": n_train,
                    "n_eval": n_eval, "roof": roof, "notes": notes} | (plan.record() if plan.deciding else {}))
