"""The interface of a mining backend: scored batches of proposals, in any order, each once."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from nearmiss.mine.base import Proposal

if TYPE_CHECKING:
    from nearmiss.mine.run import Resources
    from nearmiss.store.tables import Item


@dataclass
class Batch:
    """Proposals whose candidates every pool proposed and every scorer scored."""

    proposals: list[Proposal]
    scored_by: dict[str, str]  # scorer name -> model name
    index: str | None = None  # the neighbour index kind, when the neighbours pool ran


class Backend(Protocol):
    """Runs ``res.cfg``'s pools and scorers over ``todo``; the caller writes each batch."""

    def run(self, res: Resources, todo: list[Item]) -> Iterator[Batch]: ...


def index_kind(pools: list) -> str | None:
    """The neighbour index kind among ``pools`` (None without the neighbours pool)."""
    return next((p.kind for p in pools if hasattr(p, "kind")), None)
