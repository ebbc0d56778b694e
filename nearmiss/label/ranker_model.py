"""The learned ranker's maths, no store: the model registry, model choice by held-out log
loss, and the cross-validated comparison with the fixed blend (features:
``ranker_features``).

Target: 1 for a final label of ``near_miss``, 0 for ``far_miss``. A model sees every
candidate of the scope (``x``, ``items``: the item of each row) and learns from the labeled
rows; so a model that scores an item's candidates together can normalise over all of them.
Per-candidate models (``logistic``, ``boosting``) are wrapped in sigmoid (Platt) calibration
fitted by internal 3-fold cross-validation. ``item_softmax`` learns a linear score from the
pairs of one item's candidates labeled differently (pairwise logistic regression) and turns
it into each candidate's log-softmax over its item's candidates; a Platt step on (log-softmax,
score), cross-fitted over items, makes it a probability. ``auto`` (the default) picks among
them by out-of-fold log loss on the labels so far. Folds keep an item's candidates together.
scikit-learn and SciPy are imported where they are used: every CLI command imports the
registry, and they cost ~150 MB and 1.5 s.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from nearmiss.label.ranker_features import FEATURES
from nearmiss.registry import Registry

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin


class Fitted(Protocol):
    def p_near(self, x: np.ndarray, items: np.ndarray) -> np.ndarray:
        """P(near_miss) of every row (``items``: each row's item; a model may normalise within one)."""


@dataclass(frozen=True)
class PerCandidate:
    """A calibrated scikit-learn classifier that scores each candidate on its own."""

    model: ClassifierMixin

    def p_near(self, x: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.model.predict_proba(x)[:, list(self.model.classes_).index(1)]


def _preprocess() -> Any:
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                         StandardScaler())


def _logistic(seed: int) -> ClassifierMixin:
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    return make_pipeline(_preprocess(), LogisticRegression(C=1.0, max_iter=2000))


def _boosting(seed: int) -> ClassifierMixin:
    from sklearn.ensemble import HistGradientBoostingClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import make_pipeline

    # imputed, with missing-value indicators: its own NaN handling fails on a column no candidate has
    return make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                         HistGradientBoostingClassifier(max_iter=100, max_depth=3, learning_rate=0.1, min_samples_leaf=5,
                                                        random_state=seed))  # leaves of 5: labels come by the dozen


def _per_candidate(build: Callable[[int], ClassifierMixin]) -> Callable[..., Fitted]:
    def fit(x: np.ndarray, items: np.ndarray, rows: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
        from sklearn.calibration import CalibratedClassifierCV

        return PerCandidate(CalibratedClassifierCV(build(seed), method="sigmoid", cv=3).fit(x[rows], y))
    return fit


MAX_PAIRS = 20000  # pairs one item_softmax fit learns from at most (sampled with the seed)


@dataclass(frozen=True)
class ItemSoftmax:
    """A linear score per candidate, read as its log-softmax over its item, then calibrated."""

    prep: Any
    weights: np.ndarray
    calibration: Any

    def _inputs(self, x: np.ndarray, items: np.ndarray) -> np.ndarray:
        return _softmax_inputs(self.prep.transform(x) @ self.weights, items)

    def p_near(self, x: np.ndarray, items: np.ndarray) -> np.ndarray:
        return self.calibration.predict_proba(self._inputs(x, items))[:, 1]


def _softmax_inputs(score: np.ndarray, items: np.ndarray) -> np.ndarray:
    """(log-softmax over the item, raw score) per row."""
    import pandas as pd

    s = pd.Series(score)
    top = s.groupby(items).transform("max")
    log_norm = np.log(np.exp(s - top).groupby(items).transform("sum")) + top
    return np.column_stack([score - log_norm.to_numpy(), score])


def _pair_weights(z: np.ndarray, items: np.ndarray, rows: np.ndarray, y: np.ndarray, seed: int) -> np.ndarray:
    """Weights of a linear score fitted so that, within an item, a near-miss outscores a far-miss."""
    from sklearn.linear_model import LogisticRegression

    by_item: dict[Any, tuple[list[int], list[int]]] = {}
    for r, label in zip(rows, y):
        by_item.setdefault(items[r], ([], []))[int(label == 0)].append(int(r))
    pairs = [(i, j) for near, far in by_item.values() for i in near for j in far]
    if not pairs:
        return np.zeros(z.shape[1])
    rng = np.random.default_rng(seed)
    if len(pairs) > MAX_PAIRS:
        pairs = [pairs[k] for k in rng.choice(len(pairs), MAX_PAIRS, replace=False)]
    a, b = np.array(pairs).T
    diff = z[a] - z[b]
    model = LogisticRegression(C=1.0, fit_intercept=False, max_iter=2000)
    model.fit(np.vstack([diff, -diff]), np.r_[np.ones(len(diff)), np.zeros(len(diff))])
    return model.coef_[0]


def _item_softmax(x: np.ndarray, items: np.ndarray, rows: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
    from sklearn.linear_model import LogisticRegression

    prep = _preprocess().fit(x[rows])
    z = prep.transform(x)
    held = np.empty((len(rows), 2))
    for train, test in _splits(y, items[rows], 3, seed):
        w = _pair_weights(z, items, rows[train], y[train], seed)
        held[test] = _softmax_inputs(z @ w, items)[rows[test]]
    calibration = LogisticRegression(C=1.0, max_iter=2000).fit(held, y)
    return ItemSoftmax(prep, _pair_weights(z, items, rows, y, seed), calibration)


Fit = Callable[[np.ndarray, np.ndarray, np.ndarray, np.ndarray, int], Fitted]
MODELS: Registry[Fit] = Registry("model", {"logistic": _per_candidate(_logistic),
                                           "boosting": _per_candidate(_boosting),
                                           "item_softmax": _item_softmax})
CHOICES: Registry[str] = Registry.of_names("model", ("auto", *MODELS))  # auto: lowest out-of-fold log loss


def _splits(y: np.ndarray, groups: np.ndarray, folds: int, seed: int) -> list[tuple[np.ndarray, np.ndarray]]:
    """Stratified folds that keep an item's labeled candidates together (plain stratified
    folds when there are fewer items than folds)."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    if len(np.unique(groups)) < folds:
        return list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(y, y))
    return list(StratifiedGroupKFold(n_splits=folds, shuffle=True, random_state=seed).split(y, y, groups))


def fit_model(kind: str, x: np.ndarray, items: np.ndarray, rows: np.ndarray, y: np.ndarray, seed: int) -> Fitted:
    """The registered model ``kind`` fitted on the labeled ``rows`` (labels ``y``) of all candidates ``x``."""
    return MODELS[kind](x, items, rows, y, seed)


def out_of_fold(kind: str, x: np.ndarray, items: np.ndarray, rows: np.ndarray, y: np.ndarray, folds: int,
                seed: int) -> np.ndarray:
    """Each labeled row's p_near from a model that saw no label of its item."""
    oof = np.empty(len(y))
    for train, test in _splits(y, items[rows], folds, seed):
        oof[test] = fit_model(kind, x, items, rows[train], y[train], seed).p_near(x, items)[rows[test]]
    return oof


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood of the labels (probabilities clipped to [1e-6, 1 - 1e-6])."""
    p = np.clip(p, 1e-6, 1 - 1e-6)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def choose(kind: str, x: np.ndarray, items: np.ndarray, rows: np.ndarray, y: np.ndarray, folds: int,
           seed: int) -> tuple[str, dict[str, np.ndarray], dict[str, float]]:
    """(model, out-of-fold p_near per model tried, their out-of-fold log loss): ``kind``
    itself, or for ``auto`` the registered model of lowest log loss."""
    kinds = list(MODELS) if kind == "auto" else [kind]
    oof = {k: out_of_fold(k, x, items, rows, y, folds, seed) for k in kinds}
    losses = {k: round(log_loss(y, p), 4) for k, p in oof.items()}
    return min(kinds, key=lambda k: losses[k]), oof, losses


def auc(y: np.ndarray, score: np.ndarray) -> float:
    """ROC AUC as the Mann-Whitney statistic over average ranks (ties count half); equals
    ``sklearn.metrics.roc_auc_score`` at a fraction of its per-call cost (the bootstrap
    calls it thousands of times)."""
    from scipy.stats import rankdata

    ranks = rankdata(score)
    pos = int(y.sum())
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * (len(y) - pos)))


def _metrics(y: np.ndarray, score: np.ndarray, threshold: float) -> tuple[float, float]:
    return auc(y, score), float(np.mean((score >= threshold) == y))


@dataclass(frozen=True)
class Interval:
    value: float
    lo: float
    hi: float

    def as_dict(self) -> dict[str, float]:
        return {"value": round(float(self.value), 4), "lo": round(float(self.lo), 4), "hi": round(float(self.hi), 4)}


def compare(y: np.ndarray, learned: np.ndarray, blend: np.ndarray, seed: int, *, threshold: float = 0.5,
            blend_threshold: float = 0.5, resamples: int = 1000) -> dict[str, dict[str, float]]:
    """AUC and accuracy of the learned ranker's out-of-fold p_near and of the fixed blend's
    nearness on the same labels, with paired bootstrap 95% intervals (and of the AUC gain)."""
    rng = np.random.default_rng(seed)
    point = (*_metrics(y, learned, threshold), *_metrics(y, blend, blend_threshold))
    draws = []
    for _ in range(resamples):
        idx = rng.integers(0, len(y), len(y))
        if y[idx].min() == y[idx].max():
            continue
        draws.append((*_metrics(y[idx], learned[idx], threshold), *_metrics(y[idx], blend[idx], blend_threshold)))
    d = np.array(draws)
    names = ("learned_auc", "learned_accuracy", "blend_auc", "blend_accuracy")
    out = {n: Interval(point[i], *np.percentile(d[:, i], [2.5, 97.5])).as_dict() for i, n in enumerate(names)}
    gain = d[:, 0] - d[:, 2]
    out["auc_gain"] = Interval(point[0] - point[2], *np.percentile(gain, [2.5, 97.5])).as_dict()
    return out


def reliability(y: np.ndarray, prob: np.ndarray, bins: int = 10) -> list[dict[str, float]]:
    """Mean predicted vs observed near-miss share per quantile bin (a reliability diagram)."""
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(y, prob, n_bins=min(bins, max(2, len(y) // 10)), strategy="quantile")
    return [{"predicted": round(float(p), 4), "observed": round(float(o), 4)} for p, o in zip(predicted, observed)]


def importances(model: Fitted, x: np.ndarray, items: np.ndarray, rows: np.ndarray, y: np.ndarray, seed: int,
                repeats: int = 3) -> dict[str, float]:
    """Mean drop in AUC on the labeled rows when a feature is shuffled among them
    (permutation importance), for the features that vary, largest first."""
    rng = np.random.default_rng(seed)
    base = auc(y, model.p_near(x, items)[rows])
    drops = {}
    for i, name in enumerate(FEATURES):
        if np.unique(x[rows][~np.isnan(x[rows, i]), i]).size < 2:
            continue
        shuffled, total = x.copy(), 0.0
        for _ in range(repeats):
            shuffled[rows, i] = rng.permutation(x[rows, i])
            total += base - auc(y, model.p_near(shuffled, items)[rows])
        drops[name] = round(total / repeats, 4)
    return dict(sorted(drops.items(), key=lambda kv: -kv[1]))
