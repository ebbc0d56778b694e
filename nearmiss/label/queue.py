"""Work distribution: which candidate an annotator labels next.

Each dataset has an *overlap* k (default 1): every candidate should get k decisions from
k different annotators. An annotator is served a candidate it has no active decision on,
whose active non-skip decisions number fewer than k, that nobody has adjudicated and that
no other annotator holds. Serving *claims* it: a lease row in ``claims`` (one per
candidate) that expires after ``lease_seconds``, so two annotators never hold one at once.
An annotator holds at most one claim; asking again returns it until it is labeled.

PostgreSQL picks with ``FOR NO KEY UPDATE SKIP LOCKED``, so concurrent annotators skip
each other's rows instead of queueing; SQLite serializes writers (``BEGIN IMMEDIATE``).
Either way the claim is an upsert that only takes a free or expired lease.
"""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Integer,
    Row,
    Select,
    String,
    and_,
    bindparam,
    delete,
    exists,
    func,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from nearmiss.auth.accounts import require_role
from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.label.labels import is_active
from nearmiss.registry import Registry
from nearmiss.settings import check_choices, setting
from nearmiss.store import Store
from nearmiss.store.locks import annotator_transaction
from nearmiss.store.schema import ORIGINS
from nearmiss.store.tables import QUEUE_SCORE, Candidate, Claim, Item, Label, LabelSettings, as_utc, utcnow
from nearmiss.store.writes import rows_changed

DEFAULT_OVERLAP = 1


_PIVOT = bindparam("pivot", type_=String)
_ONE = literal_column("1", Integer)  # LIMIT 1 as SQL text (see _probes)


@dataclass(frozen=True)
class Order:
    """A queue order as index-friendly probes. ``tiers`` turns the eligible rows into tiers
    of probes (each ordered, read with LIMIT 1); the first tier with a hit serves, and
    within a tier the hit of smallest ``rank`` (of its ``p_near`` and ``nearness``) wins.
    Probing from an index stops at the first eligible row instead of checking and sorting
    every candidate."""

    tiers: Callable[[Select, QueueConfig], list[list[Select]]]
    rank: Callable[[Row, QueueConfig], float] = lambda row, cfg: 0.0


def _closest(q: Select, column: ColumnElement[Any] | InstrumentedAttribute[Any], threshold: float) -> list[Select]:
    """The eligible row just above and just below ``threshold`` on ``column``."""
    return [q.where(column >= threshold).order_by(column.asc()), q.where(column < threshold).order_by(column.desc())]


def _uncertain(q: Select, cfg: QueueConfig) -> list[list[Select]]:
    """Closest to the threshold on the queue score (the learned ranker's p_near; where it has
    not scored a candidate, no ranker yet or mined since its fit, the fixed blend's nearness):
    two probes of its index, one each way from the threshold."""
    return [_closest(q, QUEUE_SCORE, cfg.threshold), [q.where(QUEUE_SCORE.is_(None))]]


def _uncertainty(row: Row, cfg: QueueConfig) -> float:
    score = row.nearness if row.p_near is None else row.p_near
    return 0.0 if score is None else abs(score - cfg.threshold)


def _nearest(q: Select, cfg: QueueConfig) -> list[list[Select]]:
    return [[q.where(Candidate.nearness.is_not(None)).order_by(Candidate.nearness.desc())],
            [q.where(Candidate.nearness.is_(None))]]


def _random(q: Select, cfg: QueueConfig) -> list[list[Select]]:
    """From a random point of the (hash) id order onwards, wrapping round."""
    return [[q.where(Candidate.id >= _PIVOT).order_by(Candidate.id)],
            [q.where(Candidate.id < _PIVOT).order_by(Candidate.id)]]


QUEUE_ORDERS: Registry[Order] = Registry("queue order", {
    "uncertain": Order(_uncertain, _uncertainty),  # p_near (else nearness) closest to the threshold first
    "nearness": Order(_nearest),  # highest nearness first
    "random": Order(_random),
})


@dataclass(frozen=True)
class QueueConfig:
    """How an annotator's queue is ordered and filtered."""

    order: str = setting("uncertain", "Which candidate comes next: uncertain (p_near, else nearness, closest to "
                                      "the threshold first; the default, as no order beat it: with gemma-3-270m "
                                      "as simulated annotator the ranker learned as fast from it as from random, "
                                      "diversity or mixed order, within 0.02 AUC at 200 and 400 labels, "
                                      "bench/RESULTS.md), nearness (highest first) or random.", QUEUE_ORDERS)
    datasets: tuple[str, ...] = setting((), "Only these datasets (empty: all).")
    origins: tuple[str, ...] = setting((), "Only these origins (empty: all).", ORIGINS)
    threshold: float = setting(0.5, "p_near (or nearness) where the suggestion flips near/far ('uncertain' order).")
    lease_seconds: int = setting(300, "How long a served candidate stays reserved for its annotator.")

    def __post_init__(self) -> None:
        check_choices(self)
        if self.lease_seconds <= 0:
            raise ConfigError(f"lease_seconds: must be positive, got {self.lease_seconds}")


def set_overlap(store: Store, admin_id: int, dataset: str, overlap: int) -> None:
    """Set how many annotators label each candidate of ``dataset`` (admins only)."""
    if overlap < 1:
        raise ConfigError(f"overlap: must be at least 1, got {overlap}")
    with store.session() as s:
        require_role(s, admin_id, "admin")
        if s.scalar(select(Item.id).where(Item.dataset == dataset).limit(1)) is None:
            raise NotFoundError(f"no dataset named '{dataset}'")
        row = s.get(LabelSettings, dataset)
        if row is None:
            s.add(LabelSettings(dataset=dataset, overlap=overlap))
        else:
            row.overlap, row.updated_at = overlap, utcnow()


def overlaps(store: Store) -> dict[str, int]:
    """Overlap per loaded dataset (DEFAULT_OVERLAP where none was set)."""
    with store.session() as s:
        names = s.scalars(select(Item.dataset).distinct()).all()
        chosen = dict(s.execute(select(LabelSettings.dataset, LabelSettings.overlap)).tuples().all())
    return {name: chosen.get(name, DEFAULT_OVERLAP) for name in sorted(names)}


_VOTE, _MINE, _ADJ = aliased(Label, name="vote"), aliased(Label, name="mine"), aliased(Label, name="adj")
_ANNOTATOR = bindparam("annotator_id", type_=Integer)
_NOW = bindparam("now", type_=Claim.expires_at.type)


def vote_count() -> ColumnElement[int]:
    """Correlated count of a candidate's active non-skip decisions."""
    return (select(func.count()).where(_VOTE.candidate_id == Candidate.id, _VOTE.kind == "decision",
                                       _VOTE.label != "skip", is_active(_VOTE)).scalar_subquery())


@lru_cache(maxsize=256)
def eligible(datasets: tuple[str, ...] = (), origins: tuple[str, ...] = (), *, free_only: bool = False) -> Select:
    """Candidate ids the annotator bound to ``:annotator_id`` may be served (unordered).
    With ``free_only``, those held by another annotator's claim unexpired at ``:now`` are
    left out. Built once per filter (building is slower than running it)."""
    q = (select(Candidate.id).join(Item, Item.id == Candidate.item_id)
         .outerjoin(LabelSettings, LabelSettings.dataset == Item.dataset)
         .where(~exists().where(_MINE.candidate_id == Candidate.id, _MINE.annotator_id == _ANNOTATOR,
                                _MINE.kind == "decision", is_active(_MINE)),
                ~exists().where(_ADJ.candidate_id == Candidate.id, _ADJ.kind == "adjudication", is_active(_ADJ)),
                vote_count() < func.coalesce(LabelSettings.overlap, DEFAULT_OVERLAP)))
    if free_only:
        q = q.where(~exists().where(Claim.candidate_id == Candidate.id, Claim.annotator_id != _ANNOTATOR,
                                    Claim.expires_at > _NOW))
    if datasets:
        q = q.where(Item.dataset.in_(datasets))
    if origins:
        q = q.where(Candidate.origin.in_(origins))
    return q


@lru_cache(maxsize=256)
def _probes(cfg: QueueConfig, dialect: str) -> list[list[Select]]:
    """The order's probes over the free eligible candidates, each LIMIT 1 (and, on
    PostgreSQL, locking its row with SKIP LOCKED). The limit is written into the SQL, not
    bound: PostgreSQL's generic plan of a prepared statement (psycopg prepares a statement
    run five times) does not know a bound limit is 1, and scanned and sorted every candidate."""
    base = eligible(cfg.datasets, cfg.origins, free_only=True).add_columns(Candidate.nearness, Candidate.p_near)
    tiers = QUEUE_ORDERS[cfg.order].tiers(base, cfg)
    if dialect == "postgresql":
        return [[p.limit(_ONE).with_for_update(of=Candidate, skip_locked=True, key_share=True) for p in t] for t in tiers]
    return [[p.limit(_ONE) for p in t] for t in tiers]


@lru_cache(maxsize=256)
def _still_eligible(datasets: tuple[str, ...], origins: tuple[str, ...]) -> Select:
    return eligible(datasets, origins).where(Candidate.id == bindparam("cid", type_=String))


_HELD = (select(Claim.candidate_id, Claim.expires_at).where(Claim.annotator_id == _ANNOTATOR, Claim.expires_at > _NOW)
         .order_by(Claim.expires_at.desc()).limit(1))


_INSERTS: dict[str, Callable[[type[Claim]], sqlite.Insert | postgresql.Insert]] = {
    "sqlite": sqlite.insert, "postgresql": postgresql.insert}


def _take(session: Session, annotator_id: int, candidate_id: str, now: datetime, lease: timedelta) -> bool:
    """Upsert a claim that only replaces a lease that is free, expired or already ours."""
    ins = _INSERTS[session.get_bind().dialect.name](Claim).values(
        candidate_id=candidate_id, annotator_id=annotator_id, expires_at=now + lease)
    ins = ins.on_conflict_do_update(
        index_elements=[Claim.candidate_id], set_={"annotator_id": annotator_id, "expires_at": now + lease},
        where=or_(Claim.expires_at <= now, Claim.annotator_id == annotator_id))
    return session.connection().scalar(ins.returning(Claim.candidate_id)) is not None


def _release_others(session: Session, annotator_id: int, keep: str | None) -> None:
    cond = Claim.annotator_id == annotator_id
    session.execute(delete(Claim).where(and_(cond, Claim.candidate_id != keep) if keep else cond))


def serve_next(session: Session, annotator_id: int, cfg: QueueConfig, *, resume: bool = True) -> str | None:
    """``next_candidate`` inside a transaction of ``annotator_transaction``. ``resume=False``
    when the annotator holds no claim (it just stored a decision, which gave them back)."""
    lease = timedelta(seconds=cfg.lease_seconds)
    now = utcnow()
    params = {"annotator_id": annotator_id, "now": now, "pivot": secrets.token_hex(12)}
    dialect = session.get_bind().dialect.name
    check = _still_eligible(cfg.datasets, cfg.origins)
    if resume:
        held = session.execute(_HELD, params).first()
        if held is not None and session.scalar(check, {**params, "cid": held.candidate_id}):
            if as_utc(held.expires_at) - now > lease / 2:  # fresh enough: no write, no fsync
                return held.candidate_id
            if _take(session, annotator_id, held.candidate_id, now, lease):
                _release_others(session, annotator_id, keep=held.candidate_id)
                return held.candidate_id
        _release_others(session, annotator_id, keep=None)
    tried: set[str] = set()
    for tier in _probes(cfg, dialect):
        for _ in range(8):  # a lost race on PostgreSQL: retry without the candidate taken from under us
            hits = [row for probe in tier for row in session.execute(probe, params) if row.id not in tried]
            if not hits:
                break
            cid = min(hits, key=lambda row: QUEUE_ORDERS[cfg.order].rank(row, cfg)).id
            # The upsert fails while another annotator holds it. On PostgreSQL the probe's snapshot
            # may predate a decision committed since, and the upsert may have waited for that
            # decision to give its claim back: re-check once the claim is ours, in a fresh
            # snapshot (SQLite's writers are serialized, its snapshot is current).
            if _take(session, annotator_id, cid, now, lease):
                if dialect == "sqlite" or session.scalar(check, {**params, "cid": cid}):
                    return cid
                _release_others(session, annotator_id, keep=None)
            tried.add(cid)
            tier = [p.where(Candidate.id.not_in(tried)) for p in tier]
    return None


def next_candidate(store: Store, annotator_id: int, cfg: QueueConfig) -> str | None:
    """The candidate the annotator should label now, claimed for it; None when its queue is
    empty. Returns the annotator's current claim while that is still eligible."""
    with annotator_transaction(store, annotator_id) as (s, _):
        return serve_next(s, annotator_id, cfg)


def take_claim(session: Session, annotator_id: int, candidate_id: str, cfg: QueueConfig) -> bool:
    """``claim`` inside a transaction of ``annotator_transaction``."""
    if not _take(session, annotator_id, candidate_id, utcnow(), timedelta(seconds=cfg.lease_seconds)):
        return False
    _release_others(session, annotator_id, keep=candidate_id)
    return True


def claim(store: Store, annotator_id: int, candidate_id: str, cfg: QueueConfig) -> bool:
    """Claim one given candidate (e.g. to relabel it after an undo) if nobody else holds it."""
    with annotator_transaction(store, annotator_id) as (s, _):
        return take_claim(s, annotator_id, candidate_id, cfg)


def renew(store: Store, annotator_id: int, candidate_id: str, cfg: QueueConfig) -> bool:
    """Heartbeat: make sure the annotator's lease on the candidate on its screen has at
    least half of ``lease_seconds`` left, extending it to ``lease_seconds`` from now when it
    has less (a lease with more left is only read: no write lock, no fsync). Only a lease
    the annotator still holds is extended (also one that expired while nobody took it);
    False when it holds none on that candidate (labeled already, or another annotator took
    it after it expired)."""
    lease = timedelta(seconds=cfg.lease_seconds)
    with store.session() as s:
        expires = s.scalar(select(Claim.expires_at).where(Claim.candidate_id == candidate_id,
                                                          Claim.annotator_id == annotator_id))
    if expires is None:
        return False
    if as_utc(expires) - utcnow() > lease / 2:
        return True
    with annotator_transaction(store, annotator_id) as (s, _):
        return rows_changed(s, update(Claim).where(Claim.candidate_id == candidate_id, Claim.annotator_id == annotator_id)
                            .values(expires_at=utcnow() + lease)) == 1


def holds_lease(session: Session, annotator_id: int, candidate_id: str) -> bool:
    """Whether the annotator holds an unexpired lease on the candidate."""
    return session.scalar(select(Claim.candidate_id).where(
        Claim.candidate_id == candidate_id, Claim.annotator_id == annotator_id, Claim.expires_at > utcnow())) is not None


def release(store: Store, annotator_id: int) -> None:
    """Give back every claim the annotator holds."""
    with store.session() as s:
        _release_others(s, annotator_id, keep=None)


def remaining(store: Store, annotator_id: int, cfg: QueueConfig) -> int:
    """How many candidates the annotator could still be served (claims ignored)."""
    with store.session() as s:
        return s.scalar(_count(eligible(cfg.datasets, cfg.origins)), {"annotator_id": annotator_id})


@lru_cache(maxsize=256)
def _count(q: Select) -> Select:
    return select(func.count()).select_from(q.subquery())


def datasets_and_origins(store: Store) -> tuple[list[str], list[str]]:
    """Datasets that have candidates, and the origins present: the queue's filter choices."""
    with store.session() as s:
        names = s.scalars(select(Item.dataset).join(Candidate, Candidate.item_id == Item.id).distinct()).all()
        origins = s.scalars(select(Candidate.origin).distinct()).all()
    return sorted(names), sorted(origins)
