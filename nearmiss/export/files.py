"""Files on disk: JSON Lines / Parquet tables, sha256, zipping, and building an output
folder atomically (staged beside its final place, moved in only when complete)."""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from nearmiss.errors import ConfigError, LoadError

STALE_AFTER_S = 6 * 3600  # a staging or download folder untouched this long was abandoned


class TableWriters:
    """One file per table for one split, appended chunk by chunk: JSON Lines streamed to disk,
    Parquet gathered per file and written by pyarrow when closed."""

    def __init__(self, folder: Path, split: str, parquet: bool):
        self.folder, self.split, self.parquet = folder, split, parquet
        self.paths: dict[str, Path] = {}
        self._open: dict[str, IO[str]] = {}
        self._pending: dict[str, list[dict]] = {}

    def __enter__(self) -> TableWriters:
        return self

    def write(self, tables: dict[str, list[dict]]) -> None:
        for table, rows in tables.items():
            if not rows:
                continue
            if table not in self.paths:
                path = self.folder / table / f"{self.split}{'.parquet' if self.parquet else '.jsonl'}"
                path.parent.mkdir(parents=True, exist_ok=True)
                self.paths[table] = path
                if not self.parquet:
                    self._open[table] = path.open("w", encoding="utf-8")
            if self.parquet:
                self._pending.setdefault(table, []).extend(rows)
            else:
                self._open[table].writelines(json.dumps(row, ensure_ascii=False) + "\n" for row in rows)

    def __exit__(self, *exc) -> None:
        for f in self._open.values():
            f.close()
        if self.parquet and exc[0] is None:
            import pyarrow as pa
            import pyarrow.parquet as pq

            for table, rows in self._pending.items():
                pq.write_table(pa.Table.from_pylist(rows), self.paths[table])
        self._pending.clear()


def flatten(folder: Path, path: Path) -> Path:
    """Move ``folder/table/split.ext`` to ``folder/split.ext`` (a format with one table)."""
    target = folder / path.name
    os.replace(path, target)
    try:
        path.parent.rmdir()
    except OSError:
        pass  # the table folder still holds other splits
    return target


def _drop_null_keys(value):
    """Messages read from Parquet: a list column of structs has the union of every message's
    keys, so keys a message did not have come back as null; drop them."""
    if isinstance(value, list) and value and all(isinstance(m, dict) for m in value):
        return [{k: v for k, v in m.items() if v is not None} for m in value]
    return value


def iter_rows(path: Path) -> Iterator[dict]:
    """Rows of a table file written by :class:`TableWriters`, streamed."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        for batch in pq.ParquetFile(path).iter_batches(batch_size=4096):
            yield from ({k: _drop_null_keys(v) for k, v in row.items()} for row in batch.to_pylist())
        return
    with path.open(encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            try:
                yield json.loads(line)
            except json.JSONDecodeError as e:
                raise LoadError(str(path), n, None, f"not JSON: {e.msg}") from e


def read_rows(path: Path) -> list[dict]:
    """All rows of a table file (small files; exports read theirs with :func:`iter_rows`)."""
    return list(iter_rows(path))


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def files_under(folder: Path) -> list[Path]:
    """Every regular file below ``folder``, sorted, as paths relative to it."""
    return sorted(p.relative_to(folder) for p in folder.rglob("*") if p.is_file())


def zip_folder(folder: Path) -> Path:
    """The folder's files zipped into ``<folder>.zip`` beside it, file by file from disk
    (written once; later calls return the same archive)."""
    target = folder.with_name(folder.name + ".zip")
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        with zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as z:
            for rel in files_under(folder):
                z.write(folder / rel, f"{folder.name}/{rel.as_posix()}")
        os.replace(partial, target)
    return target


def sweep_stale(root: Path, prefix: str, max_age_s: float) -> int:
    """Remove folders and files under ``root`` named ``prefix*`` untouched for ``max_age_s``
    (exports abandoned by a closed browser tab or a killed process); returns how many."""
    removed = 0
    cutoff = time.time() - max_age_s
    for p in root.glob(f"{prefix}*") if root.is_dir() else ():
        try:
            if p.stat().st_mtime >= cutoff:
                continue
            shutil.rmtree(p) if p.is_dir() else p.unlink()
            removed += 1
        except OSError:
            continue  # another process removed it first
    return removed


DOWNLOADS_PREFIX = "nearmiss-export-"


def download_folder() -> Path:
    """A fresh private temp folder for an export offered as downloads (the app); folders of
    earlier downloads untouched for ``STALE_AFTER_S`` (a closed tab, a restarted server) go first."""
    root = Path(tempfile.gettempdir())
    sweep_stale(root, DOWNLOADS_PREFIX, STALE_AFTER_S)
    return Path(tempfile.mkdtemp(prefix=DOWNLOADS_PREFIX, dir=root))


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
    for leftover in (f".{out.name}.partial-", f".{out.name}.old-"):  # from a killed export to the same place
        sweep_stale(out.parent, leftover, STALE_AFTER_S)
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
