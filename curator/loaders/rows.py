"""Streaming row readers for JSONL, JSON, CSV and Parquet files.

Each yields ``(line_or_row_number, dict)`` and raises ``LoadError`` naming the file and
line for malformed input, so a bad row deep in a file is reported precisely.
"""
from __future__ import annotations

import csv
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from curator.errors import LoadError

Row = tuple[int, dict[str, Any]]


def _check_nonempty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise LoadError(path, None, None, "file is empty")


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as f:
        for number, raw in enumerate(f, start=1):
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as e:
                raise LoadError(path, number, None, f"not valid UTF-8 (byte {e.start}); save the file as UTF-8") from None


def read_jsonl(path: Path) -> Iterator[Row]:
    _check_nonempty(path)
    seen = False
    for number, line in _text_lines(path):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
        except json.JSONDecodeError as e:
            raise LoadError(path, number, None, f"malformed JSON: {e.msg} (column {e.colno})") from None
        if not isinstance(row, dict):
            raise LoadError(path, number, None, f"expected a JSON object, got {type(row).__name__}")
        seen = True
        yield number, row
    if not seen:
        raise LoadError(path, None, None, "file has no rows")


def read_json(path: Path, chunk_chars: int = 1 << 20) -> Iterator[Row]:
    """A JSON array of objects, decoded record by record (bounded memory; tolerates a
    truncated tail only by reporting where it stops)."""
    _check_nonempty(path)
    decoder = json.JSONDecoder()
    line, buf, pos, seen = 1, "", 0, False
    with path.open("r", encoding="utf-8", errors="strict") as f:

        def fill() -> bool:
            nonlocal buf, pos, line
            line += buf.count("\n", 0, pos)
            buf = buf[pos:]
            pos = 0
            try:
                more = f.read(chunk_chars)
            except UnicodeDecodeError:
                raise LoadError(path, line, None, "not valid UTF-8; save the file as UTF-8") from None
            buf += more
            return bool(more)

        fill()
        pos = len(buf) - len(buf.lstrip())
        if buf[pos:pos + 1] == "{":  # JSON Lines saved as .json
            yield from read_jsonl(path)
            return
        if not buf[pos:pos + 1] == "[":
            raise LoadError(path, line, None, "malformed JSON: expected an array of objects")
        pos += 1
        while True:
            while pos < len(buf) and buf[pos] in " \t\r\n,":
                pos += 1
            if pos >= len(buf) and not fill():
                raise LoadError(path, line + buf.count("\n", 0, pos), None, "malformed JSON: file ends inside the array")
            if pos >= len(buf):
                continue
            if buf[pos] == "]":
                break
            try:
                row, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as e:
                if fill():
                    continue
                at = line + buf.count("\n", 0, e.pos)
                raise LoadError(path, at, None, f"malformed JSON: {e.msg}") from None
            at = line + buf.count("\n", 0, pos)
            if not isinstance(row, dict):
                raise LoadError(path, at, None, f"expected a JSON object, got {type(row).__name__}")
            seen = True
            yield at, row
            pos = end
            if len(buf) - pos < chunk_chars // 4:
                fill()
    if not seen:
        raise LoadError(path, None, None, "file has no rows")


def read_csv(path: Path) -> Iterator[Row]:
    _check_nonempty(path)
    lines = (text for _, text in _text_lines(path))
    reader = csv.reader(lines)
    header = next(reader, None)
    if not header:
        raise LoadError(path, 1, None, "CSV has no header row")
    seen = False
    for values in reader:
        number = reader.line_num
        if not values:
            continue
        if len(values) != len(header):
            raise LoadError(path, number, None, f"ragged row: {len(values)} values for {len(header)} columns")
        seen = True
        yield number, dict(zip(header, values))
    if not seen:
        raise LoadError(path, None, None, "file has no rows")


def read_parquet(path: Path, batch_size: int = 4096) -> Iterator[Row]:
    import pyarrow.parquet as pq

    _check_nonempty(path)
    try:
        pf = pq.ParquetFile(path)
    except Exception as e:  # pyarrow raises several types for a corrupt file
        raise LoadError(path, None, None, f"not a readable Parquet file: {e}") from None
    number = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            number += 1
            yield number, row
    if number == 0:
        raise LoadError(path, None, None, "file has no rows")


READERS: dict[str, Callable[[Path], Iterator[Row]]] = {
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".parquet": read_parquet,
}


def read_rows(path: Path) -> Iterator[Row]:
    """Rows of a data file, chosen by its extension."""
    reader = READERS.get(path.suffix.lower())
    if reader is None:
        raise LoadError(path, None, None, f"unknown file type '{path.suffix}'; expected one of {', '.join(READERS)}")
    return reader(path)
