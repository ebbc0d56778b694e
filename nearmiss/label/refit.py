"""Background refits: the ranker learns while people label, without holding up a key press.

A daemon thread per store polls every ``poll_seconds``; a scope whose newest ranker saw
``refit_every`` fewer label rows (decisions, undos, adjudications) than now exist is fitted
again with that ranker's own config (defaults for a scope never fitted). The fit reads and
computes outside any transaction and writes p_near in short batches (``ranker.fit``), so a
key press waits at most for one batch's commit.
"""
from __future__ import annotations

import logging
import threading
from functools import lru_cache

from sqlalchemy import func, select

from nearmiss.label.ranker import ALL, RankerConfig, config_of, fit, latest
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Item, Label, Ranker

log = logging.getLogger(__name__)


def _scopes(store: Store) -> list[str]:
    """Scopes to watch: every dataset with labels, or only ``*`` when the newest ranker is
    fitted across datasets."""
    with store.session() as s:
        newest = s.scalar(select(Ranker.scope).order_by(Ranker.id.desc()).limit(1))
        if newest == ALL:
            return [ALL]
        return list(s.scalars(select(Item.dataset).distinct().join(Candidate, Candidate.item_id == Item.id)
                              .join(Label, Label.candidate_id == Candidate.id)))


def due(store: Store, scope: str) -> RankerConfig | None:
    """The config to refit ``scope`` with when enough labels arrived since its last fit, else None."""
    previous = latest(store, scope)
    cfg = config_of(previous)
    with store.session() as s:
        mark = previous["label_mark"] if previous else 0
        new = s.execute(select(func.count()).select_from(Label).join(Candidate, Candidate.id == Label.candidate_id)
                        .join(Item, Item.id == Candidate.item_id)
                        .where(Label.id > mark, *(() if scope == ALL else (Item.dataset == scope,)))).scalar_one()
    return cfg if new >= cfg.refit_every else None


def refit_due(store: Store) -> list[int]:
    """Fit every scope that is due; the new ranker versions."""
    done = []
    for scope in _scopes(store):
        cfg = due(store, scope)
        if cfg is not None:
            done.append(fit(store, None if scope == ALL else scope, cfg).ranker_id)
            log.info("refit %s: ranker v%d", scope, done[-1])
    return done


class Refitter:
    """The polling thread of one store."""

    def __init__(self, store: Store, poll_seconds: float):
        self.store, self.poll_seconds = store, poll_seconds
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="nearmiss-refit", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.poll_seconds):
            try:
                refit_due(self.store)
            except Exception:  # a failed refit keeps the current ranker; the next poll tries again
                log.exception("background refit failed")

    def stop(self) -> None:
        self._stop.set()
        self.thread.join()


@lru_cache(maxsize=8)
def start_refitter(store: Store, poll_seconds: float = 5.0) -> Refitter:
    """The store's refit thread, started once per process."""
    return Refitter(store, poll_seconds)
