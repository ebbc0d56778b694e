"""Writing loaded items into the store: idempotent, all-or-nothing on bad input, streaming,
and never holding the store for long.

Every record is read and validated first, batch by batch, into a spill file on disk: a bad
row anywhere raises before anything is written. Then each batch is written in its own short
transaction (``load_transaction``), so labeling waits for at most one batch, never for the
whole load. Memory stays bounded whatever the input size. Ids are stable, so loading the
same data again adds nothing, and a write that is interrupted (a killed process, a busy
store) is completed by running the load again.
"""
from __future__ import annotations

import pickle
import tempfile
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from typing import IO

from sqlalchemy import insert, select, update
from sqlalchemy.orm import Session

from curator.store.schema import CandidateRecord, ItemRecord, candidate_id
from curator.store import Store
from curator.store.tables import Candidate, Item
from curator.store.writes import load_transaction, yield_write_lock


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


def _spilled(records: Iterable[ItemRecord], size: int, spill: IO[bytes]) -> int:
    """Read and validate every record into ``spill`` (pickled batches); returns the count."""
    read = 0
    for batch in _batches(records, size):
        pickle.dump(batch, spill, protocol=pickle.HIGHEST_PROTOCOL)
        read += len(batch)
    spill.seek(0)
    return read


def _unspilled(spill: IO[bytes]) -> Iterator[list[ItemRecord]]:
    while True:
        try:
            yield pickle.load(spill)
        except EOFError:
            return


def ingest(store: Store, records: Iterable[ItemRecord], *, batch_size: int = 2000,
           on_batch: Callable[[int], None] | None = None) -> LoadResult:
    """Validate all records, then store them batch by batch (see the module docstring);
    ``on_batch`` is called with the size of each stored batch."""
    result = LoadResult()
    with tempfile.TemporaryFile(prefix="nearmiss-load-") as spill:
        result.read = _spilled(records, batch_size, spill)
        for n, batch in enumerate(_unspilled(spill)):
            if n:
                yield_write_lock(store)
            with load_transaction(store) as session:
                _write_batch(session, batch, result)
            if on_batch:
                on_batch(len(batch))
    return result
