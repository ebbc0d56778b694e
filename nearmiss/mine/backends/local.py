"""In-process backend (the default): pools and scorers built once, batches mined in turn."""
from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING

from nearmiss.mine.backends.base import Batch, index_kind
from nearmiss.mine.base import Proposal

if TYPE_CHECKING:
    from nearmiss.mine.run import Resources
    from nearmiss.store.tables import Item


SUB_BATCHES = 4  # each pool and scorer takes a batch in this many parts, reporting after each


class LocalBackend:
    def run(self, res: Resources, todo: list[Item]) -> Iterator[Batch]:
        from nearmiss.mine.registry import POOLS, SCORERS

        res.report.stage("loading pools and scorers")
        pools = [POOLS[name](res) for name in res.cfg.pools]
        scorers = [SCORERS[name](res) for name in res.cfg.scorers]
        scored_by, index = {s.name: s.model_name for s in scorers}, index_kind(pools)
        steps = ([(f"proposing from the {p.name} pool", p.propose) for p in pools]
                 + [(f"scoring with the {s.name} scorer ({s.model_name})", s.score) for s in scorers])
        size, units = res.cfg.batch_size, len(todo) * len(steps)  # a unit: one item through one step
        batches = -(-len(todo) // size)
        for b, start in enumerate(range(0, len(todo), size)):
            proposals = [Proposal(it) for it in todo[start:start + size]]
            part = -(-len(proposals) // SUB_BATCHES)
            for k, (doing, step) in enumerate(steps):
                before = start * len(steps) + k * len(proposals)  # units done before this step
                res.report.stage(f"batch {b + 1} of {batches}: {doing}" if batches > 1 else doing, len(proposals))
                for at in range(0, len(proposals), part):
                    step(proposals[at:at + part])
                    done = min(at + part, len(proposals))
                    res.report.count(done, progress=(before + done) / units)
            yield Batch(proposals, scored_by, index)
