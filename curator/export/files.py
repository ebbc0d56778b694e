"""Files on disk: JSON Lines / Parquet tables, sha256, zipping, and building an output
folder atomically (staged beside its final place, moved in only when complete)."""
from __future__ import annotations

import hashlib
import io
import json
import os
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from curator.errors import ConfigError, LoadError


def write_rows(stem: Path, rows: list[dict], parquet: bool) -> Path:
    """Write rows to ``stem.jsonl`` or ``stem.parquet``; returns the path written."""
    stem.parent.mkdir(parents=True, exist_ok=True)
    if parquet:
        import pyarrow as pa
        import pyarrow.parquet as pq

        path = stem.with_suffix(".parquet")
        pq.write_table(pa.Table.from_pylist(rows), path)
        return path
    path = stem.with_suffix(".jsonl")
    with path.open("w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def _drop_null_keys(value):
    """Messages read from Parquet: a list column of structs has the union of every message's
    keys, so keys a message did not have come back as null; drop them."""
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        return [{k: v for k, v in m.items() if v is not None} for m in value]
    return value


def read_rows(path: Path) -> list[dict]:
    """Rows of a table file written by :func:`write_rows`."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return [{k: _drop_null_keys(v) for k, v in row.items()} for row in pq.read_table(path).to_pylist()]
    rows = []
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                rows.append(json.loads(line))
            except json.JSONDecodeError as e:
                raise LoadError(str(path), n, None, f"not JSON: {e.msg}") from e
    return rows


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files_under(folder: Path) -> list[Path]:
    """Every regular file below ``folder``, sorted, as paths relative to it."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def zip_folder(folder: Path) -> bytes:
    """The folder's files as a zip archive in memory (for download buttons)."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel in files_under(folder):
            z.write(folder / rel, f"{folder.name}/{rel.as_posix()}")
    return buf.getvalue()


def check_target(out: Path, overwrite: bool) -> None:
    """Refuse an output path that is a file, or a non-empty folder without ``overwrite``."""
    if out.exists() and not out.is_dir():
        raise ConfigError(f"--out {out} is a file, not a folder")
    if out.is_dir() and any(out.iterdir()) and not overwrite:
        raise ConfigError(f"--out {out} exists and is not empty; use --overwrite to replace it")


@contextmanager
def atomic_folder(out: Path) -> Iterator[Path]:
    """Yield an empty staging folder; on success it replaces ``out``, on error it vanishes.

    The staging folder sits beside ``out`` (same file system), so the final step is a
    rename: readers see the old folder or the complete new one, never a partial one.
    Parent folders created here are removed again when the export fails.
    """
    created = [p for p in [out.parent, *out.parent.parents] if not p.exists()]
    out.parent.mkdir(parents=True, exist_ok=True)
    stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.partial-", dir=out.parent))
    stage.chmod(0o755)  # mkdtemp makes it private; the export is an ordinary folder
    try:
        yield stage
        old = None
        if out.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{out.name}.old-", dir=out.parent))
            os.replace(out, old / "previous")
        try:
            os.replace(stage, out)
        except OSError:
            if old is not None:
                os.replace(old / "previous", out)
            raise
        if old is not None:
            shutil.rmtree(old, ignore_errors=True)
    except BaseException:
        shutil.rmtree(stage, ignore_errors=True)
        for p in created:  # innermost first
            try:
                p.rmdir()
            except OSError:
                break
        raise
