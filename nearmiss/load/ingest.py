"""Writing loaded items into the store: idempotent, all-or-nothing on bad input, streaming,
and never holding the store for long.

Every record is read and validated first, batch by batch, into a spill file on disk: a bad
row anywhere raises before anything is written. Then each batch is written in its own short
transaction (``load_transaction``), so labeling waits for at most one batch, never for the
whole load. Memory stays bounded whatever the input size. Ids are stable, so loading the
same data again adds nothing, and a write that is interrupted (a killed process, a busy
store) is completed by running the load again. A load that is cancelled (its ``Reporter`` raises
``RunStopped``) undoes the batches it wrote: each batch's new items and candidates, and the old
values of the items it completed, are noted in a second spill file and deleted or put back batch
by batch, so the store is as before the load, except that a label is never lost: a new item whose
candidates annotators labeled meanwhile is kept with its candidates, as is a labeled candidate (logged).
"""
from __future__ import annotations

import logging
import pickle
import tempfile
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from typing import IO, cast

from sqlalchemy import Table, delete, insert, select, update
from sqlalchemy.orm import Session

from nearmiss.errors import RunStopped
from nearmiss.jobs.progress import Reporter
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, ItemRecord, candidate_id
from nearmiss.store.tables import Candidate, Item, Label
from nearmiss.store.writes import load_transaction, yield_write_lock

log = logging.getLogger(__name__)


@dataclass
class LoadResult:
    read: int = 0
    items_added: int = 0
    items_updated: int = 0
    candidates_added: int = 0
    rows: Counter = field(default_factory=Counter)  # trace rows by outcome ("success", ..., "empty")
    repeated: int = 0  # rows whose answer (or gold trace) was already stored, or read before, for their task
    extra_gold: int = 0  # successful traces of a task that already had its gold conversation

    def summary(self) -> str:
        """One line that accounts for every row read."""
        text = (f"read {self.read}, added {self.items_added} items ({self.items_updated} updated) "
                f"and {self.candidates_added} candidates")
        if self.rows:
            text += (f", {self.rows['unknown']} without an outcome (stored as candidates to label); "
                     f"traces: {self.rows['success']} successful, {self.rows['failure']} failed")
        notes = [(self.repeated, "repeat an answer or trace already stored for their task"),
                 (self.rows["empty"], "have an empty conversation (skipped)"),
                 (self.extra_gold, "are further successful traces of a task that has one (not stored)")]
        return text + "".join(f"; {n} {what}" for n, what in notes if n)


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
    return {"id": candidate_id(item_id, cand.text, cand.messages), "item_id": item_id, "text": cand.text,
            "origin": cand.origin, "miner": cand.miner, "model": cand.model, "run_id": run_id, "messages": cand.messages,
            "scores": cand.scores, "meta": cand.meta, "possibly_correct": False}


def add_candidates(session: Session, rows: list[dict]) -> list[str]:
    """Insert candidate rows whose id is not stored yet; returns the ids that were new."""
    unique = {r["id"]: r for r in rows}
    if not unique:
        return []
    existing = set(session.scalars(select(Candidate.id).where(Candidate.id.in_(list(unique)))))
    new = [r for cid, r in unique.items() if cid not in existing]
    if new:
        session.execute(insert(cast(Table, Candidate.__table__)), new)
    return [r["id"] for r in new]


@dataclass
class Written:
    """What one batch changed, to undo it: the items and candidates it added, and the items it
    completed with their values before."""

    items: list[str] = field(default_factory=list)
    candidates: list[str] = field(default_factory=list)
    before: list[dict] = field(default_factory=list)  # id, answer, messages, outcome, meta


def _merge(batch: list[ItemRecord], result: LoadResult) -> dict[str, ItemRecord]:
    """One record per item: several traces of one task may share a batch; the first with a
    gold conversation gives it."""
    merged: dict[str, ItemRecord] = {}
    for rec in batch:
        if rec.tally:
            result.rows[rec.tally] += 1
        if rec.tally == "empty":
            continue
        prev = merged.get(rec.id)
        if prev is None:
            merged[rec.id] = rec
        elif prev.messages is None and rec.messages is not None:
            rec.candidates = prev.candidates + rec.candidates
            rec.answer = rec.answer or prev.answer
            merged[rec.id] = rec
        else:
            if rec.messages is not None:
                result.repeated += rec.messages == prev.messages
                result.extra_gold += rec.messages != prev.messages
            prev.answer = prev.answer or rec.answer
            prev.candidates += rec.candidates
    return merged


def _write_batch(session: Session, batch: list[ItemRecord], result: LoadResult) -> Written:
    merged = _merge(batch, result)
    stored = {row.id: row for row in session.execute(
        select(Item.id, Item.answer, Item.messages, Item.outcome, Item.meta).where(Item.id.in_(list(merged))))}
    new = [item_row(r) for iid, r in merged.items() if iid not in stored]
    written = Written(items=[row["id"] for row in new])
    if new:
        session.execute(insert(cast(Table, Item.__table__)), new)
    for iid, rec in merged.items():  # a task first seen failing gets its gold when a success arrives
        old = stored.get(iid)
        if old is None:
            continue
        if rec.messages is not None and old.messages is not None:
            result.repeated += old.messages == rec.messages
            result.extra_gold += old.messages != rec.messages
        elif (old.answer is None and rec.answer is not None) or (old.messages is None and rec.messages is not None):
            gold = {"messages": rec.messages, "outcome": rec.outcome, "meta": rec.meta} if rec.messages else {}
            session.execute(update(Item).where(Item.id == iid).values(answer=old.answer or rec.answer, **gold))
            written.before.append(old._asdict())
            result.items_updated += 1
    result.items_added += len(new)
    rows = [candidate_row(iid, c) for iid, rec in merged.items() for c in rec.candidates]
    written.candidates = add_candidates(session, rows)
    result.candidates_added += len(written.candidates)
    result.repeated += len(rows) - len(written.candidates)
    return written


def _spilled(records: Iterable[ItemRecord], size: int, spill: IO[bytes], report: Reporter) -> int:
    """Read and validate every record into ``spill`` (pickled batches); returns the count."""
    read = 0
    for batch in _batches(records, size):
        pickle.dump(batch, spill, protocol=pickle.HIGHEST_PROTOCOL)
        read += len(batch)
        report.count(read)
    return read


def _unspilled(spill: IO[bytes]) -> Iterator:
    spill.seek(0)
    while True:
        try:
            yield pickle.load(spill)
        except EOFError:
            return


def _labeled(session: Session, written: Written) -> tuple[set[str], set[str]]:
    """Among what ``written`` added: the new items whose candidates carry a label, and the labeled candidates."""
    items = set(session.scalars(select(Candidate.item_id).join(Label, Label.candidate_id == Candidate.id)
                                .where(Candidate.item_id.in_(written.items)).distinct())) if written.items else set()
    candidates = set(session.scalars(select(Label.candidate_id).where(Label.candidate_id.in_(written.candidates))
                                     .distinct())) if written.candidates else set()
    return items, candidates


def _undo(store: Store, undo: IO[bytes]) -> None:
    """Undo the batches noted in ``undo``, each in its own short transaction (see the module docstring)."""
    for n, written in enumerate(_unspilled(undo)):
        if n:
            yield_write_lock(store)
        with load_transaction(store) as session:
            items, candidates = _labeled(session, written)
            if items or candidates:
                log.warning("cancelled load: kept %d item(s) and %d candidate(s) labeled while it ran",
                            len(items), len(candidates))
            if drop := [c for c in written.candidates if c not in candidates]:
                session.execute(delete(Candidate).where(Candidate.id.in_(drop), Candidate.item_id.not_in(items)))
            if drop := [i for i in written.items if i not in items]:  # with what was added to them since: cascaded
                session.execute(delete(Item).where(Item.id.in_(drop)))
            for before in written.before:
                session.execute(update(Item).where(Item.id == before.pop("id")).values(**before))


def ingest(store: Store, records: Iterable[ItemRecord], *, batch_size: int = 2000,
           on_batch: Callable[[int], None] | None = None, report: Reporter | None = None,
           total: int | None = None) -> LoadResult:
    """Validate all records, then store them batch by batch (see the module docstring);
    ``on_batch`` is called with the size of each stored batch. ``report`` (none: no run) gets two
    stages, reading (of ``total`` rows, when known) and storing, with their counts; when it raises
    ``RunStopped`` the load stops, and what it stored is undone."""
    report = report or Reporter(None, None)
    result = LoadResult()
    with tempfile.TemporaryFile(prefix="nearmiss-load-") as spill, \
            tempfile.TemporaryFile(prefix="nearmiss-load-undo-") as undo:
        report.stage("reading and checking the rows", total, unit="rows")
        result.read = _spilled(records, batch_size, spill, report)
        report.stage("storing the rows", result.read, unit="rows")
        stored = 0
        try:
            for n, batch in enumerate(_unspilled(spill)):
                if n:
                    yield_write_lock(store)
                with load_transaction(store) as session:
                    written = _write_batch(session, batch, result)
                pickle.dump(written, undo, protocol=pickle.HIGHEST_PROTOCOL)
                stored += len(batch)
                if on_batch:
                    on_batch(len(batch))
                report.count(stored)
        except RunStopped:
            _undo(store, undo)
            raise
    store.analyze("items", "candidates")
    return result
