"""What mining produced, ready to show: nearness histograms per origin, top candidates."""
from __future__ import annotations

from typing import Any

import numpy as np
from sqlalchemy import select

from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Item


def nearness_histogram(store: Store, dataset: str | None = None, bins: int = 20) -> list[dict[str, Any]]:
    """Candidate counts per origin and nearness bin (``bins`` bins of equal width over [0, 1])."""
    q = select(Candidate.origin, Candidate.nearness).where(Candidate.nearness.is_not(None))
    if dataset:
        q = q.join(Item, Item.id == Candidate.item_id).where(Item.dataset == dataset)
    by_origin: dict[str, list[float]] = {}
    with store.session() as s:
        for origin, nearness in s.execute(q):
            if nearness is not None:  # always: the query keeps scored candidates only
                by_origin.setdefault(origin, []).append(nearness)
    edges = np.linspace(0.0, 1.0, bins + 1)
    return [{"origin": origin, "bin_start": round(float(lo), 6), "bin_end": round(float(hi), 6), "count": int(n)}
            for origin, values in sorted(by_origin.items())
            for lo, hi, n in zip(edges[:-1], edges[1:], np.histogram(values, bins=edges)[0])]


def top_candidates(store: Store, dataset: str | None = None, limit: int = 50,
                   origin: str | None = None) -> list[dict[str, Any]]:
    """The nearest candidates first, with their question and gold answer."""
    q = (select(Candidate, Item).join(Item, Item.id == Candidate.item_id).where(Candidate.nearness.is_not(None))
         .order_by(Candidate.nearness.desc(), Candidate.id).limit(limit))
    if dataset:
        q = q.where(Item.dataset == dataset)
    if origin:
        q = q.where(Candidate.origin == origin)
    out = []
    with store.session() as s:
        for cand, item in s.execute(q).all():
            gold = item.choices[item.gold] if item.choices and item.gold is not None else item.answer
            out.append({"nearness": cand.nearness, "candidate": cand.text, "gold": gold, "question": item.question,
                        "origin": cand.origin, "suggested": cand.suggested,
                        "possibly_correct": cand.possibly_correct, "sim_gold": cand.scores.get("sim_gold"),
                        "margin_token": cand.scores.get("margin_token")})
    return out
