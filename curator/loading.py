"""Loading into the store, for the CLI and the app: bundled sources and files by name,
and files handed over as bytes (a browser upload: preview with a guessed field mapping,
then a streaming, transactional load whose errors name the uploaded file)."""
from __future__ import annotations

import itertools
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from curator.errors import LoadError
from curator.ingest import LoadResult, ingest
from curator.loaders import BUNDLED_SOURCES, FieldMap, detect_format, file_rows, open_source
from curator.loaders.bundled import BENCHMARKS, mmlu_subjects, package_root
from curator.store import Store


@dataclass
class Preview:
    format: str
    rows: list[dict[str, Any]]
    mapping: FieldMap  # guessed from the first row (meaningful for mcqa)
    total: int | None  # rows in the file when cheap to know


def _staged(name: str, data: bytes, tmp: str) -> Path:
    path = Path(tmp) / Path(name).name
    path.write_bytes(data)
    return path


def _renamed(e: LoadError, tmp: str, name: str) -> LoadError:
    """The same error, naming the file as the user uploaded it."""
    return LoadError(name if e.file.startswith(tmp) else e.file, e.line, e.field, e.reason)


def _count_rows(path: Path, data: bytes) -> int | None:
    suffix = path.suffix.lower()
    if suffix in (".jsonl", ".ndjson"):
        return sum(1 for line in data.splitlines() if line.strip())
    if suffix == ".csv":
        return max(sum(1 for line in data.splitlines() if line.strip()) - 1, 0)
    if suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.ParquetFile(path).metadata.num_rows
    return None


def preview_upload(name: str, data: bytes, *, fmt: str | None = None, n: int = 5) -> Preview:
    """The first ``n`` rows, the detected format and a guessed field mapping."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _staged(name, data, tmp)
        try:
            rows = [row for _, row in itertools.islice(file_rows(path, None)[0], n)]
            total = _count_rows(path, data)
        except LoadError as e:
            raise _renamed(e, tmp, name) from None
    return Preview(detect_format(rows[0], fmt), rows, FieldMap().resolved(rows[0]), total)


def load_upload(store: Store, name: str, data: bytes, *, dataset: str | None = None, split: str | None = None,
                mapping: str | None = None, fmt: str | None = None,
                on_batch: Callable[[int], None] | None = None) -> LoadResult:
    """Load uploaded bytes into the store in one transaction (nothing stored on error)."""
    with tempfile.TemporaryDirectory() as tmp:
        path = _staged(name, data, tmp)
        try:
            source = open_source(str(path), split=split, mapping=mapping, fmt=fmt, name=dataset or Path(name).stem)
            return ingest(store, source.items, on_batch=on_batch)
        except LoadError as e:
            raise _renamed(e, tmp, name) from None


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
                on_batch: Callable[[int], None] | None = None) -> LoadResult:
    """Load a bundled source or a file by path into the store (one transaction)."""
    src = open_source(source, split=split, limit=limit, mapping=mapping, fmt=fmt, name=name)
    return ingest(store, src.items, on_batch=on_batch)
