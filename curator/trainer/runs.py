"""Training runs in the store: creating them, updating their progress, and reading their
curve points and gain table back (no model needed: the CLI, the page and the runner share it)."""
from __future__ import annotations

from sqlalchemy import select

from curator.errors import NotFoundError
from curator.store import Store
from curator.store.tables import CurvePoint, Run
from curator.trainer.config import TrainConfig

RUN_KIND = "train"


def create_run(store: Store, cfg: TrainConfig) -> int:
    """A pending training Run holding the config; returns its id."""
    with store.session() as s:
        run = Run(kind=RUN_KIND, config=cfg.as_dict(), config_hash=cfg.config_hash(), status="pending",
                  progress=0.0, message="waiting to start", metrics={})
        s.add(run)
        s.flush()
        return run.id


def update_run(store: Store, run_id: int, **values) -> None:
    """Set fields of a run (status, progress, message, metrics, ...) in its own transaction."""
    with store.session() as s:
        run = s.get(Run, run_id)
        for k, v in values.items():
            setattr(run, k, v)


def load_points(store: Store, run_id: int) -> list[dict]:
    """The run's curve points as plain dicts, ordered by method, negatives and size."""
    with store.session() as s:
        rows = s.scalars(select(CurvePoint).where(CurvePoint.run_id == run_id)
                         .order_by(CurvePoint.method, CurvePoint.negatives, CurvePoint.size)).all()
        return [{"method": p.method, "negatives": p.negatives, "size": p.size, "acc": p.acc,
                 "acc_norm": p.acc_norm, **{k: p.meta.get(k) for k in ("gold_mean", "wrong_mean")}} for p in rows]


GAIN_DEFINITION = ("gain per example = the best (accuracy at n − zero-shot accuracy) / n over the sizes "
                   "n ≤ low_data_max; negative when no size beats zero-shot")


def gain_per_example(sizes: list[int], accs: list[float], low_data_max: int) -> float | None:
    """The best accuracy gain over the zero-shot point (size 0) per training example, among
    sizes in ``1..low_data_max`` (the low-data part of the curve); None without size 0 or
    without such a size. Measured from zero-shot, not between consecutive sizes, so climbing
    back out of a dip the method itself caused counts for nothing."""
    acc_of = dict(zip(sizes, accs))
    if 0 not in acc_of:
        return None
    gains = [(acc_of[n] - acc_of[0]) / n for n in sizes if 0 < n <= low_data_max]
    return max(gains, default=None)


def gain_table(points: list[dict], low_data_max: int) -> list[dict]:
    """Per (method, negatives): zero-shot and last accuracy, the gain per example in the
    low-data part (:func:`gain_per_example`), and the drop of the gold and wrong choices'
    mean score from untrained (size 0) to the largest size."""
    curves: dict[tuple[str, str], list[dict]] = {}
    for p in points:
        curves.setdefault((p["method"], p["negatives"]), []).append(p)
    rows = []
    for (method, neg), ps in sorted(curves.items()):
        ps = sorted(ps, key=lambda p: p["size"])
        first, last = ps[0], ps[-1]
        drop = first["size"] == 0 and last["size"] > 0
        sizes = [p["size"] for p in ps]
        rows.append({"method": method, "negatives": neg, "sizes": sizes,
                     "acc_zero": first["acc"], "acc_last": last["acc"], "acc_norm_last": last["acc_norm"],
                     "gain_per_example": gain_per_example(sizes, [p["acc"] for p in ps], low_data_max),
                     "gain_per_example_norm": gain_per_example(sizes, [p["acc_norm"] for p in ps], low_data_max),
                     "wrong_drop": first["wrong_mean"] - last["wrong_mean"] if drop else None,
                     "gold_drop": first["gold_mean"] - last["gold_mean"] if drop else None})
    return rows


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
    """The newest training runs: id, status, progress, message, start time and a config digest."""
    with store.session() as s:
        runs = s.scalars(select(Run).where(Run.kind == RUN_KIND).order_by(Run.id.desc()).limit(limit)).all()
        return [{"id": r.id, "status": r.status, "progress": r.progress, "message": r.message,
                 "started_at": r.started_at, "dataset": r.config.get("dataset"),
                 "methods": ",".join(r.config.get("methods", [])), "negatives": ",".join(r.config.get("negatives", [])),
                 "sizes": ",".join(map(str, r.config.get("sizes", [])))} for r in runs]
