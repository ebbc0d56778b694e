"""Item-relative features and the models that use them: the features do not depend on the
order of an item's candidates, and labels that follow an item-relative rule (the candidate
the LM prefers among its item's, items differing in difficulty) are learned by the new
ranker (AUC > 0.9) but not by a per-candidate model on per-candidate features."""
import numpy as np
import pytest

from nearmiss.label import ranker_model as rm
from nearmiss.label.ranker_features import BASE_FEATURES, FEATURES, feature_row, with_item_features


def _items(n_items: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(base features, item of each row, label): 2-5 candidates an item; lp_char is the item's
    difficulty plus the candidate's own part; the near-miss is the item's highest lp_char."""
    rng = np.random.default_rng(seed)
    rows, items, y = [], [], []
    for n in range(n_items):
        k = int(rng.integers(2, 6))
        lp = rng.normal(0, 2.0) + rng.normal(0, 0.4, k)
        for j in range(k):
            scores = {"lp_char": lp[j], "lp_sum": lp[j] * 8 + rng.normal(0, 1), "sim_gold": rng.uniform(0, 1),
                      "margin_char": lp[j] - rng.normal(0, 2.0)}
            rows.append(feature_row(scores, "distractor", False, int(rng.integers(5, 40)), 20))
            items.append(f"item{n}")
            y.append(int(lp[j] == lp.max()))
    return np.array(rows), np.array(items, dtype=object), np.array(y)


def test_item_features_ignore_the_order_of_candidates():
    base, items, _ = _items(40, seed=0)
    base[::7, 2] = np.nan  # a score some candidates lack
    x = with_item_features(base, items)
    assert x.shape == (len(base), len(FEATURES))
    order = np.random.default_rng(1).permutation(len(base))
    shuffled = with_item_features(base[order], items[order])
    np.testing.assert_allclose(shuffled, x[order], rtol=1e-12)  # sums over an item: rounding only
    col = {name: x[:, i] for i, name in enumerate(FEATURES)}
    first = items == items[0]
    assert np.nanmin(col["lp_char_rank"][first]) == 0 and np.nanmax(col["lp_char_rank"][first]) == 1
    assert (col["lp_char_gap"][first] > 0).sum() == 1  # only the leader is ahead of every other
    assert col["lp_char_share"][first].sum() == pytest.approx(1.0)
    assert (col["item_candidates"][first] == first.sum()).all()
    np.testing.assert_array_equal(x[:, : len(BASE_FEATURES)], base)


def test_item_relative_rule_is_learned_where_the_per_candidate_model_fails():
    base, items, y = _items(100, seed=2)
    x = with_item_features(base, items)
    rows = np.arange(len(y))
    old = rm.out_of_fold("logistic", base, items, rows, y, 5, 0)  # the old ranker: per-candidate features
    assert rm.auc(y, old) < 0.8
    for kind in ("logistic", "item_softmax"):
        oof = rm.out_of_fold(kind, x, items, rows, y, 5, 0)
        assert rm.auc(y, oof) > 0.9, kind
        # calibrated: the predicted near-miss share matches the observed one
        assert abs(oof.mean() - y.mean()) < 0.05, kind
