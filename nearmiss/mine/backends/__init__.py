"""Where a mining run's pools and scorers execute: ``local`` (in process, the default; never
imports Ray) or ``ray`` (Ray Data stages on actor pools, locally or on a cluster)."""
from __future__ import annotations

from collections.abc import Callable

from nearmiss.errors import ConfigError
from nearmiss.mine.backends.base import Backend
from nearmiss.mine.backends.local import LocalBackend
from nearmiss.mine.backends.ray_data import RayBackend
from nearmiss.registry import Registry

BACKENDS: Registry[Callable[..., Backend]] = Registry("backend", {
    "local": lambda address=None, actors=1: LocalBackend(),
    "ray": RayBackend,
})


def make_backend(name: str, address: str | None = None, actors: int = 1) -> Backend:
    """The backend called ``name``; ``address`` and ``actors`` are Ray's (a cluster, actors per stage)."""
    make = BACKENDS.lookup(name)
    if name != "ray" and (address is not None or actors != 1):
        raise ConfigError("--address and --actors need --backend ray")
    return make(address=address, actors=actors)
