"""Refusing ids that repeat inside one file, in memory bounded in the file's size: the ids
seen so far live in a temporary on-disk SQLite table (deleted when closed)."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from nearmiss.errors import LoadError, shown


class FirstSeen:
    """Remembers on which line each id was first seen; a repeat is a LoadError naming both."""

    def __init__(self, path: Path | str, field: str):
        self.path, self.field = path, field
        self.db = sqlite3.connect("")  # "": a private temporary database on disk
        self.db.execute("CREATE TABLE seen (key TEXT PRIMARY KEY, line INTEGER) WITHOUT ROWID")

    def add(self, key: str, line: int, what: str | None = None) -> None:
        """Remember ``key`` at ``line``; ``what`` names it in the error (default: the id)."""
        try:
            self.db.execute("INSERT INTO seen VALUES (?, ?)", (key, line))
        except sqlite3.IntegrityError:
            (first,) = self.db.execute("SELECT line FROM seen WHERE key = ?", (key,)).fetchone()
            raise LoadError(self.path, line, self.field,
                            f"{what or f'id {shown(key)}'} already on line {first}; each must be unique within a file") from None

    def close(self) -> None:
        self.db.close()
