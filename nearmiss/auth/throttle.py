"""Sign-in throttle, in the memory of one server process. Failures count per (name, address):
after ``free`` of them that pair waits, doubling with each further failure up to ``cap``, so a
stranger guessing a name from their address never makes its owner wait at theirs. Two looser
counters catch the wider attacks: an address failing on many names (``address_free``
failures), and a name failed on from many addresses (more than ``name_addresses``
distinct ones), which then makes every address wait except those that signed in to that name
recently. Failures are forgotten after ``forget`` idle seconds; memory stays under ``max_keys``
records (the oldest go first)."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

Key = tuple[str, str, str]  # ("pair", name, address), ("address", "", address) or ("name", name, "")


@dataclass
class _Record:
    failures: int = 0
    until: float = 0.0  # no attempt before this time
    last: float = 0.0  # the latest failure


@dataclass(frozen=True)
class Failures:
    """Recent failed sign-ins of one name from one address, as the Accounts page lists them."""

    name: str
    address: str
    failures: int
    seconds_ago: float  # since the latest failure
    wait: float  # seconds until this address may try this name again (0: now)


@dataclass
class Throttle:
    """Failed sign-ins per (name, address), per address and per name; see the module docstring."""

    free: int = 3
    address_free: int = 30
    name_addresses: int = 10
    base: float = 1.0
    cap: float = 300.0
    forget: float = 3600.0
    known_for: float = 30 * 86400.0  # an address that signed in to a name stays trusted for it this long
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _records: dict[Key, _Record] = field(default_factory=dict)
    _known: dict[tuple[str, str], float] = field(default_factory=dict)  # (name, address) -> latest success
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _live(self, key: Key, now: float) -> _Record | None:
        r = self._records.get(key)
        if r is not None and now - r.last > self.forget and r.until <= now:
            del self._records[key]
            return None
        return r

    def _known_at(self, name: str, address: str, now: float) -> bool:
        return now - self._known.get((name, address), -self.known_for - 1) <= self.known_for

    def wait(self, name: str, address: str) -> float:
        """Seconds until ``name`` may try again from ``address`` (0: now)."""
        now = self.clock()
        with self._lock:
            keys: list[Key] = [("pair", name, address), ("address", "", address)]
            if not self._known_at(name, address, now):
                keys.append(("name", name, ""))
            return max([r.until - now for k in keys if (r := self._live(k, now))] + [0.0])

    def _count(self, key: Key, free: int, now: float) -> _Record:
        r = self._records.setdefault(key, _Record())
        r.failures, r.last = r.failures + 1, now
        if r.failures > free:
            r.until = now + min(self.cap, self.base * 2 ** (r.failures - free - 1))
        return r

    def _bound(self, now: float) -> None:
        if len(self._records) < self.max_keys:
            return
        self._records = {k: r for k, r in self._records.items() if now - r.last <= self.forget or r.until > now}
        for k in sorted(self._records, key=lambda k: self._records[k].last)[:len(self._records) - self.max_keys * 9 // 10]:
            del self._records[k]

    def failed(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            self._bound(now)
            new_address = self._live(("pair", name, address), now) is None
            self._count(("pair", name, address), self.free, now)
            self._count(("address", "", address), self.address_free, now)
            if new_address:  # the name counts distinct failing addresses
                self._count(("name", name, ""), self.name_addresses, now)

    def succeeded(self, name: str, address: str) -> None:
        now = self.clock()
        with self._lock:
            self._records.pop(("pair", name, address), None)
            self._known.pop((name, address), None)
            self._known[(name, address)] = now
            while len(self._known) > self.max_keys:
                del self._known[next(iter(self._known))]

    def failures(self, limit: int = 20) -> list[Failures]:
        """The (name, address) pairs with recent failures, most failures first."""
        now = self.clock()
        with self._lock:
            pairs = [(k, r) for k in list(self._records) if k[0] == "pair" and (r := self._live(k, now))]
        pairs.sort(key=lambda kr: (-kr[1].failures, now - kr[1].last))
        return [Failures(k[1], k[2], r.failures, now - r.last, max(0.0, r.until - now)) for k, r in pairs[:limit]]
