"""Selected examples kept on disk while an export is built, so its memory stays flat in the
number of rows.

A ``Spill`` is a private temporary SQLite database (``sqlite3.connect("")``: on disk, a few MiB
of pages cached, deleted when the connection closes). Examples are stored pickled under their
merge key (normalised prompt, normalised gold answer) in the order they were first seen; a
split reads them back in that order, a chunk at a time.
"""
from __future__ import annotations

import pickle
import sqlite3
from collections.abc import Iterable, Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from nearmiss.export.select import Example

Key = tuple[str, str]  # (normalised prompt, normalised gold answer)
CACHE_KIB = 8192  # SQLite page cache; everything beyond it lives in the temporary file
PAGE = 1000  # examples read back per query

SCHEMA = """
CREATE TABLE example (seq INTEGER PRIMARY KEY, prompt TEXT NOT NULL, gold TEXT NOT NULL,
                      negatives INTEGER NOT NULL, body BLOB NOT NULL, UNIQUE (prompt, gold));
CREATE TABLE blocked (prompt TEXT, gold TEXT, answer TEXT, PRIMARY KEY (prompt, gold, answer));
CREATE TABLE held_out (prompt TEXT PRIMARY KEY);
"""


class Spill:
    """Examples by merge key, on disk."""

    def __init__(self) -> None:
        self._db = sqlite3.connect("", check_same_thread=False)  # one export uses it, step after step
        self._db.execute(f"PRAGMA cache_size=-{CACHE_KIB}")
        self._db.executescript(SCHEMA)

    def get(self, key: Key) -> Example | None:
        row = self._db.execute("SELECT body FROM example WHERE prompt = ? AND gold = ?", key).fetchone()
        return None if row is None else pickle.loads(row[0])

    def put(self, key: Key, ex: Example) -> None:
        """Store ``ex`` under ``key`` (replacing what was there, keeping its place in the order)."""
        self._db.execute("INSERT INTO example (prompt, gold, negatives, body) VALUES (?, ?, ?, ?) "
                         "ON CONFLICT (prompt, gold) DO UPDATE SET negatives = excluded.negatives, body = excluded.body",
                         (*key, len(ex.negatives), pickle.dumps(ex, pickle.HIGHEST_PROTOCOL)))

    def drop(self, key: Key) -> None:
        self._db.execute("DELETE FROM example WHERE prompt = ? AND gold = ?", key)

    def block(self, key: Key, answers: Iterable[str]) -> None:
        """Remember normalised answers that must never be a negative of ``key``'s example."""
        self._db.executemany("INSERT OR IGNORE INTO blocked VALUES (?, ?, ?)", [(*key, a) for a in answers])

    def blocked(self, key: Key) -> set[str]:
        return {a for (a,) in self._db.execute("SELECT answer FROM blocked WHERE prompt = ? AND gold = ?", key)}

    def keyed(self) -> Iterator[tuple[Key, Example]]:
        """Every example with its key, in first-seen order; ``put`` / ``drop`` while iterating are safe."""
        for page in self._pages("", PAGE):
            for prompt, gold, body in page:
                yield (prompt, gold), pickle.loads(body)

    def _pages(self, where: str, size: int) -> Iterator[list[tuple[str, str, bytes]]]:
        """(prompt, gold, body) rows matching ``where`` in first-seen order, ``size`` a query (each
        page is queried after the last was used, so writes in between are seen, never rows twice)."""
        last = 0
        cond = f"{where} AND" if where else "WHERE"
        while page := self._db.execute(f"SELECT seq, prompt, gold, body FROM example {cond} seq > ? ORDER BY seq "
                                       "LIMIT ?", (last, size)).fetchall():
            last = page[-1][0]
            yield [row[1:] for row in page]

    def prompts(self) -> Iterator[str]:
        """The distinct normalised prompts, sorted by code point (SQLite compares UTF-8 bytes: the same order)."""
        for (prompt,) in self._db.execute("SELECT DISTINCT prompt FROM example ORDER BY prompt"):
            yield prompt

    def count_prompts(self) -> int:
        return self._db.execute("SELECT COUNT(DISTINCT prompt) FROM example").fetchone()[0]

    def hold_out(self, prompts: Iterable[str]) -> None:
        self._db.execute("DELETE FROM held_out")
        self._db.executemany("INSERT INTO held_out VALUES (?)", ((p,) for p in prompts))

    def part(self, held_out: bool | None = None) -> Part:
        """All examples (``None``), or those whose prompt is (not) held out."""
        return Part(self, held_out)


def _held_out_clause(held_out: bool | None) -> str:
    if held_out is None:
        return ""
    return f"WHERE prompt {'' if held_out else 'NOT '}IN (SELECT prompt FROM held_out)"


class Part:
    """Some of a spill's examples, read back a page at a time, as often as needed."""

    def __init__(self, spill: Spill, held_out: bool | None):
        self._spill, self._where = spill, _held_out_clause(held_out)
        self.items, self.negatives = spill._db.execute(
            f"SELECT COUNT(*), COALESCE(SUM(negatives), 0) FROM example {self._where}").fetchone()

    def __len__(self) -> int:
        return self.items

    def chunks(self, size: int) -> Iterator[list[Example]]:
        """The examples in first-seen order, ``size`` at a time."""
        for page in self._spill._pages(self._where, size):
            yield [pickle.loads(body) for _, _, body in page]

    def __iter__(self) -> Iterator[Example]:
        for chunk in self.chunks(PAGE):
            yield from chunk
