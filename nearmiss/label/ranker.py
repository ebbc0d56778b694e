"""The ranker: a calibrated near-miss probability (``p_near``) learned from final labels.

Training rows are the candidates of the scope (a dataset, or every dataset) whose final
label is ``near_miss`` (1) or ``far_miss`` (0). ``actually_correct`` and ``invalid`` are
left out: they are not negatives at all (export drops them), so they say nothing about
near vs far; the possibly-correct flag is a feature instead. Until ``min_labels`` such
labels exist, with ``min_per_class`` of each, the fixed blend (``nearness``) stays the
ranker and a fit says how many more labels it needs.

A fit computes everything outside any transaction (read snapshot, cross-validation, final
model), stores a ``rankers`` row (its id is the version) with its features, label count and
quality, then writes ``p_near``, ``suggested`` (near_miss from p_near 0.5) and ``ranker_id``
on every candidate of the scope in short transactions of ``batch_size`` rows. It never
writes a label.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, NamedTuple

import numpy as np
from sqlalchemy import Select, func, select, update
from threadpoolctl import threadpool_limits

from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.label import ranker_features as rf
from nearmiss.label import ranker_model as rm
from nearmiss.label.final_labels import load_final_labels
from nearmiss.mine.base import gold_text
from nearmiss.names import ALL_DATASETS
from nearmiss.registry import Registry
from nearmiss.settings import check_choices, setting
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Item, Label, Ranker

ALL = ALL_DATASETS  # scope of a ranker fitted across datasets
SCOPES = Registry.of_names("scope", ("dataset", "all"))
Progress = Callable[[float, str], None]


@dataclass(frozen=True)
class RankerConfig:
    model: str = setting("auto", "Classifier, calibrated: logistic or boosting (each candidate on its own), "
                                 "item_softmax (an item's candidates together), or auto: the one of lowest "
                                 "cross-validated log loss on the labels so far.", rm.CHOICES)
    scope: str = setting("dataset", "'dataset': one ranker per dataset; 'all': one ranker across every dataset.",
                         SCOPES)
    min_labels: int = setting(40, "Near/far final labels needed before the learned ranker replaces the fixed blend.")
    min_per_class: int = setting(10, "Of which at least this many near_miss and this many far_miss.")
    folds: int = setting(5, "Cross-validation folds for the quality estimate.")
    refit_every: int = setting(20, "Refit in the background after this many new labels.")
    seed: int = setting(0, "Seed of the folds, the model and the bootstrap (same labels + seed = same ranker).")
    batch_size: int = setting(500, "Candidates whose p_near one short write transaction updates.")

    def __post_init__(self) -> None:
        check_choices(self)
        if self.folds < 2:
            raise ConfigError(f"folds: must be at least 2, got {self.folds}")
        if self.min_per_class < self.folds:
            raise ConfigError(f"min_per_class: must be at least folds ({self.folds}), got {self.min_per_class}")
        if self.min_labels < 2 * self.min_per_class:
            raise ConfigError(f"min_labels: must be at least 2 x min_per_class ({2 * self.min_per_class}), "
                              f"got {self.min_labels}")
        for name in ("refit_every", "batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be at least 1, got {getattr(self, name)}")


@dataclass(frozen=True)
class FitResult:
    """What a fit did: ``kind`` learned (p_near written) or fixed (too few labels)."""

    ranker_id: int
    scope: str
    kind: str
    labels: int
    needed: int
    quality: dict[str, Any]
    message: str


def scope_of(dataset: str | None, cfg: RankerConfig) -> str:
    if cfg.scope == "all":
        return ALL
    if not dataset:
        raise ConfigError("dataset: a per-dataset ranker needs --dataset (or use scope 'all')")
    return dataset


def _in_scope(q: Select, scope: str) -> Select:
    q = q.join(Item, Item.id == Candidate.item_id)
    return q if scope == ALL else q.where(Item.dataset == scope)


def _label_mark(session, scope: str) -> int:
    """The newest label row id on a candidate of the scope (0: none)."""
    q = _in_scope(select(func.max(Label.id)).select_from(Label).join(Candidate, Candidate.id == Label.candidate_id),
                  scope)
    return session.scalar(q) or 0


class Snapshot(NamedTuple):
    """A scope's candidates (id order) with their items, features (item-relative ones
    included) and fixed-blend nearness (NaN: none), the near/far final labels, and the newest
    label row id seen."""

    ids: list[str]
    items: np.ndarray
    x: np.ndarray
    nearness: np.ndarray
    finals: dict[str, str]
    mark: int


def snapshot(store: Store, scope: str) -> Snapshot:
    """What a fit learns from, read in one transaction."""
    with store.session() as s:
        if scope != ALL and s.scalar(select(Item.id).where(Item.dataset == scope).limit(1)) is None:
            raise NotFoundError(f"no dataset named '{scope}'")
        mark = _label_mark(s, scope)
        q = _in_scope(select(Candidate.id, Candidate.scores, Candidate.origin, Candidate.possibly_correct,
                             Candidate.nearness, func.length(Candidate.text).label("length"), Item.kind,
                             Item.choices, Item.gold, Item.answer, Candidate.item_id), scope).order_by(Candidate.id)
        ids, items, rows, nearness = [], [], [], []
        for r in s.execute(q.execution_options(yield_per=2000)):
            gold = gold_text(r)
            ids.append(r.id)
            items.append(r.item_id)
            rows.append(rf.feature_row(r.scores or {}, r.origin, r.possibly_correct, r.length,
                                       len(gold) if gold else None))
            nearness.append(np.nan if r.nearness is None else r.nearness)
        labeled = _in_scope(select(Label.candidate_id).distinct().join(Candidate, Candidate.id == Label.candidate_id)
                            .where(Label.id <= mark), scope)
        labeled_ids = s.scalars(labeled).all()
        finals: dict[str, str] = {}
        for start in range(0, len(labeled_ids), 5000):
            for cid, fl in load_final_labels(s, labeled_ids[start:start + 5000]).items():
                if fl.label in ("near_miss", "far_miss"):
                    finals[cid] = fl.label
    base = np.array(rows, dtype=float).reshape(len(rows), len(rf.BASE_FEATURES))
    groups = np.array(items, dtype=object)
    return Snapshot(ids, groups, rf.with_item_features(base, groups), np.array(nearness, dtype=float), finals, mark)


def needed_labels(n_near: int, n_far: int, cfg: RankerConfig) -> int:
    """How many more near/far labels before the learned ranker can serve (0: enough)."""
    short = max(cfg.min_per_class - n_near, 0) + max(cfg.min_per_class - n_far, 0)
    return max(cfg.min_labels - n_near - n_far, short)


def _store_ranker(store: Store, **values: Any) -> int:
    with store.session() as s:
        row = Ranker(**values)
        s.add(row)
        s.flush()
        return row.id


def _write_p_near(store: Store, ranker_id: int, ids: list[str], probs: np.ndarray, batch: int,
                  progress: Progress) -> None:
    for start in range(0, len(ids), batch):
        rows = [{"id": cid, "p_near": round(float(p), 6), "suggested": "near_miss" if p >= 0.5 else "far_miss",
                 "ranker_id": ranker_id} for cid, p in zip(ids[start:start + batch], probs[start:start + batch])]
        with store.session() as s:
            s.execute(update(Candidate), rows)
        done = start + len(rows)
        progress(0.6 + 0.4 * done / len(ids), f"p_near written on {done} candidates")


def fit(store: Store, dataset: str | None, cfg: RankerConfig = RankerConfig(),
        progress: Progress = lambda fraction, text: None) -> FitResult:
    """Fit the scope's ranker on its final labels and write p_near on its candidates, or keep
    the fixed blend (and say how many labels are missing) when there are too few. One
    thread: the data are small, and OpenMP threads fighting a busy CPU (the app serving
    key presses, other jobs) made boosting fits several times slower here."""
    with threadpool_limits(limits=1):
        return _fit(store, dataset, cfg, progress)


def _fit(store: Store, dataset: str | None, cfg: RankerConfig, progress: Progress) -> FitResult:
    scope = scope_of(dataset, cfg)
    progress(0.0, "reading candidates and labels")
    ids, items, x, nearness, finals, mark = snapshot(store, scope)
    index = {cid: i for i, cid in enumerate(ids)}
    rows = np.array([index[cid] for cid in sorted(finals)], dtype=int)
    y = np.array([finals[cid] == "near_miss" for cid in sorted(finals)], dtype=int)
    n_near, n_far = int(y.sum()), int(len(y) - y.sum())
    needed = needed_labels(n_near, n_far, cfg)
    common = {"scope": scope, "config": asdict(cfg), "features": list(rf.FEATURES), "labels": len(y),
              "label_mark": mark}
    if needed:
        message = (f"fixed blend (nearness) still ranks {scope}: {n_near} near-miss + {n_far} far-miss labels so far; "
                   f"the learned ranker needs {needed} more (at least {cfg.min_labels}, {cfg.min_per_class} of each)")
        quality: dict[str, Any] = {"near": n_near, "far": n_far, "needed": needed}
        rid = _store_ranker(store, kind="fixed", quality=quality, **common)
        progress(1.0, message)
        return FitResult(rid, scope, "fixed", len(y), needed, quality, message)
    progress(0.1, f"cross-validating on {len(y)} labels")
    chosen, oofs, losses = rm.choose(cfg.model, x, items, rows, y, cfg.folds, cfg.seed)
    oof = oofs[chosen]
    blend = np.nan_to_num(nearness[rows], nan=0.5)
    quality = {"near": n_near, "far": n_far, "folds": cfg.folds, "model": chosen, "log_loss": losses,
               **rm.compare(y, oof, blend, cfg.seed),
               "reliability": {"learned": rm.reliability(y, oof), "blend": rm.reliability(y, blend)}}
    progress(0.4, f"fitting {chosen} on every label")
    model = rm.fit_model(chosen, x, items, rows, y, cfg.seed)
    quality["importance"] = rm.importances(model, x, items, rows, y, cfg.seed)
    probs = model.p_near(x, items)
    quality["suggestions"] = suggestion_grid(probs, y, oof)
    rid = _store_ranker(store, kind="learned", quality=quality, **common)
    _write_p_near(store, rid, ids, probs, cfg.batch_size, progress)
    q = quality
    message = (f"ranker v{rid} ({chosen}) learned from {len(y)} labels on {scope}: CV AUC {q['learned_auc']['value']:.3f} "
               f"vs fixed blend {q['blend_auc']['value']:.3f}; p_near written on {len(ids)} candidates")
    progress(1.0, message)
    return FitResult(rid, scope, "learned", len(y), 0, quality, message)


THRESHOLDS = tuple(round(0.5 + k / 100, 2) for k in range(51))  # confidence thresholds 0.50, 0.51, ..., 1.00
DEFAULT_THRESHOLD = 0.8  # the suggestion threshold read where the admin set none


def suggestion_grid(probs: np.ndarray, y: np.ndarray, oof: np.ndarray) -> dict[str, dict[str, Any]]:
    """Per confidence threshold t (``THRESHOLDS``): the share of the scope's candidates whose
    suggestion is that sure (max(p_near, 1 - p_near) >= t: ``coverage``), and of the labeled
    ones that sure out of fold, the share whose suggestion the final label agrees with
    (``agreement``, None where none; ``agreement_labels``: how many)."""
    sure_all, sure_oof = np.maximum(probs, 1 - probs), np.maximum(oof, 1 - oof)
    grid = {}
    for t in THRESHOLDS:
        sure = sure_oof >= t - 1e-9
        agree = float(np.mean((oof[sure] >= 0.5) == y[sure])) if sure.any() else None
        grid[f"{t:.2f}"] = {"coverage": round(float(np.mean(sure_all >= t - 1e-9)), 4),
                            "agreement": None if agree is None else round(agree, 4), "agreement_labels": int(sure.sum())}
    return grid


def suggestions_at(quality: dict[str, Any], threshold: float) -> dict[str, Any]:
    """A learned ranker's coverage and agreement at ``threshold`` (rounded down to the grid;
    None for rankers fitted before the grid was kept)."""
    if not 0.5 <= threshold <= 1:
        raise ConfigError(f"threshold: must be between 0.5 and 1, got {threshold}")
    key = f"{np.floor(threshold * 100 + 1e-9) / 100:.2f}"
    point = quality.get("suggestions", {}).get(key, {})
    return {"threshold": float(key), "coverage": point.get("coverage"), "agreement": point.get("agreement"),
            "agreement_labels": point.get("agreement_labels")}


def suggestion_history(store: Store, scope: str, threshold: float = DEFAULT_THRESHOLD) -> list[dict[str, Any]]:
    """Per learned ranker version of the scope, newest first: the share of cards that get a
    suggestion at the confidence ``threshold`` and how often the final labels agree with them."""
    with store.session() as s:
        rows = s.scalars(select(Ranker).where(Ranker.scope == scope, Ranker.kind == "learned")
                         .order_by(Ranker.id.desc())).all()
        return [{"version": r.id, "model": model_of(r), "labels": r.labels, **suggestions_at(r.quality, threshold)}
                for r in rows]


def _as_dict(r: Ranker) -> dict[str, Any]:
    return {"version": r.id, "scope": r.scope, "kind": r.kind, "model": model_of(r), "labels": r.labels,
            "label_mark": r.label_mark, "features": r.features, "quality": r.quality, "config": r.config,
            "created_at": r.created_at.isoformat()}


def model_of(r: Ranker) -> str | None:
    """The model a ranker serves with: the one ``auto`` chose, else the configured one."""
    return r.quality.get("model") or r.config.get("model")


def latest(store: Store, scope: str, kind: str | None = None) -> dict[str, Any] | None:
    """The newest ranker row of a scope (of one kind, if given) as a dict, or None."""
    with store.session() as s:
        q = select(Ranker).where(Ranker.scope == scope)
        if kind:
            q = q.where(Ranker.kind == kind)
        row = s.scalar(q.order_by(Ranker.id.desc()).limit(1))
        return None if row is None else _as_dict(row)


def config_of(ranker: dict[str, Any] | None) -> RankerConfig:
    """The config a stored ranker was fitted with (defaults for none)."""
    return RankerConfig(**ranker["config"]) if ranker else RankerConfig()


def ranker_config(store: Store, scope: str) -> RankerConfig:
    """The config the scope's ranker was last fitted with, so a refit keeps the user's choices."""
    return config_of(latest(store, scope))


def show(store: Store, dataset: str | None, scope: str = "dataset",
         threshold: float = DEFAULT_THRESHOLD) -> dict[str, Any]:
    """The ranker serving a scope: the newest learned one (or none: the fixed blend), the
    newest attempt (a fixed-blend attempt says how many labels are missing), and each learned
    version's suggestion coverage and agreement at the confidence ``threshold``."""
    key = ALL if scope == "all" else scope_of(dataset, RankerConfig())
    with store.session() as s:
        if key != ALL and s.scalar(select(Item.id).where(Item.dataset == key).limit(1)) is None:
            raise NotFoundError(f"no dataset named '{key}'")
    learned, last = latest(store, key, "learned"), latest(store, key)
    return {"scope": key, "serving": learned or {"kind": "fixed", "version": None}, "latest": last,
            "suggestions": suggestion_history(store, key, threshold)}


def serving_note(store: Store, candidate_id: str | None) -> str:
    """One line: which ranker ordered and suggested this candidate."""
    if candidate_id is None:
        return ""
    with store.session() as s:
        row = s.execute(select(Candidate.ranker_id, Candidate.p_near, Item.dataset)
                        .join(Item, Item.id == Candidate.item_id).where(Candidate.id == candidate_id)).first()
        if row is None:
            return ""
        if row.ranker_id is not None:
            r = s.get(Ranker, row.ranker_id)
            if r is None:  # rankers are never deleted; a stale id reads as no ranker
                return ""
            auc = r.quality.get("learned_auc", {}).get("value")
            return (f"Ranker v{r.id} ({model_of(r)}, {r.labels} labels, CV AUC {auc:.2f}) · "
                    f"p_near {row.p_near:.2f}")
        tried = s.scalar(select(Ranker).where(Ranker.scope.in_([row.dataset, ALL]), Ranker.kind == "fixed")
                         .order_by(Ranker.id.desc()).limit(1))
    more = f"; the learned ranker needs {tried.quality['needed']} more near/far labels" if tried else ""
    return f"Fixed blend (nearness){more}"


def quality_table(quality: dict[str, Any]) -> list[dict[str, Any]]:
    """Learned ranker vs fixed blend, one row per metric, with 95% intervals."""
    def cell(name: str) -> str:
        v = quality[name]
        return f"{v['value']:.3f} [{v['lo']:.3f}, {v['hi']:.3f}]"

    return [{"metric": metric, "learned": cell(f"learned_{key}"), "fixed blend": cell(f"blend_{key}")}
            for metric, key in (("ROC AUC", "auc"), ("accuracy", "accuracy"))]


def reliability_rows(quality: dict[str, Any]) -> list[dict[str, Any]]:
    """Reliability-diagram points of both rankers (mean predicted vs observed near-miss share)."""
    names = {"learned": "learned p_near", "blend": "fixed blend nearness"}
    return [{"ranker": names[k], **p} for k, points in quality["reliability"].items() for p in points]
