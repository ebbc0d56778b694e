"""Loaders: turn a source (a bundled benchmark name, a data file or an HF dataset saved
to disk) into a stream of ItemRecords.

File formats live in one registry; the format of a file is given (``--format``) or
detected from its first row.
"""
from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nearmiss.errors import ConfigError, LoadError, NotFoundError
from nearmiss.load.sources.bundled import BENCHMARKS, bundled_items, is_bundled
from nearmiss.load.sources.champ import champ_items
from nearmiss.load.sources.halueval import bundled_halueval, halueval_items, looks_like_halueval
from nearmiss.load.sources.mcqa import FieldMap, mcqa_items
from nearmiss.load.sources.rows import Row, Scanned, checked_rows, scan_rows, strict
from nearmiss.load.sources.traces import MESSAGE_FIELDS, looks_like_trace, trace_items
from nearmiss.names import check_dataset_name
from nearmiss.registry import Registry
from nearmiss.store.schema import ItemRecord

ItemsFn = Callable[[Iterator[Row], Path | str, str, str, FieldMap], Iterator[ItemRecord]]


@dataclass(frozen=True)
class FileFormat:
    """How to recognise a format from its first row and turn rows into items."""

    detect: Callable[[dict[str, Any]], bool]
    items: ItemsFn
    help: str


ROLES = Registry.of_names("role", ("system", "developer", "user", "assistant", "tool", "function"))


def _roles_checked(rec: ItemRecord, path: Path | str, row: Row) -> ItemRecord:
    number, fields = row
    name = next((f for f in MESSAGE_FIELDS if f in fields), "messages")
    for messages in (rec.messages, *(c.messages for c in rec.candidates)):
        for i, m in enumerate(messages or []):
            if m.get("role") not in ROLES:
                raise LoadError(path, number, f"{name}[{i}].role", ROLES.unknown(m.get("role")))
    return rec


def _traces(rows: Iterator[Row], path: Path | str, dataset: str, split: str, _fm: FieldMap) -> Iterator[ItemRecord]:
    """Trace items, each checked for unknown message roles (named by the row it came from)."""
    current: list[Row] = []

    def tracked() -> Iterator[Row]:
        for row in rows:
            current[:] = [row]
            yield row

    return (_roles_checked(rec, path, current[0]) for rec in trace_items(tracked(), path, dataset, split))


def _halueval(rows: Iterator[Row], path: Path | str, dataset: str, split: str, _fm: FieldMap) -> Iterator[ItemRecord]:
    return halueval_items(rows, path, dataset, split)


# Detection order matters: the first format whose detect() accepts the first row wins.
FILE_FORMATS: Registry[FileFormat] = Registry("file format", {
    "halueval": FileFormat(looks_like_halueval, _halueval, "HaluEval QA: question, right_answer, hallucinated_answer"),
    "openai": FileFormat(looks_like_trace, _traces,
                         "traces: {'messages': [{'role', 'content'}], 'success'|'outcome'|'reward'}"),
    "sharegpt": FileFormat(looks_like_trace, _traces, "traces: {'conversations': [{'from', 'value'}], ...}"),
    "nat": FileFormat(looks_like_trace, _traces, "NAT trajectories: {'id', 'conversations': [{'role', 'content', "
                                                 "'loss'}], 'info': {'reward', 'acc', 'gt', 'pred'}}"),
    "mcqa": FileFormat(lambda row: True, mcqa_items,
                       "multiple choice (question, choices, answer fields mapped by name)"),
})

# Bundled non-benchmark sources: name -> items(split).
BUNDLED_SOURCES: Registry[Callable[[str | None], Iterator[ItemRecord]]] = Registry("bundled source", {
    "halueval": bundled_halueval,
    "champ": champ_items,
})


@dataclass
class Source:
    """A resolved source: its dataset name, split and the lazy stream of items."""

    dataset: str
    split: str
    items: Iterator[ItemRecord]
    label: str


def _peek(rows: Iterator[Row]) -> tuple[Row, Iterator[Row]]:
    first = next(rows)
    return first, itertools.chain([first], rows)


def _hf_rows(path: Path, split: str | None) -> tuple[Iterator[Scanned], str]:
    import datasets

    ds = datasets.load_from_disk(str(path))
    if isinstance(ds, datasets.DatasetDict):
        names = list(ds)
        split = split or names[0]
        if split not in ds:
            raise NotFoundError(f"{path}: no split '{split}'; available: {', '.join(names)}")
        ds = ds[split]
    return checked_rows(path, enumerate(ds, start=1)), split or "train"


def scan_file(path: Path, split: str | None) -> tuple[Iterator[Scanned], str]:
    """Every row, good or bad, of a data file or an HF dataset folder, and the split they belong to."""
    if not path.exists():
        raise NotFoundError(f"{path}: no such file, and not a bundled source ({', '.join(bundled_names())})")
    if path.is_dir():
        return _hf_rows(path, split)
    return scan_rows(path), split or "train"


def file_rows(path: Path, split: str | None) -> tuple[Iterator[Row], str]:
    """The rows of a data file or an HF dataset folder (the first bad one raised), and their split."""
    rows, split = scan_file(path, split)
    return strict(rows), split


def detect_format(row: dict[str, Any], fmt: str | None = None) -> str:
    """The given format if known, else the first registered format that accepts ``row``."""
    if fmt is None:
        return next(k for k, f in FILE_FORMATS.items() if f.detect(row))
    FILE_FORMATS.lookup(fmt)
    return fmt


def _file_source(path: Path, split: str | None, fm: FieldMap, fmt: str | None, name: str | None) -> Source:
    rows, split = file_rows(path, split)
    first, rows = _peek(rows)
    fmt = detect_format(first[1], fmt)
    dataset = check_dataset_name(name or path.stem)
    return Source(dataset, split, FILE_FORMATS[fmt].items(rows, path, dataset, split, fm), f"{path} ({fmt})")


def bundled_names() -> list[str]:
    return [*BENCHMARKS, "mmlu:<subject>", *BUNDLED_SOURCES]


def open_source(source: str, *, split: str | None = None, limit: int | None = None,
                mapping: FieldMap | str | None = None, fmt: str | None = None, name: str | None = None) -> Source:
    """Resolve ``source`` to a lazy item stream (nothing is read until iterated)."""
    fm = mapping if isinstance(mapping, FieldMap) else FieldMap.parse(mapping)
    if is_bundled(source):
        items = bundled_items(source, split)
        src = Source(source, split or "", items, source)
    elif source in BUNDLED_SOURCES:
        src = Source(source, split or "", BUNDLED_SOURCES[source](split), source)
    else:
        src = _file_source(Path(source), split, fm, fmt, name)
    if limit is not None:
        if limit < 0:
            raise ConfigError("--limit must be >= 0")
        src.items = itertools.islice(src.items, limit)
    return src


__all__ = ["FILE_FORMATS", "BUNDLED_SOURCES", "FieldMap", "LoadError", "Source", "open_source", "bundled_names",
           "detect_format", "file_rows", "scan_file"]
