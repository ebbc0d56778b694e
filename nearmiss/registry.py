"""The one registry type: entries of one kind found by name, and the one wording of a name not found."""
from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import TypeVar

from nearmiss.errors import ConfigError, shown

T = TypeVar("T")


class Registry(Mapping[str, T]):
    """Entries by name, in the order given; ``kind`` says what they are (``pool``, ``export format``)."""

    def __init__(self, kind: str, entries: Mapping[str, T]) -> None:
        self.kind, self._entries = kind, dict(entries)

    @staticmethod
    def of_names(kind: str, names: Iterable[str]) -> Registry[str]:
        """A registry of plain choices: each name stands for itself."""
        return Registry(kind, {name: name for name in names})

    def __getitem__(self, name: str) -> T:
        return self._entries[name]

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self._entries  # user data may hold a list where a name belongs

    def __iter__(self) -> Iterator[str]:
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self)})"

    def unknown(self, name: object) -> str:
        """The one wording of a name not registered: ``unknown pool 'x'; expected one of a, b``."""
        return f"unknown {self.kind} {shown(name)}; expected one of {', '.join(self)}"

    def lookup(self, name: object, field: str | None = None) -> T:
        """The entry called ``name``, else a ConfigError in the one wording (after ``field: `` if given)."""
        if not isinstance(name, str) or name not in self._entries:
            raise ConfigError(f"{field}: {self.unknown(name)}" if field else self.unknown(name))
        return self._entries[name]
