"""Export speed on a labeled ARC-Easy store (validation + test, 2,946 items), and the
final-label derivation against a per-candidate baseline.

    .venv/bin/python bench/export.py              # 3 votes per distractor (~26k label rows)
    .venv/bin/python bench/export.py --votes 5
    .venv/bin/python bench/export.py --large 100000 500000 [--code-root OTHER_CHECKOUT]

Baseline ("per candidate"): ``load_final_labels(session, [cid])`` once per candidate, the
way a page showing one candidate at a time would ask. Ours: one
query for all rows, one pass (``nearmiss.label.final_labels``). Then every format is exported
(JSON Lines, and Parquet for dpo), read back and validated, timed end to end.

``--large N ...``: peak memory of ``nearmiss export --format dpo`` (a fresh process, its own
peak RSS from ``wait4``) on synthetic stores of N negatives each (N/3 four-choice items, the
three wrong choices exported as unlabeled distractors). Flat in N means the export streams.
``--code-root`` runs the same exports with another checkout's code, for a before/after.
"""
from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import insert, select

from nearmiss.export import FORMATS, ExportConfig, ExportFilters, export
from nearmiss.label.final_labels import load_final_labels
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, ItemRecord
from nearmiss.store.tables import Annotator, Candidate, Label


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


ROOT = Path(__file__).resolve().parents[1]


def synthetic(store: Store, negatives: int) -> None:
    """negatives / 3 items, each a question with a gold answer and three wrong choices."""
    ingest(store, (ItemRecord(dataset="big", split="test", native_id=str(n), kind="mcqa",
                              question=f"Question number {n}: which of these answers is the right one?",
                              choices=[f"right {n}", f"wrong a {n}", f"wrong b {n}", f"wrong c {n}"], gold=0,
                              answer=f"right {n}") for n in range(negatives // 3)))


def export_peak_mb(url: str, out: Path, code_root: Path) -> tuple[float, float]:
    """(peak RSS MB, seconds) of one `nearmiss export` process."""
    env = {**os.environ, "PYTHONPATH": str(code_root)}
    t = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "nearmiss.cli", "--db", url, "export", "--format", "dpo", "--out",
                             str(out), "--include-unlabeled-distractors"], env=env, cwd=code_root,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(proc.pid, 0)
    if status:
        raise SystemExit(f"export failed with status {status}")
    return usage.ru_maxrss / 1024, time.perf_counter() - t


def large(sizes: list[int], code_root: Path) -> None:
    print(f"code: {code_root}\n\n| negatives | items | peak RSS MB | seconds |\n|---:|---:|---:|---:|")
    for n in sizes:
        with tempfile.TemporaryDirectory() as tmp:
            url = f"sqlite:///{Path(tmp) / 'big.db'}"
            store = Store(url)
            synthetic(store, n)
            store.dispose()
            mb, secs = export_peak_mb(url, Path(tmp) / "out", code_root)
            print(f"| {n // 3 * 3:,} | {n // 3:,} | {mb:,.0f} | {secs:.1f} |", flush=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--votes", type=int, default=3, help="annotators voting on every distractor")
    ap.add_argument("--large", type=int, nargs="+", help="peak memory of exports of this many negatives instead")
    ap.add_argument("--code-root", type=Path, default=ROOT, help="checkout whose code --large runs (default: this)")
    args = ap.parse_args()
    if args.large:
        large(args.large, args.code_root.resolve())
        return
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
