"""The ranker's features: each candidate's own scores, and where it stands among its item's
other candidates.

A near-miss is relative: on an item whose wrong choices are all far from the answer, the
least far one may still be the one an annotator calls near. So beside the scores mining
stores (``SCORE_FEATURES``; one a run did not compute is missing, NaN), the length over the
gold answer's, the possibly-correct flag and one indicator per origin (the pool it came
from), every candidate gets, within its item:

- ``<score>_rank``: its place by that score, 0 for the item's highest, 1 for its lowest
  (ties share the mean place; 0 when it is alone);
- ``<score>_gap``: its score minus the best of the item's other candidates (> 0: it leads);
- ``<score>_share``: for the LM log-likelihoods, the softmax of the score over the item's
  candidates (the chance the LM picks it among them);
- ``length_vs_others``: its length over the mean of the item's other candidates;
- ``item_candidates``: how many candidates the item has.

Margins to the gold answer are mining's own ``margin_*`` scores. The item-relative columns
depend on the set of an item's candidates, never on their order.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from nearmiss.store.schema import ORIGINS

SCORE_FEATURES: tuple[str, ...] = ("sim_gold", "sim_question", "lp_sum", "lp_token", "lp_char",
                                   "margin_sum", "margin_token", "margin_char")
BASE_FEATURES: tuple[str, ...] = (*SCORE_FEATURES, "length", "length_ratio", "possibly_correct",
                                  *(f"origin_{o}" for o in ORIGINS))
RELATIVE_SCORES: tuple[str, ...] = ("lp_sum", "lp_token", "lp_char", "sim_gold")
SHARED_SCORES: tuple[str, ...] = ("lp_sum", "lp_char")
RELATIVE_FEATURES: tuple[str, ...] = (*(f"{k}_{kind}" for k in RELATIVE_SCORES for kind in ("rank", "gap")),
                                      *(f"{k}_share" for k in SHARED_SCORES), "length_vs_others", "item_candidates")
FEATURES: tuple[str, ...] = (*BASE_FEATURES, *RELATIVE_FEATURES)


def feature_row(scores: dict[str, Any], origin: str, possibly_correct: bool, length: int,
                gold_length: int | None) -> list[float]:
    """One candidate's own features in ``BASE_FEATURES`` order (NaN where a score is missing)."""
    values = [float(scores[k]) if isinstance(scores.get(k), (int, float)) else np.nan for k in SCORE_FEATURES]
    values.extend((float(length), length / gold_length if gold_length else np.nan, float(bool(possibly_correct))))
    values.extend(float(origin == o) for o in ORIGINS)
    return values


def _relative(v: np.ndarray, items: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(rank in [0, 1], gap to the best other, softmax share) of ``v`` within each item;
    NaN where ``v`` is, and for the gap where no other candidate of the item has a value."""
    import pandas as pd

    s = pd.Series(v)
    by = s.groupby(items)
    count = by.transform("count").to_numpy()
    rank = (by.rank(ascending=False, method="average").to_numpy() - 1) / np.maximum(count - 1, 1)
    top = by.transform("max")
    is_top = s.eq(top)
    ties = is_top.groupby(items).transform("sum").to_numpy()
    second = s.where(~is_top).groupby(items).transform("max").to_numpy()
    best_other = np.where(is_top.to_numpy() & (ties == 1), second, top.to_numpy())
    weight = np.exp(s - top)
    share = (weight / weight.groupby(items).transform("sum")).to_numpy()
    return rank, v - best_other, share


def with_item_features(base: np.ndarray, items: np.ndarray) -> np.ndarray:
    """``base`` (rows in ``BASE_FEATURES`` order, any order of candidates) with the
    ``RELATIVE_FEATURES`` of each row within its item (``items``: one key per row) appended."""
    import pandas as pd

    col = {name: base[:, i] for i, name in enumerate(BASE_FEATURES)}
    out: dict[str, np.ndarray] = {}
    for k in RELATIVE_SCORES:
        rank, gap, share = _relative(col[k], items)
        out[f"{k}_rank"], out[f"{k}_gap"] = rank, gap
        if k in SHARED_SCORES:
            out[f"{k}_share"] = share
    length = pd.Series(col["length"])
    n = length.groupby(items).transform("size").to_numpy().astype(float)
    others = (length.groupby(items).transform("sum").to_numpy() - col["length"]) / np.maximum(n - 1, 1)
    out["length_vs_others"] = np.where(n > 1, col["length"] / np.maximum(others, 1), np.nan)
    out["item_candidates"] = n
    relative = np.column_stack([out[name] for name in RELATIVE_FEATURES]) if len(base) else \
        np.empty((0, len(RELATIVE_FEATURES)))
    return np.hstack([base, relative])
