"""In-process backend (the default): pools and scorers built once, batches mined in turn."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from nearmiss.mine.backends.base import Batch, index_kind
from nearmiss.mine.base import Proposal

if TYPE_CHECKING:
    from nearmiss.mine.run import Resources
    from nearmiss.store.tables import Item


class LocalBackend:
    def run(self, res: Resources, todo: list[Item]) -> Iterator[Batch]:
        from nearmiss.mine.registry import POOLS, SCORERS

        pools = [POOLS[name](res) for name in res.cfg.pools]
        scorers = [SCORERS[name](res) for name in res.cfg.scorers]
        scored_by, index = {s.name: s.model_name for s in scorers}, index_kind(pools)
        size = res.cfg.batch_size
        for start in range(0, len(todo), size):
            proposals = [Proposal(it) for it in todo[start:start + size]]
            for pool in pools:
                pool.propose(proposals)
            for scorer in scorers:
                scorer.score(proposals)
            yield Batch(proposals, scored_by, index)
