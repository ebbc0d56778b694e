"""Loading into the store, for the CLI and the app: bundled sources and files by name,
and browser uploads: staged to a file on disk chunk by chunk (capped in size), previewed
with a field mapping (guessed, or remembered for the same columns), then loaded in one
streaming transaction whose errors name the uploaded file and list every bad row."""
from __future__ import annotations

import itertools
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from nearmiss.errors import LoadError, LoadErrors
from nearmiss.jobs.progress import Reporter
from nearmiss.load.ingest import LoadResult, ingest
from nearmiss.load.limits import MAX_UPLOAD_MB
from nearmiss.load.sources import BUNDLED_SOURCES, FILE_FORMATS, FieldMap, detect_format, open_source, scan_file
from nearmiss.load.sources.bundled import BENCHMARKS, mmlu_subjects, package_root
from nearmiss.store import Store

ERRORS_LISTED = 50  # bad rows listed per failed upload
STAGING_PREFIX = "nearmiss-upload-"
STALE_SECONDS = 24 * 3600  # staged uploads older than this are removed when the next one is staged
CHUNK = 1 << 20


@dataclass
class Preview:
    format: str
    rows: list[dict[str, Any]]
    columns: list[str]  # every field of the previewed rows, in first-seen order
    mapping: FieldMap  # guessed from the first row (meaningful for mcqa)
    total: int | None  # rows in the file when cheap to know


def _remove_stale(root: Path) -> None:
    for old in root.glob(f"{STAGING_PREFIX}*"):
        if old.is_dir() and time.time() - old.stat().st_mtime > STALE_SECONDS:
            shutil.rmtree(old, ignore_errors=True)


def stage_upload(src: BinaryIO, name: str, *, max_mb: int = MAX_UPLOAD_MB) -> Path:
    """Copy an upload into a new staging folder chunk by chunk (never whole in memory);
    refuse it past ``max_mb``. Remove the folder with ``discard_staged`` when done."""
    root = Path(tempfile.gettempdir())
    _remove_stale(root)
    path = Path(tempfile.mkdtemp(prefix=STAGING_PREFIX, dir=root)) / (Path(name).name or "upload")
    written = 0
    with path.open("wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > max_mb * 2**20:
                discard_staged(path)
                raise LoadError(name, None, None, f"the file is larger than the upload limit of {max_mb} MB")
            out.write(chunk)
    return path


def discard_staged(path: Path) -> None:
    """Remove a staged upload and its folder."""
    if path.parent.name.startswith(STAGING_PREFIX):
        shutil.rmtree(path.parent, ignore_errors=True)


def _renamed(e: LoadError, path: Path, name: str) -> LoadError:
    """The same error, naming the file as the user uploaded it."""
    return LoadError(name if e.file == str(path) else e.file, e.line, e.field, e.reason)


def _count_rows(path: Path) -> int | None:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson", ".csv"):
        with path.open("rb") as f:
            lines = sum(1 for line in f if line.strip())
        return max(lines - (suffix == ".csv"), 0)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def preview_upload(path: Path, name: str, *, fmt: str | None = None, n: int = 5) -> Preview:
    """The first ``n`` good rows of a staged upload (bad rows are passed over: loading lists
    them), its format, fields and a guessed field mapping. Refused only when none of the first
    ``n + ERRORS_LISTED`` rows is good."""
    try:
        scanned = list(itertools.islice(scan_file(path, None)[0], n + ERRORS_LISTED))
        rows = [entry[1] for entry in scanned if not isinstance(entry, LoadError)][:n]
        if not rows:
            raise next(e for e in scanned if isinstance(e, LoadError))
        total = _count_rows(path)
    except LoadError as e:
        raise _renamed(e, path, name) from None
    columns = list(dict.fromkeys(k for row in rows for k in row))
    return Preview(detect_format(rows[0], fmt), rows, columns, FieldMap().resolved(rows[0]), total)


def row_errors(path: Path, *, fmt: str | None, mapping: FieldMap | str | None, dataset: str, split: str,
               limit: int = ERRORS_LISTED) -> tuple[list[LoadError], int]:
    """Every bad row of a file, of any kind (unreadable, a value the store cannot keep, a field
    the format refuses), each row checked alone: the first ``limit``, and how many more. Only
    what leaves no way to find the next row (``nearmiss.load.sources.rows``) ends the scan."""
    fm = mapping if isinstance(mapping, FieldMap) else FieldMap.parse(mapping)
    errors: list[LoadError] = []
    more = 0
    items = None
    try:
        for entry in scan_file(path, split)[0]:
            try:
                if isinstance(entry, LoadError):
                    raise entry
                items = items or FILE_FORMATS[detect_format(entry[1], fmt)].items
                for _ in items(iter([entry]), path, dataset, split, fm):
                    pass
            except LoadError as e:
                if len(errors) < limit:
                    errors.append(e)
                else:
                    more += 1
    except LoadError as e:  # the reader stops here
        errors.append(e)
    return errors, more


def load_upload(store: Store, path: Path, name: str, *, dataset: str | None = None, split: str | None = None,
                mapping: FieldMap | str | None = None, fmt: str | None = None, report: Reporter | None = None,
                total: int | None = None) -> LoadResult:
    """Load a staged upload (of ``total`` rows, when known) all or nothing, its progress to
    ``report``. On bad input nothing is stored and the error lists every bad row found (LoadErrors),
    each naming the file as uploaded."""
    dataset = dataset or Path(name).stem
    try:
        source = open_source(str(path), split=split, mapping=mapping, fmt=fmt, name=dataset)
        return ingest(store, source.items, report=report, total=total)
    except LoadError as e:
        found, more = row_errors(path, fmt=fmt, mapping=mapping, dataset=dataset, split=split or "train")
        if not any((f.line, f.field, f.reason) == (e.line, e.field, e.reason) for f in found):
            found = sorted([e, *found], key=lambda x: x.line or 0)  # a check across rows (e.g. repeated ids)
        raise LoadErrors([_renamed(f, path, name) for f in found], more) from None


def bundled_splits(name: str) -> list[str]:
    """The splits a bundled source offers (for pickers)."""
    base = name.split(":", 1)[0]
    if base == "mmlu":
        return ["test", "validation", "dev"]
    if base in BENCHMARKS:
        return BENCHMARKS[base].splits(package_root())
    return ["test"] if name in BUNDLED_SOURCES else []


def bundled_sources() -> list[str]:
    """Every bundled source name, MMLU subjects included."""
    return [*BENCHMARKS, *(f"mmlu:{s}" for s in mmlu_subjects()), *BUNDLED_SOURCES]


def load_source(store: Store, source: str, *, split: str | None = None, limit: int | None = None,
                mapping: str | None = None, fmt: str | None = None, name: str | None = None,
                on_batch: Callable[[int], None] | None = None, report: Reporter | None = None) -> LoadResult:
    """Load a bundled source or a file by path into the store, all or nothing; its progress goes to
    ``on_batch`` (each stored batch's size) and ``report``."""
    src = open_source(source, split=split, limit=limit, mapping=mapping, fmt=fmt, name=name)
    return ingest(store, src.items, on_batch=on_batch, report=report, total=limit)
