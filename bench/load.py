"""Loading throughput and peak memory: nearmiss's streaming loader vs a naive baseline.

    .venv/bin/python bench/load.py                # MMLU test (14,042 items) + a generated 1M-row JSONL
    .venv/bin/python bench/load.py --rows 200000  # smaller generated file

Each measurement runs in a fresh subprocess into a fresh SQLite store, so peak memory
(max RSS) is that load's alone. Baseline: pandas reads the whole file, then one INSERT
per row (one transaction), the way a quick script would do it.
"""
from __future__ import annotations

import argparse
import json
import random
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def generate(path: Path, rows: int) -> None:
    rng = random.Random(0)
    words = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu".split()
    with path.open("w") as f:
        for n in range(rows):
            q = " ".join(rng.choices(words, k=12))
            f.write(json.dumps({"id": n, "question": f"{q}?", "choices": rng.sample(words, 4), "answer": n % 4}) + "\n")


def ours(source: str, db: str, split: str | None) -> int:
    from nearmiss.load.ingest import ingest
    from nearmiss.load.sources import open_source
    from nearmiss.store import Store

    return ingest(Store(db), open_source(source, split=split).items).items_added


def naive(source: str, db: str, split: str | None) -> int:
    import pandas as pd
    from sqlalchemy import create_engine, text

    from nearmiss.store import Store

    if source == "mmlu":  # the bundled arrow files, read whole with pandas
        import pyarrow as pa

        from nearmiss.load.sources.bundled import BENCHMARKS, mmlu_subjects, package_root

        frames = []
        for s in mmlu_subjects():
            for f in (package_root() / "hf_datasets" / BENCHMARKS["mmlu"].hf_dir / s / split).glob("*.arrow"):
                with pa.memory_map(str(f)) as src:
                    frames.append(pa.ipc.open_stream(src).read_all().to_pandas())
        df = pd.concat(frames, ignore_index=True)
    else:
        df = pd.read_json(source, lines=True)
    Store(db).dispose()  # same schema as ours
    engine = create_engine(db)
    sql = text("INSERT INTO items (id, dataset, split, native_id, kind, question, choices, gold, answer, meta, "
               "created_at) VALUES (:id, 'd', 's', :id, 'mcqa', :q, :c, :g, :a, '{}', CURRENT_TIMESTAMP)")
    with engine.begin() as conn:
        for n, row in enumerate(df.itertuples(index=False)):
            choices = list(row.choices)
            conn.execute(sql, {"id": str(n), "q": row.question, "c": json.dumps(choices), "g": int(row.answer),
                               "a": choices[int(row.answer)]})
    return len(df)


def child(args: argparse.Namespace) -> None:
    fn = {"ours": ours, "naive": naive}[args.child]
    start = time.perf_counter()
    n = fn(args.source, args.db, args.split)
    secs = time.perf_counter() - start
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(json.dumps({"items": n, "seconds": secs, "peak_mb": peak_mb}))


def measure(way: str, source: str, split: str | None, tmp: Path) -> dict:
    db = f"sqlite:///{tmp / f'{way}-{Path(source).stem}.db'}"
    cmd = [sys.executable, __file__, "--child", way, "--source", source, "--db", db]
    if split:
        cmd += ["--split", split]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--rows", type=int, default=1_000_000)
    p.add_argument("--child"), p.add_argument("--source"), p.add_argument("--db"), p.add_argument("--split")
    args = p.parse_args()
    if args.child:
        return child(args)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        gen = tmp / "generated.jsonl"
        generate(gen, args.rows)
        size_mb = gen.stat().st_size / 1e6
        cases = [("MMLU test", "mmlu", "test"), (f"JSONL {args.rows:,} rows ({size_mb:.0f} MB)", str(gen), None)]
        print(f"{'dataset':34} {'way':6} {'items':>9} {'seconds':>8} {'items/s':>9} {'peak MB':>8}")
        for label, source, split in cases:
            for way in ("naive", "ours"):
                r = measure(way, source, split, tmp)
                print(f"{label:34} {way:6} {r['items']:>9,} {r['seconds']:>8.1f} {r['items'] / r['seconds']:>9,.0f} "
                      f"{r['peak_mb']:>8.0f}", flush=True)


if __name__ == "__main__":
    main()
