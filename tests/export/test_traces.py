"""Exports of labeled agent traces: NAT trajectories with loss flags and markers, hindsight
relabeled pairs (hir) with a configurable template, TRL conversational preference and KTO
with whole conversations, and the first wrong step annotators marked."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from nearmiss.errors import ConfigError
from nearmiss.export import ExportConfig, export
from nearmiss.export.files import read_rows
from nearmiss.export.formats.rows import clean_turns
from nearmiss.label.labels import decide
from nearmiss.lm.prompts import NAT_CORRECT, NAT_INCORRECT
from nearmiss.store.tables import Candidate, Item
from tests.labeling import users
from tests.traces import add_traces, trace_rows

TEMPLATE = "Goal (relabeled): {task}\nReached: {answer}"


@pytest.fixture(scope="module")
def traced(tmp_path_factory):
    """Three tasks; t0's failure voted near-miss with first wrong steps 2, 4, 2; t1's far-miss
    without a step; t2's actually correct (never exported)."""
    from nearmiss.store import Store

    store = Store(f"sqlite:///{tmp_path_factory.mktemp('traces')}/t.db")
    tasks: dict[str, str] = {}
    add_traces(store, 3)
    ann, bob, cat = users(store, "ann", "bob", "cat")
    with store.session() as s:
        pairs = s.query(Candidate, Item).join(Item, Item.id == Candidate.item_id).all()
        failed = {item.native_id: c.id for c, item in pairs}
        tasks.update({item.id: item.native_id for _, item in pairs})
    for who, step in ((ann, 2), (bob, 4), (cat, 2)):
        decide(store, who, failed["t0"], "near_miss", request_id=f"t0-{who}", first_wrong_step=step)
    decide(store, ann, failed["t1"], "far_miss", request_id="t1")
    decide(store, ann, failed["t2"], "actually_correct", request_id="t2")
    rows = {r["id"]: r for r in trace_rows(3)}
    return store, failed, rows, tasks


def _rows(out: Path) -> list[dict]:
    manifest = json.loads((out / "manifest.json").read_text())
    return [r for rel in manifest["tables"] for r in read_rows(out / rel)]


@pytest.mark.parametrize("parquet", [False, True])
def test_nat_trajectories_carry_markers_loss_flags_and_first_wrong_step(traced, tmp_path, parquet):
    store, failed, source, tasks = traced
    manifest = export(store, ExportConfig(format="nat", out=tmp_path / "nat", val_fraction=0.0, parquet=parquet))
    assert list(manifest["tables"]) == [f"train.{'parquet' if parquet else 'jsonl'}"]  # one table: by split
    rows = {(r["item_id"], r["correct"]): r for r in _rows(tmp_path / "nat")}
    assert len(rows) == 4 and manifest["selection"]["by_label"] == {"far_miss": 1, "near_miss": 1}
    for (item, correct), row in rows.items():
        task = tasks[item]
        turns = row["messages"]
        assert [m["role"] for m in turns] == ["system", "user", "assistant", "tool", "assistant"]
        assert [m["loss"] for m in turns] == [False, False, True, False, True]
        marker = NAT_CORRECT if correct else NAT_INCORRECT
        assert turns[1]["content"] == f"{marker}\n{source[task + '-ok']['task']}"
        assert turns[2]["tool_calls"][0]["function"]["name"] == "calc"
        if not correct:
            original = source[f"{task}-bad"]["messages"]
            assert [m["content"] for m in turns[2:]] == [m["content"] for m in original[2:]]
            assert row["first_wrong_step"] == {"t0": 2, "t1": None}[task]


def test_hir_relabels_failures_with_the_template_and_keeps_successes(traced, tmp_path):
    store, failed, source, tasks = traced
    export(store, ExportConfig(format="hir", out=tmp_path / "hir", val_fraction=0.0, hir_template=TEMPLATE))
    rows = _rows(tmp_path / "hir")
    by_cid = {r["candidate_id"]: r for r in rows}
    assert sorted(r["relabeled"] for r in rows) == [False, False, True, True]
    for task in ("t0", "t1"):
        bad = source[f"{task}-bad"]["messages"]
        row = by_cid[failed[task]]
        assert row["messages"][1]["content"] == TEMPLATE.format(task=bad[1]["content"], answer=bad[-1]["content"])
        assert row["messages"][2:] == clean_turns(bad[2:]) and row["messages"][0] == bad[0]
    gold = [r for r in rows if not r["relabeled"]]
    assert {r["messages"][-1]["content"] for r in gold} == {source[f"{t}-ok"]["messages"][-1]["content"]
                                                           for t in ("t0", "t1")}
    assert all(r["messages"][1]["content"] == r["instruction"] for r in gold)
    assert by_cid[failed["t0"]]["first_wrong_step"] == 2


def test_conversational_preference_and_kto_keep_whole_conversations(traced, tmp_path):
    store, failed, source, tasks = traced
    export(store, ExportConfig(format="dpo", style="conversational", out=tmp_path / "dpo", val_fraction=0.0))
    for row in _rows(tmp_path / "dpo"):
        task = tasks[row["item_id"]]
        ok, bad = source[f"{task}-ok"]["messages"], source[f"{task}-bad"]["messages"]
        assert row["prompt"] == clean_turns(bad[:2])
        assert row["chosen"] == clean_turns(ok[2:]) and row["rejected"] == clean_turns(bad[2:])
    export(store, ExportConfig(format="kto", style="conversational", out=tmp_path / "kto", val_fraction=0.0))
    kto = _rows(tmp_path / "kto")
    assert sorted(r["label"] for r in kto) == [False, False, True, True]
    assert all(len(r["completion"]) == 3 and r["completion"][1]["role"] == "tool" for r in kto)


def test_a_template_without_both_fields_is_refused(tmp_path):
    with pytest.raises(ConfigError, match=r"hir_template.*\{task\} and \{answer\}"):
        ExportConfig(format="hir", out=tmp_path / "x", hir_template="Say {answer}")
