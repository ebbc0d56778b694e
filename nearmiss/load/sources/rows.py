"""Streaming row readers for JSONL, JSON, CSV and Parquet files.

Each reader yields ``(line_or_row_number, dict)`` per good row and a ``LoadError`` naming the
file and line per bad one (malformed JSON, not valid UTF-8, a ragged CSV row, a NaN ...), so a
scan lists every bad row of a file (:func:`scan_rows`) and a load stops at the first
(:func:`read_rows`). What leaves no way to find the next row (a record over the size cap, a
broken JSON array, a malformed CSV quote) is raised and ends the scan. Lines, JSON
records and CSV fields are capped at ``MAX_RECORD_BYTES`` (read with a cap, so a huge
file without a newline is refused without being read whole), and a NaN or infinite number
anywhere in a row is refused with the path of its field. Rows nest at most ``MAX_DEPTH`` lists
and objects, and a name given twice (a JSON key in one object, a CSV header) is refused, never
silently resolved to its last value.
"""
from __future__ import annotations

import csv
import json
import math
import re
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from nearmiss.errors import LoadError
from nearmiss.registry import Registry
from nearmiss.store.schema import text_problem

Row = tuple[int, dict[str, Any]]
Scanned = Row | LoadError  # a good row, or why the row at that line is bad
MAX_RECORD_BYTES = 16 << 20  # one line / JSON record / CSV field; the longest real trace rows are ~1 MB
MAX_DEPTH = 64  # lists and objects inside each other in one row; real rows (traces with tool calls) nest < 10
TOO_DEEP = f"nested deeper than {MAX_DEPTH} levels (lists or objects inside each other)"
JSON_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{}:]')  # strings, brackets and colons


class RepeatedKey(Exception):
    """A JSON object names the same key twice."""

    def __init__(self, key: str):
        super().__init__(key)
        self.key = key


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    row = dict(pairs)
    if len(row) != len(pairs):
        keys = [k for k, _ in pairs]
        raise RepeatedKey(next(k for i, k in enumerate(keys) if k in keys[:i]))
    return row


DECODER = json.JSONDecoder(object_pairs_hook=_unique_keys)


def _too_long(path: Path, number: int | None, what: str) -> LoadError:
    return LoadError(path, number, None, f"{what} longer than {MAX_RECORD_BYTES >> 20} MiB (the limit for one row)")


def _bad_scalar(value: Any) -> str | None:
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN or infinite number; give a finite value or leave the field out"
    return text_problem(value) if isinstance(value, str) else None


def bad_field(value: Any, name: str = "") -> tuple[str, str] | None:
    """(field path, reason) of the first value in ``value`` the store cannot keep as given:
    NaN/Infinity (stored as "nan" text or invalid JSON), text it refuses (``text_problem``),
    or lists and objects nested deeper than ``MAX_DEPTH`` (named by their top-level field).
    None: all fine. Walks with a stack, so no nesting can exhaust Python's recursion limit."""
    stack: list[tuple[str, Any, int, str]] = [(name, value, 0, name)]
    while stack:
        key, v, depth, top = stack.pop()
        if isinstance(v, dict):
            children = [(f"{key}.{k}" if key else str(k), c) for k, c in v.items()]
        elif isinstance(v, (list, tuple)):
            children = [(f"{key}[{i}]", c) for i, c in enumerate(v)]
        else:
            reason = _bad_scalar(v)
            if reason:
                return key, reason
            continue
        if depth >= MAX_DEPTH:
            return top, TOO_DEEP
        stack.extend((k, c, depth + 1, top if depth else k) for k, c in reversed(children))
    return None


def deep_field(text: str, start: int = 0) -> str | None:
    """The top-level key under which the JSON object at ``text[start:]`` nests deeper than
    ``MAX_DEPTH`` (None: not under a key). A token scan, for records too deep for the decoder."""
    depth, key, last = 0, None, None
    for token in JSON_TOKENS.finditer(text, start):
        t = token.group()
        if t in "[{":
            depth += 1
            if depth > MAX_DEPTH:
                return key
        elif t in "]}":
            depth -= 1
            if depth == 0:
                return None
        elif t == ":" and depth == 1:
            key = last
        elif t.startswith('"'):
            last = json.loads(t)
    return None


def _refusal(path: Path, number: int, e: RepeatedKey | RecursionError, text: str, start: int = 0) -> LoadError:
    """A JSON record the decoder refused (a key given twice) or could not descend into (the
    decoder stops near 1000 levels), as a LoadError naming its field."""
    if isinstance(e, RepeatedKey):
        return LoadError(path, number, e.key, "key given twice in one object; keep one")
    return LoadError(path, number, deep_field(text, start), TOO_DEEP)


def checked_rows(path: Path | str, rows: Iterator[Scanned]) -> Iterator[Scanned]:
    """``rows``, with a LoadError in place of any row holding a value the store cannot keep as given
    (``bad_field``)."""
    for entry in rows:
        if not isinstance(entry, LoadError) and (bad := bad_field(entry[1])) is not None:
            entry = LoadError(path, entry[0], *bad)
        yield entry


def strict(rows: Iterator[Scanned]) -> Iterator[Row]:
    """The good rows of a scan; the first bad one is raised."""
    for entry in rows:
        if isinstance(entry, LoadError):
            raise entry
        yield entry


def _check_nonempty(path: Path) -> None:
    if path.stat().st_size == 0:
        raise LoadError(path, None, None, "file is empty")


def _text_lines(path: Path) -> Iterator[tuple[int, str | LoadError]]:
    """(line number, its text, or a LoadError when it is not valid UTF-8)."""
    with path.open("rb") as f:
        number = 0
        while raw := f.readline(MAX_RECORD_BYTES + 1):
            number += 1
            if len(raw) > MAX_RECORD_BYTES:
                raise _too_long(path, number, "line is")
            try:
                yield number, raw.decode("utf-8")
            except UnicodeDecodeError as e:
                yield number, LoadError(path, number, None, f"not valid UTF-8 (byte {e.start}); save the file as UTF-8")


def _jsonl_row(path: Path, number: int, line: str) -> Scanned:
    try:
        row = DECODER.decode(line)
    except json.JSONDecodeError as e:
        return LoadError(path, number, None, f"malformed JSON: {e.msg} (column {e.colno})")
    except (RepeatedKey, RecursionError) as e:
        return _refusal(path, number, e, line)
    if not isinstance(row, dict):
        return LoadError(path, number, None, f"expected a JSON object, got {type(row).__name__}")
    return number, row


def read_jsonl(path: Path) -> Iterator[Scanned]:
    _check_nonempty(path)
    seen = False
    for number, line in _text_lines(path):
        if isinstance(line, str) and not line.strip():
            continue
        seen = True
        yield line if isinstance(line, LoadError) else _jsonl_row(path, number, line)
    if not seen:
        raise LoadError(path, None, None, "file has no rows")


def read_json(path: Path, chunk_chars: int = 1 << 20) -> Iterator[Scanned]:
    """A JSON array of objects, decoded record by record (bounded memory; tolerates a
    truncated tail only by reporting where it stops)."""
    _check_nonempty(path)
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
            at = line + buf.count("\n", 0, pos)
            try:
                row, end = DECODER.raw_decode(buf, pos)
            except json.JSONDecodeError as e:
                if len(buf) - pos > MAX_RECORD_BYTES:
                    raise _too_long(path, at, "JSON record is") from None
                if fill():
                    continue
                at = line + buf.count("\n", 0, e.pos)
                raise LoadError(path, at, None, f"malformed JSON: {e.msg}") from None
            except (RepeatedKey, RecursionError) as e:
                raise _refusal(path, at, e, buf, pos) from None
            seen = True
            yield (at, row) if isinstance(row, dict) else LoadError(
                path, at, None, f"expected a JSON object, got {type(row).__name__}")
            pos = end
            if len(buf) - pos < chunk_chars // 4:
                fill()
    if not seen:
        raise LoadError(path, None, None, "file has no rows")


def _utf8(lines: Iterator[tuple[int, str | LoadError]]) -> Iterator[str]:
    """The text of each line; a line that is not valid UTF-8 ends a CSV (a quoted field may span lines)."""
    for _, text in lines:
        if isinstance(text, LoadError):
            raise text
        yield text


def read_csv(path: Path) -> Iterator[Scanned]:
    _check_nonempty(path)
    if csv.field_size_limit() < MAX_RECORD_BYTES:
        csv.field_size_limit(MAX_RECORD_BYTES)  # the module's default, 128 KiB, is too small for traces
    lines = _utf8(_text_lines(path))
    reader = csv.reader(lines)
    rows = _csv_records(path, reader)
    header_line, header = next(rows, (1, None))
    if not header:
        raise LoadError(path, 1, None, "CSV has no header row")
    repeated = next((h for i, h in enumerate(header) if h in header[:i]), None)
    if repeated is not None:
        raise LoadError(path, header_line, repeated,
                        f"column given {header.count(repeated)} times in the header; give each column its own name")
    seen = False
    for number, values in rows:
        if not values:
            continue
        seen = True
        if len(values) != len(header):
            yield LoadError(path, number, None, f"ragged row: {len(values)} values for {len(header)} columns")
        else:
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


def read_parquet(path: Path, batch_size: int = 4096) -> Iterator[Scanned]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    _check_nonempty(path)
    try:
        pf = pq.ParquetFile(path)
    except (pa.ArrowException, OSError, ValueError) as e:  # what pyarrow raises for a corrupt file
        raise LoadError(path, None, None, f"not a readable Parquet file: {e}") from None
    names = pf.schema_arrow.names
    repeated = next((n for i, n in enumerate(names) if n in names[:i]), None)
    if repeated is not None:
        raise LoadError(path, None, repeated, f"column given {names.count(repeated)} times; give each column its own name")
    number = 0
    for batch in pf.iter_batches(batch_size=batch_size):
        for row in batch.to_pylist():
            number += 1
            yield number, row
    if number == 0:
        raise LoadError(path, None, None, "file has no rows")


READERS: Registry[Callable[[Path], Iterator[Scanned]]] = Registry("file type", {
    ".jsonl": read_jsonl,
    ".ndjson": read_jsonl,
    ".json": read_json,
    ".csv": read_csv,
    ".parquet": read_parquet,
})


def scan_rows(path: Path) -> Iterator[Scanned]:
    """Every row of a data file, good or bad (the reader chosen by its extension)."""
    suffix = path.suffix.lower()
    if suffix not in READERS:
        raise LoadError(path, None, None, READERS.unknown(path.suffix))
    return checked_rows(path, READERS[suffix](path))


def read_rows(path: Path) -> Iterator[Row]:
    """The rows of a data file; its first bad row is raised."""
    return strict(scan_rows(path))
