"""Training runs in the store: creating them, updating their progress, and reading their
curve points and gain table back (no model needed: the CLI, the page and the runner share it)."""
from __future__ import annotations

import hashlib
import os
from pathlib import Path
from typing import Any

import numpy as np
from sqlalchemy import select

from nearmiss.errors import NotFoundError
from nearmiss.jobs.owners import reap_dead_runs
from nearmiss.jobs.runs import create
from nearmiss.lm.models import cache_dir
from nearmiss.settings import default_of
from nearmiss.store import Store
from nearmiss.store.tables import CurvePoint, Run
from nearmiss.train.config import TrainConfig
from nearmiss.train.stats import Draws, Key, best_gain, comparisons, interval

ACC_NORM_DEF = "lm-eval"  # acc_norm divides by the choice text's characters (nearmiss.train.evaluate)

RUN_KIND = "train"


def run_dir(store: Store, cfg: TrainConfig, run_id: int) -> Path:
    """Where a run's adapters and log go: ``<out_dir>/run-<id>`` when configured, else under the
    data folder (``NEARMISS_DATA``, default the nearmiss cache), one folder per store, never in
    the app's source folder."""
    if cfg.out_dir:
        return Path(cfg.out_dir) / f"run-{run_id}"
    root = Path(os.environ["NEARMISS_DATA"]) if os.environ.get("NEARMISS_DATA") else cache_dir()
    store_key = hashlib.sha256(store.url.encode()).hexdigest()[:12]
    return root / "runs" / store_key / f"run-{run_id}"


def create_run(store: Store, cfg: TrainConfig) -> int:
    """A pending training Run holding the config; returns its id."""
    return create(store, RUN_KIND, config=cfg.as_dict(), config_hash=cfg.config_hash(), message="waiting to start",
                  metrics={})


def update_run(store: Store, run_id: int, **values) -> None:
    """Set fields of a run (status, progress, message, metrics, ...) in its own transaction."""
    with store.session() as s:
        run = s.get(Run, run_id)
        for k, v in values.items():
            setattr(run, k, v)


def load_points(store: Store, run_id: int) -> list[dict]:
    """The run's stored curve points, one per (method, negatives, size, seed), as plain dicts."""
    with store.session() as s:
        run = s.get(Run, run_id)
        default_seed = (run.config.get("seeds") or [run.config.get("seed", 0)])[0] if run else 0
        rows = s.scalars(select(CurvePoint).where(CurvePoint.run_id == run_id)
                         .order_by(CurvePoint.method, CurvePoint.negatives, CurvePoint.size, CurvePoint.id)).all()
        return [{"method": p.method, "negatives": p.negatives, "size": p.size, "acc": p.acc, "acc_norm": p.acc_norm,
                 "seed": p.meta.get("seed", default_seed), **{k: p.meta.get(k) for k in POINT_META}}
                for p in rows]


POINT_META = ("gold_mean", "wrong_mean", "correct", "correct_norm", "w", "acc_norm_def", "n_eval")

GAIN_DEFINITION = ("gain per example = the best (accuracy at n − zero-shot accuracy) / n over the sizes "
                   "n ≤ low_data_max; negative when no size beats zero-shot")


def _mean(xs: list[float | None]) -> float | None:
    known = [x for x in xs if x is not None]
    return sum(known) / len(known) if known else None


def summarise(raw: list[dict], low_data_max: int, bootstrap: int = 2000) -> dict:
    """Points averaged over seeds with 95% intervals, the gain table with intervals and the
    paired comparisons (``nearmiss.train.stats``). Points stored without per-item outcomes
    (runs from before seeds) get no intervals; points whose acc_norm used the old definition
    (characters of the continuation) are marked ``acc_norm_legacy``."""
    groups: dict[Key, list[dict]] = {}
    for p in raw:
        groups.setdefault((p["method"], p["negatives"], p["size"]), []).append(p)
    seeds = sorted({p["seed"] for p in raw})
    outcomes = all(p["correct"] and p["correct_norm"] for p in raw) and all(
        sorted(q["seed"] for q in ps) == seeds for ps in groups.values())
    n_items = len(raw[0]["correct"]) if raw and outcomes else 0
    draws = Draws.make(n_items, len(seeds), bootstrap) if outcomes and n_items else None
    reps: dict[str, dict[Key, np.ndarray]] = {"acc": {}, "acc_norm": {}}
    points: list[dict[str, Any]] = []
    for key, ps in sorted(groups.items()):
        ps = sorted(ps, key=lambda p: p["seed"])
        point = {"method": key[0], "negatives": key[1], "size": key[2],
                 "acc": _mean([p["acc"] for p in ps]), "acc_norm": _mean([p["acc_norm"] for p in ps]),
                 "per_seed": {p["seed"]: p["acc"] for p in ps},
                 "w": {p["seed"]: p["w"] for p in ps} if any(p["w"] is not None for p in ps) else None,
                 "gold_mean": _mean([p["gold_mean"] for p in ps]), "wrong_mean": _mean([p["wrong_mean"] for p in ps]),
                 "acc_norm_legacy": any(p["acc_norm_def"] != ACC_NORM_DEF for p in ps)}
        for metric, field in (("acc", "correct"), ("acc_norm", "correct_norm")):
            lo = hi = None
            if draws is not None:
                reps[metric][key] = draws.accuracy([p[field] for p in ps])
                lo, hi = interval(reps[metric][key])
            point |= {f"{metric}_lo": lo, f"{metric}_hi": hi}
        points.append(point)
    estimates = {(p["method"], p["negatives"], p["size"]): p["acc"] for p in points}
    return {"points": points, "gains": _gains(points, reps["acc"], low_data_max),
            "comparisons": [c.as_dict() for c in comparisons(estimates, reps["acc"], low_data_max)] if draws else [],
            "seeds": seeds, "n_eval": n_items or None}


def _gains(points: list[dict], reps: dict[Key, np.ndarray], low_data_max: int) -> list[dict]:
    """Per (method, negatives): zero-shot and last accuracy, the gain per example in the
    low-data part (:func:`best_gain`, from zero-shot, so climbing back out of a dip the method
    itself caused counts for nothing) with its interval, and the drop of the gold and wrong
    choices' mean score from untrained (size 0) to the largest size."""
    curves: dict[tuple[str, str], list[dict]] = {}
    for p in points:
        curves.setdefault((p["method"], p["negatives"]), []).append(p)
    rows = []
    for (method, neg), ps in sorted(curves.items()):
        ps = sorted(ps, key=lambda p: p["size"])
        first, last = ps[0], ps[-1]
        drop = first["size"] == 0 and last["size"] > 0
        gain_reps = best_gain({p["size"]: reps[(method, neg, p["size"])] for p in ps}, low_data_max) \
            if reps else None
        lo, hi = interval(gain_reps) if gain_reps is not None else (None, None)
        rows.append({"method": method, "negatives": neg, "sizes": [p["size"] for p in ps],
                     "acc_zero": first["acc"], "acc_last": last["acc"], "acc_norm_last": last["acc_norm"],
                     "gain_per_example": best_gain({p["size"]: p["acc"] for p in ps}, low_data_max),
                     "gain_lo": lo, "gain_hi": hi,
                     "gain_per_example_norm": best_gain({p["size"]: p["acc_norm"] for p in ps}, low_data_max),
                     "w_last": last["w"],
                     "wrong_drop": first["wrong_mean"] - last["wrong_mean"] if drop else None,
                     "gold_drop": first["gold_mean"] - last["gold_mean"] if drop else None})
    return rows


def curve_report(store: Store, run_id: int) -> dict:
    """A stored run's summary (:func:`summarise`) with its status."""
    run = run_summary(store, run_id)
    cfg = run["config"]
    report = summarise(load_points(store, run_id), cfg.get("low_data_max", default_of(TrainConfig, "low_data_max")),
                       cfg.get("bootstrap", default_of(TrainConfig, "bootstrap")))
    return {"run": run_id, "status": run["status"], "message": run["message"], **report}


def run_summary(store: Store, run_id: int) -> dict:
    """The Run row as a dict (config, status, progress, message, metrics)."""
    with store.session() as s:
        run = s.get(Run, run_id)
        if run is None or run.kind != RUN_KIND:
            raise NotFoundError(f"no training run {run_id}")
        return {"id": run.id, "status": run.status, "progress": run.progress, "message": run.message,
                "config": run.config, "metrics": run.metrics, "started_at": run.started_at,
                "finished_at": run.finished_at}


def list_runs(store: Store, limit: int = 50) -> list[dict]:
    """The newest training runs: id, status, progress, message, start time and a config digest
    (runs whose process died marked interrupted first)."""
    reap_dead_runs(store)
    with store.session() as s:
        runs = s.scalars(select(Run).where(Run.kind == RUN_KIND).order_by(Run.id.desc()).limit(limit)).all()
        return [{"id": r.id, "number": r.number, "status": r.status, "progress": r.progress, "message": r.message,
                 "started_at": r.started_at, "dataset": r.config.get("dataset"),
                 "methods": ",".join(r.config.get("methods", [])), "negatives": ",".join(r.config.get("negatives", [])),
                 "sizes": ",".join(map(str, r.config.get("sizes", []))),
                 "seeds": ",".join(map(str, r.config.get("seeds") or [r.config.get("seed", 0)]))} for r in runs]
