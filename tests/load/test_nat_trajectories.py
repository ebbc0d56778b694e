"""NAT's own trajectory files (Reason-Wang/NAT ``data/dataset/<task>/*_{positive,negative}.json``
shape): outcomes from ``info``, gold from ``info.gt``, tasks grouped by ``id``, loss flags
kept through mining, labeling and a ``nat`` export that loads back to the same items and
candidates. The same nesting on OpenAI and ShareGPT rows."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlalchemy import select

from nearmiss.export import ExportConfig, export
from nearmiss.export.files import read_rows
from nearmiss.label.labels import decide
from nearmiss.lm.prompts import NAT_CORRECT, NAT_INCORRECT
from nearmiss.load.run import load_source
from nearmiss.mine.run import MineConfig, mine
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Item
from tests.labeling import users


def _turn(role: str, content: str) -> dict:
    return {"role": role, "content": content, "loss": role == "assistant"}


def nat_rows() -> list[dict]:
    """Task ``sqa1`` as NAT releases it (the agent opens, observations come as user turns, a
    boolean gt); task ``gsm2`` with its question as the first user turn and a numeric gt. Each
    task: one successful and two or three failed trajectories sharing the id (two ending in
    the same answer, kept apart); one row has no outcome
    and one an empty conversation (NAT's negative files have both)."""
    def sqa(answer: str, loss_on_obs: bool = False, query: str = "Genghis Khan descendants") -> list[dict]:
        return [_turn("assistant", f"Thought: look it up.\nAction: search[{query}]"),
                {**_turn("user", "Observation: #1 Genghis Khan had sixteen children."), "loss": loss_on_obs},
                _turn("assistant", f"Thought: decide.\nAction: finish[{answer}]"),
                _turn("user", "Observation: Episode finished")]

    def gsm(answer: str) -> list[dict]:
        return [_turn("user", "Tom has 6 boxes of 7 apples. How many apples?"),
                _turn("assistant", f"6 * 7 = {answer}. Action: finish[{answer}]")]

    def row(task: str, conv: list[dict], info: dict) -> dict:
        return {"id": task, "conversations": conv, "info": info, "source": "0.5"}

    return [row("sqa1", sqa("Yes"), {"reward": True, "acc": True, "gt": True, "pred": "Yes"}),
            row("sqa1", sqa("No", loss_on_obs=True), {"reward": False, "acc": False, "gt": True, "pred": "No"}),
            row("sqa1", sqa("Unclear"), {"reward": False, "acc": False, "gt": True, "pred": "Unclear"}),
            row("sqa1", sqa("No", query="Julius Caesar children"), {"reward": False, "acc": False, "gt": True,
                                                                     "pred": "No"}),  # same answer, other path
            row("gsm2", gsm("42"), {"reward": True, "acc": True, "gt": "42", "pred": "42"}),
            row("gsm2", gsm("13"), {"reward": False, "acc": False, "gt": "42", "pred": "13"}),
            row("gsm2", gsm("67"), {"acc": False, "gt": "42", "pred": "67"}),  # no reward: acc decides
            row("gsm2", gsm("48"), {"gt": "42", "pred": "48"}),  # no outcome at all
            row("sqa1", [], {"reward": False, "gt": True})]  # empty trajectory


SHAPES = {  # the same rows as OpenAI messages and as ShareGPT turns
    "nat": lambda r: r,
    "openai": lambda r: {**{k: v for k, v in r.items() if k != "conversations"}, "messages": r["conversations"]},
    "sharegpt": lambda r: {**r, "conversations": [{"from": {"user": "human", "assistant": "gpt"}[m["role"]],
                                                   "value": m["content"], "loss": m["loss"]}
                                                  for m in r["conversations"]]},
}


def _write(path: Path, shape: str) -> Path:
    path.write_text(json.dumps([SHAPES[shape](r) for r in nat_rows()], indent=1), encoding="utf-8")
    return path


def _items(store: Store, dataset: str) -> dict[str, Item]:
    with store.session() as s:
        return {i.native_id: i for i in s.scalars(select(Item).where(Item.dataset == dataset))}


def _candidates(store: Store, dataset: str) -> dict[tuple[str, str, str], Candidate]:
    """Candidates by (task, answer, search query of the trajectory)."""
    with store.session() as s:
        rows = s.execute(select(Item.native_id, Candidate).join(Item, Item.id == Candidate.item_id)
                         .where(Item.dataset == dataset)).all()
    return {(nid, c.text, _without_marker(c.messages)[0]["content"]): c for nid, c in rows}


def _without_marker(messages: list[dict]) -> list[dict]:
    """An exported trajectory as loaded: NAT's marker line (and the task turn it added) removed."""
    out = []
    for m in messages:
        for marker in (NAT_CORRECT, NAT_INCORRECT):
            if m["role"] == "user" and m["content"].startswith(marker.strip() + "\n"):
                m = {**m, "content": m["content"][len(marker.strip()) + 1:]}
                break
        out.append(m)
    return [m for m in out if not m["content"].startswith("Task ")]


def test_nat_file_loads_tasks_failed_candidates_and_gold_from_info(cli, tmp_path, sqlite_url):
    path = _write(tmp_path / "sqa_gpt-3.5_negative.json", "nat")
    done = cli("load", str(path), "--format", "nat", db=sqlite_url)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == (
        f"{path}: read 9, added 2 items (0 updated) and 6 candidates, 1 without an outcome (stored as candidates "
        "to label); traces: 2 successful, 5 failed; 1 have an empty conversation (skipped)")
    store = Store(sqlite_url)
    items, cands = _items(store, path.stem), _candidates(store, path.stem)
    rows = nat_rows()
    assert {k: (i.question, i.answer, i.messages) for k, i in items.items()} == {
        "sqa1": ("Task sqa1 (no task text in the file)", "Yes", rows[0]["conversations"]),
        "gsm2": (rows[4]["conversations"][0]["content"], "42", rows[4]["conversations"])}
    by_answer = {(k[0], k[1]): c for k, c in cands.items()}
    assert sorted((k[0], k[1], c.origin) for k, c in cands.items()) == [
        ("gsm2", "13", "failed_trace"), ("gsm2", "48", "given"), ("gsm2", "67", "failed_trace"),
        ("sqa1", "No", "failed_trace"), ("sqa1", "No", "failed_trace"), ("sqa1", "Unclear", "failed_trace")]
    assert by_answer[("gsm2", "48")].meta["outcome"] == "unknown"
    assert sorted([m["loss"] for m in c.messages] for k, c in cands.items() if k[1] == "No") == [
        [True, False, True, False], [True, True, True, False]]  # kept as given
    again = cli("load", str(path), "--format", "nat", db=sqlite_url)
    assert "added 0 items (0 updated) and 0 candidates" in again.stdout
    assert "; 8 repeat" in again.stdout  # every row accounted for
    store.dispose()


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_mined_labeled_nat_export_round_trips(tmp_path, shape):
    store = Store(f"sqlite:///{tmp_path / 's.db'}")
    source = _write(tmp_path / f"agent_{shape}.json", shape)
    first = load_source(store, str(source), name="agent")
    assert (first.items_added, first.candidates_added, first.rows["unknown"]) == (2, 6, 1)
    mined = mine(store, MineConfig(dataset="agent", pools=("failed_traces",), scorers=("embedding",)), progress=False)
    assert mined.items_mined == 2
    ann, = users(store, "ann")
    cands = _candidates(store, "agent")
    for n, ((task, text, _), c) in enumerate(cands.items()):
        label = "actually_correct" if c.origin == "given" else ("near_miss" if text in ("No", "13") else "far_miss")
        decide(store, ann, c.id, label, request_id=f"{task}-{n}")
    export(store, ExportConfig(format="nat", out=tmp_path / "nat", val_fraction=0.0))
    out = tmp_path / "nat" / "train.jsonl"
    rows = read_rows(out)
    assert sorted((r["id"], r["info"]["pred"], r["correct"]) for r in rows) == [
        ("gsm2", "13", False), ("gsm2", "42", True), ("gsm2", "67", False),
        ("sqa1", "No", False), ("sqa1", "No", False), ("sqa1", "Unclear", False), ("sqa1", "Yes", True)]
    items = _items(store, "agent")
    for r in rows:  # each trajectory's messages and loss flags, with NAT's marker in front of the task
        loaded = _without_marker(r["messages"])
        key = (r["id"], r["info"]["pred"], loaded[0]["content"])
        stored = items[r["id"]].messages if r["correct"] else cands[key].messages
        assert r["messages"][0]["content"].startswith((NAT_CORRECT if r["correct"] else NAT_INCORRECT).strip())
        assert loaded == stored

    back = load_source(store, str(out), name="agent-back")
    assert (back.read, back.items_added, back.candidates_added, back.rows["unknown"]) == (7, 2, 5, 0)
    before, after = _items(store, "agent"), _items(store, "agent-back")
    assert {k: (i.question, i.answer) for k, i in after.items()} == {
        k: (i.question, i.answer) for k, i in before.items()}
    exported = {k: c for k, c in cands.items() if c.origin == "failed_trace"}
    reloaded = _candidates(store, "agent-back")
    assert set(reloaded) == set(exported) and all(c.origin == "failed_trace" for c in reloaded.values())
    for key, c in reloaded.items():
        assert _without_marker(c.messages) == exported[key].messages
    store.dispose()
