"""Labeling a failed trace: the card carries both conversations, and the first wrong step
is stored with the decision only when it names an assistant message and goes with a
negative label."""
from sqlalchemy import select

from nearmiss.label.desk import LabelDesk, Press
from nearmiss.label.queue import QueueConfig
from nearmiss.store.tables import Label
from tests.labeling import users
from tests.traces import add_traces


def test_trace_card_and_first_wrong_step(sqlite_store):
    store = sqlite_store
    add_traces(store, 2)
    (ann,) = users(store, "ann")
    desk = LabelDesk(store, ann, QueueConfig(order="nearness"))
    card = desk.view()
    assert card["kind"] == "trace" and "origin" not in card  # origins only where an admin shows them
    assert [m["role"] for m in card["messages"]] == ["system", "user", "assistant", "tool", "assistant"]
    assert card["messages"][2]["content"].startswith("I will add") and card["messages"][2]["tool_calls"]
    assert card["reference"][1]["content"] == card["question"] and card["reference"][3]["role"] == "tool"
    assert card["reference"][-1]["content"] != card["messages"][-1]["content"]

    first = card["id"]
    for step, action, why in [(1, "near_miss", "a user message"), (9, "near_miss", "not a message of this trace"),
                              (2, "actually_correct", "goes with near_miss or far_miss"),
                              ("2", "near_miss", "must be a message index")]:
        receipt = desk.press(Press(first, action, f"r-{step}-{action}", step))
        assert receipt.status == "refused" and why in receipt.reason, receipt
    assert desk.current() == first  # nothing stored, the card stays
    assert desk.press(Press(first, "far_miss", "ok", 2)).status == "stored"
    assert desk.press(Press(first, "far_miss", "ok", 2)).status == "repeat"
    second = desk.current()
    assert desk.press(Press(second, "near_miss", "ok2")).status == "stored"  # the step is optional
    with store.session() as s:
        rows = s.execute(select(Label.candidate_id, Label.label, Label.first_wrong_step).order_by(Label.id)).all()
    assert [tuple(r) for r in rows] == [(first, "far_miss", 2), (second, "near_miss", None)]


def test_unscored_candidates_are_served_in_every_order(sqlite_store):
    add_traces(sqlite_store, 1)  # loaded, not mined: no nearness yet
    (ann,) = users(sqlite_store, "ann")
    for order in ("uncertain", "nearness", "random"):
        assert LabelDesk(sqlite_store, ann, QueueConfig(order=order)).current() is not None
