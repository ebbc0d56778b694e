"""Reading an export back: every table must load, have the rows that were written, and
pass its format's column checks. A failure names the file, the row and the column."""
from __future__ import annotations

from pathlib import Path

from curator.errors import LoadError
from curator.export.files import read_rows
from curator.export.formats.rows import Check


def check_rows(where: str, rows: list[dict], columns: dict[str, Check]) -> None:
    """Raise LoadError at the first row with a missing or malformed column."""
    for n, row in enumerate(rows, 1):
        for name, ok in columns.items():
            if name not in row:
                raise LoadError(where, n, name, "missing")
            if not ok(row[name]):
                raise LoadError(where, n, name, f"unexpected value {row[name]!r:.80}")


def same_rows(where: str, written: list[dict], loaded: list[dict]) -> None:
    """Raise LoadError unless the loaded rows equal the written ones, in order."""
    if len(loaded) != len(written):
        raise LoadError(where, None, None, f"read back {len(loaded)} rows, wrote {len(written)}")
    for n, (a, b) in enumerate(zip(written, loaded), 1):
        if a != b:
            field = next((k for k in a if a.get(k) != b.get(k)), None)
            raise LoadError(where, n, field, "differs from what was written")


def validate_file(path: Path, written: list[dict], columns: dict[str, Check]) -> None:
    """Load a JSON Lines / Parquet table back and check it."""
    loaded = read_rows(path)
    same_rows(str(path), written, loaded)
    check_rows(str(path), loaded, columns)


def validate_hf(folder: Path, written: dict[str, list[dict]], columns: dict[str, Check]) -> None:
    """Load a saved DatasetDict back with ``datasets.load_from_disk`` and check every split."""
    import datasets

    loaded = datasets.load_from_disk(str(folder))
    if set(loaded) != set(written):
        raise LoadError(str(folder), None, None, f"splits {sorted(loaded)} differ from {sorted(written)}")
    for split, rows in written.items():
        where = str(folder / split)
        back = loaded[split].to_list()
        same_rows(where, rows, back)
        check_rows(where, back, columns)
