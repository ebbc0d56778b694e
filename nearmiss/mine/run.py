"""Mining runs: pools propose, scorers score, rank ranks, the store keeps it, batch by batch.

A run is resumable and incremental. Items are taken in a stable order (by id, the first
``limit`` of the dataset); an item already mined under the same config hash is skipped.
Each batch (its candidates, the items' ``mined_items`` marks and the run's progress) is
one transaction, so an interrupted run loses nothing it finished and a second identical
run adds nothing. A proposed answer that is already stored keeps its row and provenance;
its scores are merged with the new ones and its nearness recomputed.
"""
from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session
from tqdm import tqdm

from nearmiss.errors import ConfigError, DatasetBusy, NotFoundError
from nearmiss.jobs.owners import dataset_lock, ensure_free
from nearmiss.jobs.progress import Reporter
from nearmiss.jobs.runs import claim, create, finish
from nearmiss.lm.models import DEFAULT_EMBEDDER, DEFAULT_LM, DTYPES, auto_dtype
from nearmiss.load.ingest import candidate_row
from nearmiss.mine.backends.base import Backend
from nearmiss.mine.backends.local import LocalBackend
from nearmiss.mine.base import Proposal
from nearmiss.mine.pools.lm import LMSampleConfig
from nearmiss.mine.pools.neighbours import NeighbourPool, NeighboursConfig
from nearmiss.mine.rank import RankConfig, rank
from nearmiss.mine.registry import POOLS, SCORERS
from nearmiss.settings import build, check_choices, setting
from nearmiss.store import Store
from nearmiss.store.schema import stable_id
from nearmiss.store.tables import Candidate, Item, MinedItem, Run

log = logging.getLogger(__name__)
NOT_HASHED = ("limit", "batch_size")  # settings that do not change what an item's mining produces


@dataclass(frozen=True)
class MineConfig:
    dataset: str = setting(help="Dataset to mine (as stored by `nearmiss load`).")
    split: str | None = setting(None, "Split to mine (default: every split of the dataset).")
    pools: tuple[str, ...] = setting(("distractors", "neighbours"), "Candidate pools, in priority order.", POOLS)
    scorers: tuple[str, ...] = setting(("embedding", "lm"), "Scorers: embedding (similarity to gold and question), "
                                                            "lm (log-likelihood).", SCORERS)
    limit: int | None = setting(None, "Mine at most the first N items of the dataset (stable order).")
    lm: str = setting(DEFAULT_LM, "Causal LM for the lm pool and scorer: bundled name, hub id org/name or local HF folder.")
    dtype: str = setting("auto", "LM weights: bfloat16, float32, or auto (bfloat16 on a GPU; on a CPU the format "
                                 "whose matmuls it runs faster, measured: emulated bf16 is several times slower).",
                         DTYPES)
    embedder: str = setting(DEFAULT_EMBEDDER, "Sentence embedder: bundled name, hub id org/name or local folder.")
    batch_size: int = setting(32, "Items per batch (one transaction each).")
    neighbours: NeighboursConfig = setting(NeighboursConfig(), "Neighbour pool settings.")
    lm_samples: LMSampleConfig = setting(LMSampleConfig(), "LM sample pool settings.")
    rank: RankConfig = setting(RankConfig(), "Nearness formula settings.")

    def __post_init__(self) -> None:
        if not self.dataset:
            raise ConfigError("dataset: give the name of a loaded dataset")
        check_choices(self)
        for name, known in (("pools", POOLS), ("scorers", SCORERS)):
            if not getattr(self, name):
                raise ConfigError(f"{name}: give at least one of {', '.join(known)}")
        if self.limit is not None and self.limit < 1:
            raise ConfigError(f"limit must be >= 1, got {self.limit}")
        if self.batch_size < 1:
            raise ConfigError(f"batch_size must be >= 1, got {self.batch_size}")

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def hash(self) -> str:
        """What decides an item's mining result: everything but ``NOT_HASHED``."""
        return stable_id({k: v for k, v in self.as_dict().items() if k not in NOT_HASHED})

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MineConfig:
        """A config from stored or given settings (nested configs as dicts)."""
        return build(cls, data)


@dataclass
class MineResult:
    run_id: int
    items_mined: int = 0
    items_skipped: int = 0
    candidates_added: int = 0
    candidates_rescored: int = 0
    possibly_correct: int = 0
    index: str | None = None
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


class Resources:
    """What pools and scorers share in a run: the store, the config, the dataset's items,
    the LM and the neighbour pool (each built once, on first use)."""

    def __init__(self, store: Store, cfg: MineConfig, universe: list[Item], neighbours: NeighbourPool | None = None,
                 report: Reporter | None = None):
        self.store: Store = store
        self.cfg: MineConfig = cfg
        self.universe: list[Item] = universe
        self._neighbours = neighbours
        self.report: Reporter = report or Reporter(None, None)  # the run's stage and counter, for its job view

    def neighbours(self) -> NeighbourPool:
        """The neighbour pool over the whole dataset (its index is built once and shared)."""
        if self._neighbours is None:
            self.report.stage(f"embedding {len(self.universe)} questions for the neighbour index")
            self._neighbours = NeighbourPool.embedded(self.store, self.universe, self.cfg.embedder,
                                                       self.cfg.neighbours)
        return self._neighbours

    def lm(self) -> tuple[Any, Any]:
        """(model, tokenizer); ``load_lm`` keeps one per process."""
        from nearmiss.lm.models import load_lm

        self.report.stage(f"loading the LM ({self.cfg.lm})")
        return load_lm(self.cfg.lm, auto_dtype(self.cfg.dtype))


def _universe(store: Store, cfg: MineConfig) -> list[Item]:
    with store.session() as s:
        q = select(Item).where(Item.dataset == cfg.dataset)
        if cfg.split:
            q = q.where(Item.split == cfg.split)
        items = list(s.scalars(q.order_by(Item.id)))
        if not items:
            stored = sorted(set(s.scalars(select(Item.dataset))))
            where = f"{cfg.dataset}" + (f" split {cfg.split}" if cfg.split else "")
            raise NotFoundError(f"no items for {where}; stored datasets: {', '.join(stored) or 'none'} "
                                "(load one first)")
    return items


def _write(session: Session, run_id: int, proposals: list[Proposal], cfg: MineConfig,
           scored_by: dict[str, str]) -> tuple[int, int, int]:
    """Insert new candidates, merge scores (and which models gave them) into stored ones,
    mark the items mined."""
    rows: dict[str, dict[str, Any]] = {}  # candidate id -> its row
    for p in proposals:
        for cand in p.candidates:
            row = candidate_row(p.item.id, cand, run_id)
            rows.setdefault(row["id"], row)
    stored = {cid: (scores, meta) for cid, scores, meta in session.execute(
        select(Candidate.id, Candidate.scores, Candidate.meta).where(Candidate.id.in_(list(rows))))}
    new, changed, flagged = [], [], 0
    for cid, row in rows.items():
        old_scores, old_meta = stored.get(cid, ({}, {}))
        scores = {**(old_scores or {}), **row["scores"]}
        meta = old_meta or row["meta"] or {}
        meta = {**meta, "scored_by": {**meta.get("scored_by", {}), **scored_by}}
        r = rank(scores, cfg.rank)
        flagged += r.possibly_correct
        values = {"scores": scores, "meta": meta, "nearness": r.nearness, "suggested": r.suggested,
                  "possibly_correct": r.possibly_correct}
        if cid in stored:
            changed.append({"id": cid, **values})
        else:
            new.append({**row, **values})
    if new:
        session.execute(insert(Candidate), new)
    if changed:
        session.execute(update(Candidate), changed)
    session.execute(insert(MinedItem), [{"item_id": p.item.id, "config_hash": cfg.hash, "run_id": run_id}
                                        for p in proposals])
    return len(new), len(changed), flagged


def create_run(store: Store, cfg: MineConfig) -> int:
    """A pending mining run row for ``cfg`` (a background worker picks it up)."""
    return create(store, "mine", config=cfg.as_dict(), config_hash=cfg.hash)


def mine(store: Store, cfg: MineConfig, *, run_id: int | None = None, progress: bool = True,
         backend: Backend | None = None) -> MineResult:
    """Mine ``cfg.dataset`` into the store; see the module docstring. ``run_id`` adopts a
    pending run row (else one is created, unless another run mines the dataset: refused first);
    ``backend`` runs the pools and scorers (default: in process). A run refused by the dataset's
    lock ends ``refused``, never ``failed``."""
    started = time.perf_counter()
    universe = _universe(store, cfg)
    if run_id is None:
        ensure_free(store, cfg.dataset)
        run_id = create_run(store, cfg)
    result = MineResult(run_id)
    targets = universe[:cfg.limit] if cfg.limit else universe
    try:
        with dataset_lock(store, cfg.dataset, run_id):  # one writing run per dataset
            with store.session() as s:
                done = set(s.scalars(select(MinedItem.item_id).where(MinedItem.config_hash == cfg.hash)))
            todo = [it for it in targets if it.id not in done]
            result.items_skipped = len(targets) - len(todo)
            claim(store, run_id, f"{len(todo)} items to mine, {result.items_skipped} done before")
            if todo:
                _mine_items(Resources(store, cfg, universe, report=Reporter(store, run_id)), todo, result, progress,
                            backend or LocalBackend())
    except BaseException as e:
        status = ("interrupted" if isinstance(e, KeyboardInterrupt) else "refused" if isinstance(e, DatasetBusy)
                  else "failed")
        reason = str(e) if status == "refused" else repr(e)
        finish(store, run_id, status, message=f"{status}: {reason}"[:2000], metrics=result.as_dict())
        raise
    result.seconds = round(time.perf_counter() - started, 3)
    store.analyze("candidates")  # new candidates are served from an index at once (Store.analyze)
    share = result.possibly_correct / max(result.candidates_added + result.candidates_rescored, 1)
    log.info("flagged %d candidates (%.1f%%) as possibly correct (relative_margin=%s, lm_guard=%s)",
             result.possibly_correct, 100 * share, cfg.rank.relative_margin, cfg.rank.lm_guard)
    finish(store, run_id, "done", progress=1.0, metrics=result.as_dict(),
             message=f"mined {result.items_mined} items, {result.candidates_added} new candidates, "
                     f"{result.items_skipped} items done before")
    return result


def _mine_items(res: Resources, todo: list[Item], result: MineResult, progress: bool, backend: Backend) -> None:
    """Write each batch the backend finishes (candidates, marks, progress) in one transaction."""
    with tqdm(total=len(todo), desc=f"mine {res.cfg.dataset}", unit=" items", disable=not progress) as bar:
        for batch in backend.run(res, todo):
            result.index = batch.index
            with res.store.session() as s:
                added, rescored, flagged = _write(s, result.run_id, batch.proposals, res.cfg, batch.scored_by)
                result.items_mined += len(batch.proposals)
                result.candidates_added += added
                result.candidates_rescored += rescored
                result.possibly_correct += flagged
                s.execute(update(Run).where(Run.id == result.run_id).values(
                    progress=result.items_mined / len(todo), metrics=result.as_dict(),
                    message=f"{result.items_mined}/{len(todo)} items, {result.candidates_added} new candidates"))
            bar.update(len(batch.proposals))
