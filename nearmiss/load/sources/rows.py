"""Streaming row readers for JSONL, JSON, CSV and Parquet files.

Each yields ``(line_or_row_number, dict)`` and raises ``LoadError`` naming the file and
line for malformed input, so a bad row deep in a file is reported precisely. Lines, JSON
records and CSV fields are capped at ``MAX_RECORD_BYTES`` (read with a cap, so a huge
file without a newline is refused without being read whole), and a NaN or infinite number
anywhere in a row is refused with the path of its field.
"""
from __future__ import annotations

import csv
import json
import math
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nearmiss.errors import LoadError
from nearmiss.registry import Registry

Row = tuple[int, dict[str, Any]]
MAX_RECORD_BYTES = 16 << 20  # one line / JSON record / CSV field; the longest real trace rows are ~1 MB


def _too_long(path: Path, number: int | None, what: str) -> LoadError:
    return LoadError(path, number, None, f"{what} longer than {MAX_RECORD_BYTES >> 20} MiB (the limit for one row)")


def _bad_scalar(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN or infinite number; give a finite value or leave the field out"
    if isinstance(value, str):
        if "\x00" in value:
            return "text holds a NUL character (\\u0000)"
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return "text holds an unpaired surrogate (\\ud800-\\udfff escape); not valid Unicode"
    return None


def bad_field(value: Any, name: str = "") -> tuple[str, str] | None:
    """(field path, reason) of the first value in ``value`` the store cannot keep as given:
    NaN/Infinity (stored as "nan" text or invalid JSON), NUL characters (refused by
    PostgreSQL) and unpaired surrogates (not encodable). None: all fine."""
    if isinstance(value, dict):
        items = ((f"{name}.{k}" if name else str(k), v) for k, v in value.items())
    elif isinstance(value, (list, tuple)):
        items = ((f"{name}[{i}]", v) for i, v in enumerate(value))
    else:
        reason = _bad_scalar(value)
        return (name, reason) if reason else None
    return next((hit for key, v in items if (hit := bad_field(v, key)) is not None), None)


def checked_rows(path: Path | str, rows: Iterator[Row]) -> Iterator[Row]:
    """``rows``, refusing any row with a value the store cannot keep as given (``bad_field``)."""
    for number, row in rows:
        bad = bad_field(row)
        if bad is not None:
            raise LoadError(path, number, bad[0], bad[1])
        yield number, row


def _check_nonempty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise LoadError(path, None, None, "file is empty")


def _text_lines(path: Path) -> Iterator[tuple[int, str]]:
    with path.open("rb") as f:
        number = 0
        while raw := f.readline(MAX_RECORD_BYTES + 1):
            number += 1
            if len(raw) > MAX_RECORD_BYTES:
                raise _too_long(path, number, "line is")
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
                if len(buf) - pos > MAX_RECORD_BYTES:
                    raise _too_long(path, line + buf.count("\n", 0, pos), "JSON record is") from None
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
    if csv.field_size_limit() < MAX_RECORD_BYTES:
        csv.field_size_limit(MAX_RECORD_BYTES)  # the module's default, 128 KiB, is too small for traces
    lines = (text for _, text in _text_lines(path))
    reader = csv.reader(lines)
    rows = _csv_records(path, reader)
    _, header = next(rows, (1, None))
    if not header:
        raise LoadError(path, 1, None, "CSV has no header row")
    seen = False
    for number, values in rows:
        if not values:
            continue
        if len(values) != len(header):
            raise LoadError(path, number, None, f"ragged row: {len(values)} values for {len(header)} columns")
        seen = True
        yield number, dict(zip(header, values))
    if not seen:
        raise LoadError(path, None, None, "file has no rows")


def _csv_records(path: Path, reader: Any) -> Iterator[tuple[int, list[str]]]:
    """(first line of the record, values); csv errors as LoadErrors naming that line."""
    while True:
        start = reader.line_num + 1
        try:
            values = next(reader)
        except StopIteration:
            return
        except csv.Error as e:
            reason = str(e)
            if "field limit" in reason:
                raise _too_long(path, start, "a CSV field is") from None
            raise LoadError(path, start, None, f"malformed CSV: {reason}") from None
        yield start, values


def read_parquet(path: Path, batch_size: int = 4096) -> Iterator[Row]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_nonempty(path)
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as e:  # what pyarrow raises for a corrupt file
        raise LoadError(path, None, None, f"not a readable Parquet file: {e}") from None
    number = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            number += 1
            yield number, row
    if number == 0:
        raise LoadError(path, None, None, "file has no rows")


READERS: Registry[Callable[[Path], Iterator[Row]]] = Registry("file type", {
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".parquet": read_parquet,
})


def read_rows(path: Path) -> Iterator[Row]:
    """Rows of a data file, chosen by its extension."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise LoadError(path, None, None, READERS.unknown(path.suffix))
    return checked_rows(path, READERS[suffix](path))
