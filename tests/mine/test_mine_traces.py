"""Mining trace tasks: failed traces are scored by embedding (final answer against the
successful trace's final answer and the task) and LM likelihood (final answer given the
task), ranked, and keep their conversations; neighbours proposes other tasks' answers."""
from sqlalchemy import select

from nearmiss.mine.run import MineConfig, mine
from nearmiss.store.tables import Candidate
from tests.traces import add_traces


def test_failed_traces_and_neighbours_are_mined_on_trace_items(sqlite_store):
    add_traces(sqlite_store, 3)
    result = mine(sqlite_store, MineConfig(dataset="agent", pools=("failed_traces", "neighbours"),
                                           scorers=("embedding", "lm")), progress=False)
    assert result.items_mined == 3
    with sqlite_store.session() as s:
        cands = s.scalars(select(Candidate)).all()
    failed = [c for c in cands if c.origin == "failed_trace"]
    assert len(failed) == 3 and all(c.messages and c.messages[-1]["content"] == c.text for c in failed)
    assert {c.origin for c in cands} == {"failed_trace", "neighbour"}
    for c in cands:
        assert c.nearness is not None and c.suggested in ("near_miss", "far_miss"), c.scores
        assert {"sim_gold", "sim_question", "lp_sum", "lp_token"} <= set(c.scores), c.scores
