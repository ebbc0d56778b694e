"""Writing loaded items into the store: idempotent, transactional and streaming.

The whole load is one transaction: a bad row anywhere rolls everything back. Rows are
written in batches, so memory stays bounded whatever the file size. Ids are stable, so
loading the same data again adds nothing.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from curator.store.schema import CandidateRecord, ItemRecord, candidate_id
from curator.store import Store
from curator.store.tables import Candidate, Item


@dataclass
class LoadResult:
    read: int = 0
    items_added: int = 0
    items_updated: int = 0
    candidates_added: int = 0


def _batches(records: Iterable[ItemRecord], size: int) -> Iterator[list[ItemRecord]]:
    it = iter(records)
    while batch := list(islice(it, size)):
        yield batch


def item_row(rec: ItemRecord) -> dict:
    return {"id": rec.id, "dataset": rec.dataset, "split": rec.split, "native_id": rec.native_id, "kind": rec.kind,
            "question": rec.question, "context": rec.context, "choices": rec.choices, "gold": rec.gold,
            "answer": rec.answer, "messages": rec.messages, "outcome": rec.outcome, "reward": rec.reward,
            "meta": rec.meta}


def candidate_row(item_id: str, cand: CandidateRecord, run_id: int | None = None) -> dict:
    return {"id": candidate_id(item_id, cand.text), "item_id": item_id, "text": cand.text, "origin": cand.origin,
            "miner": cand.miner, "model": cand.model, "run_id": run_id, "messages": cand.messages,
            "scores": cand.scores, "meta": cand.meta, "possibly_correct": False}


def add_candidates(session: Session, rows: list[dict]) -> int:
    """Insert candidate rows whose id is not stored yet; returns how many were new."""
    unique = {r["id"]: r for r in rows}
    if not unique:
        return 0
    existing = set(session.scalars(select(Candidate.id).where(Candidate.id.in_(list(unique)))))
    new = [r for cid, r in unique.items() if cid not in existing]
    if new:
        session.execute(insert(Candidate.__table__), new)
    return len(new)


def _write_batch(session: Session, batch: list[ItemRecord], result: LoadResult) -> None:
    merged: dict[str, ItemRecord] = {}
    for rec in batch:  # several traces of one task may share a batch
        prev = merged.get(rec.id)
        if prev is None:
            merged[rec.id] = rec
            continue
        if prev.answer is None and rec.answer is not None:
            rec.candidates = prev.candidates + rec.candidates
            merged[rec.id] = rec
        else:
            prev.candidates += rec.candidates
    stored = {row.id: row.answer for row in session.execute(select(Item.id, Item.answer).where(Item.id.in_(list(merged))))}
    new = [item_row(r) for iid, r in merged.items() if iid not in stored]
    if new:
        session.execute(insert(Item.__table__), new)
    for iid, rec in merged.items():  # a task first seen failing gets its gold when a success arrives
        if iid in stored and stored[iid] is None and rec.answer is not None:
            session.execute(update(Item).where(Item.id == iid).values(answer=rec.answer, messages=rec.messages,
                                                                       outcome=rec.outcome, meta=rec.meta))
            result.items_updated += 1
    result.items_added += len(new)
    result.candidates_added += add_candidates(
        session, [candidate_row(iid, c) for iid, rec in merged.items() for c in rec.candidates])


def ingest(store: Store, records: Iterable[ItemRecord], *, batch_size: int = 2000,
           on_batch: Callable[[int], None] | None = None) -> LoadResult:
    """Store all records in one transaction; any error leaves the store as it was."""
    result = LoadResult()
    with store.session() as session:
        for batch in _batches(records, batch_size):
            _write_batch(session, batch, result)
            session.flush()
            session.expunge_all()
            result.read += len(batch)
            if on_batch:
                on_batch(len(batch))
    return result
