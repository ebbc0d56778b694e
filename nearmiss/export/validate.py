"""Reading an export back: every table must load, have the rows that were written, and
pass its format's column checks. A failure names the file, the row and the column.
Files are read as streams beside the rows built again, so memory stays one chunk."""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from enum import Enum
from pathlib import Path

from nearmiss.errors import LoadError
from nearmiss.export.files import iter_rows
from nearmiss.export.formats.rows import Check
from nearmiss.export.manifest import TableCounts


class _End(Enum):
    """What ``next`` gives once the rows read back run out."""

    END = 0


_END = _End.END


def check_row(where: str, n: int, row: dict, columns: dict[str, Check]) -> None:
    """Raise LoadError if the row has a missing or malformed column."""
    for name, ok in columns.items():
        if name not in row:
            raise LoadError(where, n, name, "missing")
        if not ok(row[name]):
            raise LoadError(where, n, name, f"unexpected value {row[name]!r:.80}")


class ReadBack:
    """One written table read back row by row, compared with the rows meant to be there."""

    def __init__(self, where: str, loaded: Iterator[dict], columns: dict[str, Check]):
        self.where, self.loaded, self.columns = where, loaded, columns
        self.counts = TableCounts()

    def expect(self, rows: Iterable[dict]) -> None:
        for written in rows:
            n = self.counts.rows + 1
            back: dict | _End = next(self.loaded, _END)
            if back is _END:
                raise LoadError(self.where, None, None, f"read back {n - 1} rows, wrote more")
            if back != written:
                field = next((k for k in written if written.get(k) != back.get(k)), None)
                raise LoadError(self.where, n, field, "differs from what was written")
            check_row(self.where, n, back, self.columns)
            self.counts.add(back)

    def finish(self) -> TableCounts:
        if next(self.loaded, _END) is not _END:
            raise LoadError(self.where, None, None, f"read back more than the {self.counts.rows} rows written")
        return self.counts


def validate_tables(files: dict[str, Path], chunks: Iterable[dict[str, list[dict]]],
                    columns: Callable[[str], dict[str, Check]]) -> dict[str, TableCounts]:
    """Read one split's files (table -> path) back against its tables built again, chunk by chunk."""
    checks = {table: ReadBack(str(path), iter_rows(path), columns(table)) for table, path in files.items()}
    for tables in chunks:
        for table, rows in tables.items():
            if rows:
                checks[table].expect(rows)
    return {table: c.finish() for table, c in checks.items()}


def validate_hf(folder: Path, written: dict[str, Iterable[dict]], columns: dict[str, Check]) -> dict[str, TableCounts]:
    """Load a saved DatasetDict back with ``datasets.load_from_disk`` and check every split
    (memory-mapped Arrow, read in batches)."""
    import datasets

    loaded = datasets.load_from_disk(str(folder))
    if set(loaded) != set(written):
        raise LoadError(str(folder), None, None, f"splits {sorted(loaded)} differ from {sorted(written)}")
    out = {}
    for split, rows in written.items():
        back = (row for batch in loaded[split].iter(batch_size=1000)
                for row in (dict(zip(batch, values)) for values in zip(*batch.values())))
        check = ReadBack(str(folder / split), back, columns)
        check.expect(rows)
        out[split] = check.finish()
    return out
