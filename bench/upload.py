"""Peak memory of a browser upload's path through the library: staging the upload to disk
in chunks, the preview, and the streaming load into a SQLite store. Memory only, no timing.

    PYTHONPATH=. .venv/bin/python bench/upload.py               # 100 MB and 500 MB
    PYTHONPATH=. .venv/bin/python bench/upload.py --sizes 500

Each size runs in a fresh process (so ``ru_maxrss`` is that run's own peak) on a generated
MCQA JSON Lines file of ~10 KB rows (a long context each). The upload is handed to
``stage_upload`` as an open file, as the page hands it Streamlit's UploadedFile: Streamlit
keeps the uploaded bytes themselves in memory, which is what the upload cap
(NEARMISS_MAX_UPLOAD_MB, default 200) bounds; this measures what nearmiss adds on top.
Baseline: the same file read whole into memory, as the page did before (``getvalue()``).
"""
from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
from pathlib import Path

ROW_CONTEXT = 10_000  # characters of context per row


def make_file(path: Path, mb: int) -> int:
    """A JSONL file of about ``mb`` MB; returns its row count."""
    rows, size = 0, 0
    filler = ("lorem ipsum dolor sit amet " * (ROW_CONTEXT // 27 + 1))[:ROW_CONTEXT]
    with path.open("w", encoding="utf-8") as f:
        while size < mb * 2**20:
            line = json.dumps({"id": rows, "question": f"What is {rows} + 1?", "context": f"{rows} {filler}",
                               "choices": [str(rows + 1), str(rows + 2), str(rows + 3)], "answer": 0}) + "\n"
            f.write(line)
            size += len(line)
            rows += 1
    return rows


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_one(path: Path, mode: str) -> None:
    """In a child process: the upload path (or the baseline read), printing peak RSS in MB."""
    from nearmiss.load.run import discard_staged, load_upload, preview_upload, stage_upload
    from nearmiss.store import Store

    store = Store(f"sqlite:///{path.parent / f'{mode}.db'}")
    before = peak_mb()
    if mode == "baseline":
        data = path.read_bytes()
        print(json.dumps({"mode": mode, "before_mb": before, "peak_mb": peak_mb(), "bytes": len(data)}))
        return
    with path.open("rb") as upload:
        staged = stage_upload(upload, path.name, max_mb=10_000)
    after_stage = peak_mb()
    preview = preview_upload(staged, path.name)
    result = load_upload(store, staged, path.name, dataset="big", split="train")
    discard_staged(staged)
    print(json.dumps({"mode": mode, "before_mb": before, "after_stage_mb": after_stage, "peak_mb": peak_mb(),
                      "rows": preview.total, "items_added": result.items_added}))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="100,500", help="File sizes in MB, comma-separated.")
    ap.add_argument("--child", nargs=2, metavar=("FILE", "MODE"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        run_one(Path(args.child[0]), args.child[1])
        return
    for mb in map(int, args.sizes.split(",")):
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "big.jsonl"
            rows = make_file(path, mb)
            for mode in ("baseline", "upload"):
                out = subprocess.run([sys.executable, __file__, "--child", str(path), mode], capture_output=True,
                                     text=True, check=True).stdout.strip().splitlines()[-1]
                r = json.loads(out)
                extra = r["peak_mb"] - r["before_mb"]
                print(f"{mb} MB file ({rows:,} rows), {mode}: peak RSS {r['peak_mb']:.0f} MB, "
                      f"{extra:.0f} MB over the process before it ({r})", flush=True)


if __name__ == "__main__":
    main()
