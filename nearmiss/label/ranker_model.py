"""The learned ranker's maths, no store: features from mining's scores, the model registry,
and the cross-validated comparison with the fixed blend.

Features are the scores mining stores (``SCORE_FEATURES``; a score a run did not compute is
missing, NaN), the candidate's length over the gold answer's, the possibly-correct flag and
one indicator per origin. Target: 1 for a final label of ``near_miss``, 0 for ``far_miss``.
Every model is wrapped in sigmoid (Platt) calibration fitted by internal 3-fold
cross-validation, so ``p_near`` reads as a probability. scikit-learn and SciPy are imported
where they are used: every CLI command imports the registry, and they cost ~150 MB and 1.5 s.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from nearmiss.registry import Registry
from nearmiss.store.schema import ORIGINS

if TYPE_CHECKING:
    from sklearn.base import ClassifierMixin

SCORE_FEATURES: tuple[str, ...] = ("sim_gold", "sim_question", "lp_sum", "lp_token", "lp_char",
                                   "margin_sum", "margin_token", "margin_char")
FEATURES: tuple[str, ...] = (*SCORE_FEATURES, "length_ratio", "possibly_correct", *(f"origin_{o}" for o in ORIGINS))


def feature_row(scores: dict[str, Any], origin: str, possibly_correct: bool, length: int,
                gold_length: int | None) -> list[float]:
    """One candidate's features in ``FEATURES`` order (NaN where a score is missing)."""
    values = [float(scores[k]) if isinstance(scores.get(k), (int, float)) else np.nan for k in SCORE_FEATURES]
    values.append(length / gold_length if gold_length else np.nan)
    values.append(float(bool(possibly_correct)))
    values.extend(float(origin == o) for o in ORIGINS)
    return values


def _logistic(seed: int) -> ClassifierMixin:
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(SimpleImputer(strategy="median", add_indicator=True, keep_empty_features=True),
                         StandardScaler(), LogisticRegression(C=1.0, max_iter=2000))


def _boosting(seed: int) -> ClassifierMixin:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=100, max_depth=3, learning_rate=0.1, min_samples_leaf=5,
                                          random_state=seed)  # leaves of 5: labels come by the dozen


MODELS: Registry[Callable[[int], ClassifierMixin]] = Registry("model", {"logistic": _logistic, "boosting": _boosting})


def make_model(kind: str, seed: int) -> ClassifierMixin:
    """A fresh calibrated classifier of the registered ``kind``."""
    from sklearn.calibration import CalibratedClassifierCV

    return CalibratedClassifierCV(MODELS[kind](seed), method="sigmoid", cv=3)


def fit_model(kind: str, x: np.ndarray, y: np.ndarray, seed: int) -> ClassifierMixin:
    """The calibrated model fitted on every labeled row."""
    return make_model(kind, seed).fit(x, y)


def p_near(model: ClassifierMixin, x: np.ndarray) -> np.ndarray:
    """P(near_miss) per row."""
    return model.predict_proba(x)[:, list(model.classes_).index(1)]


def out_of_fold(kind: str, x: np.ndarray, y: np.ndarray, folds: int, seed: int) -> np.ndarray:
    """Each labeled row's p_near from a model that did not see it (stratified k-fold)."""
    from sklearn.model_selection import StratifiedKFold

    oof = np.empty(len(y))
    splits = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y)
    for train, test in splits:
        oof[test] = p_near(fit_model(kind, x[train], y[train], seed), x[test])
    return oof


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


def importances(model: ClassifierMixin, x: np.ndarray, y: np.ndarray, seed: int, repeats: int = 3) -> dict[str, float]:
    """Mean drop in AUC when a feature is shuffled (permutation importance on the labeled
    rows), for the features that vary, largest first."""
    rng = np.random.default_rng(seed)
    base = auc(y, p_near(model, x))
    drops = {}
    for i, name in enumerate(FEATURES):
        if np.unique(x[~np.isnan(x[:, i]), i]).size < 2:
            continue
        shuffled, total = x.copy(), 0.0
        for _ in range(repeats):
            shuffled[:, i] = rng.permutation(x[:, i])
            total += base - auc(y, p_near(model, shuffled))
        drops[name] = round(total / repeats, 4)
    return dict(sorted(drops.items(), key=lambda kv: -kv[1]))
