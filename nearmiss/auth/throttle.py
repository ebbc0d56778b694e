"""Sign-in throttle: after a few failures, a name (or a client) must wait before its next
attempt, doubling with each further failure up to a cap; a success clears the name."""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class _Record:
    failures: int = 0
    until: float = 0.0


@dataclass
class Throttle:
    """Failures per key (``user:NAME``, ``client:ADDRESS``) kept in memory, in one server process.

    ``free`` failures are allowed at once; the n-th failure beyond them blocks that key for
    ``base * 2**(n-1)`` seconds, at most ``cap``. A client gets ``client_factor`` times as many
    free failures as a name (one client may hold several accounts)."""

    free: int = 3
    base: float = 1.0
    cap: float = 300.0
    client_factor: int = 3
    max_keys: int = 10_000
    clock: Callable[[], float] = time.monotonic
    _records: dict[str, _Record] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _keys(self, name: str, client: str) -> list[tuple[str, int]]:
        return [(f"user:{name}", self.free), (f"client:{client}", self.free * self.client_factor)]

    def wait(self, name: str, client: str) -> float:
        """Seconds until ``name`` may try again from ``client`` (0: now)."""
        now = self.clock()
        with self._lock:
            return max([r.until - now for k, _ in self._keys(name, client) if (r := self._records.get(k))] + [0.0])

    def failed(self, name: str, client: str) -> None:
        now = self.clock()
        with self._lock:
            if len(self._records) >= self.max_keys:  # memory stays bounded under a spray of names
                self._records = {k: r for k, r in self._records.items() if r.until > now}
            for key, free in self._keys(name, client):
                r = self._records.setdefault(key, _Record())
                r.failures += 1
                if r.failures > free:
                    r.until = now + min(self.cap, self.base * 2 ** (r.failures - free - 1))

    def succeeded(self, name: str, client: str) -> None:
        with self._lock:
            self._records.pop(f"user:{name}", None)
