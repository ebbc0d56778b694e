"""Export speed on a labeled ARC-Easy store (validation + test, 2,946 items), and the
final-label derivation against a per-candidate baseline.

    .venv/bin/python bench/export.py              # 3 votes per distractor (~26k label rows)
    .venv/bin/python bench/export.py --votes 5

Baseline ("per candidate"): ``load_final_labels(session, [cid])`` once per candidate, the
way a page showing one candidate at a time would ask. Ours: one
query for all rows, one pass (``curator.labeling.final_labels``). Then every format is exported
(JSON Lines, and Parquet for dpo), read back and validated, timed end to end.
"""
from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

from curator.export import FORMATS, ExportConfig, ExportFilters, export
from curator.labeling.final_labels import load_final_labels
from curator.ingest import ingest
from curator.loaders import open_source
from curator.store.schema import CandidateRecord
from curator.store import Store
from curator.store.tables import Annotator, Candidate, Label


def build(store: Store, votes: int) -> tuple[int, int]:
    items = []
    for split in ("validation", "test"):
        for it in open_source("arc-easy", split=split).items:
            it.candidates = [CandidateRecord(d, "distractor") for d in it.distractors()]
            items.append(it)
    ingest(store, items)
    rng = random.Random(0)
    with store.session() as s:
        users = [Annotator(name=f"a{k}", role="annotator", password_hash="-") for k in range(votes)]
        s.add_all(users)
        s.flush()
        cands = list(s.scalars(select(Candidate.id)))
        rows = [{"candidate_id": c, "annotator_id": u.id, "kind": "decision",
                 "label": rng.choices(["near_miss", "far_miss", "actually_correct", "invalid"], [5, 4, 1, 0.5])[0]}
                for c in cands for u in users]
        s.execute(insert(Label), rows)
    return len(items), len(rows)


def per_candidate(store: Store) -> dict:
    with store.session() as s:
        return {cid: fl for cid in s.scalars(select(Candidate.id)).all()
                for cid, fl in load_final_labels(s, [cid]).items()}


def one_pass(store: Store) -> dict:
    with store.session() as s:
        return load_final_labels(s)


def timed(fn, *args):
    t = time.perf_counter()
    out = fn(*args)
    return out, time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--votes", type=int, default=3, help="annotators voting on every distractor")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        store = Store(f"sqlite:///{Path(tmp) / 'bench.db'}")
        (n_items, n_labels), secs = timed(build, store, args.votes)
        print(f"store: {n_items} items, {n_labels} label rows, built in {secs:.1f}s\n")
        base, t_base = timed(per_candidate, store)
        ours, t_ours = timed(one_pass, store)
        assert base == ours
        print("| final labels | candidates | seconds | speed-up |\n|---|---:|---:|---:|")
        print(f"| per candidate (baseline) | {len(base):,} | {t_base:.2f} | 1.0x |")
        print(f"| one pass (ours) | {len(ours):,} | {t_ours:.2f} | {t_base / t_ours:.1f}x |\n")
        print("| export | rows written | seconds | rows/s |\n|---|---:|---:|---:|")
        runs = [(f, False) for f in FORMATS] + [("dpo", True)]
        for fmt, parquet in runs:
            cfg = ExportConfig(format=fmt, out=Path(tmp) / f"{fmt}-{parquet}", parquet=parquet,
                               filters=ExportFilters(include_unlabeled_distractors=True))
            manifest, secs = timed(export, store, cfg)
            rows = sum(t["rows"] for t in manifest["tables"].values())
            print(f"| {fmt}{' (parquet)' if parquet else ''} | {rows:,} | {secs:.2f} | {rows / secs:,.0f} |")
        store.dispose()


if __name__ == "__main__":
    main()
