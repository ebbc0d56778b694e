"""Desks: a press is taken only for the candidate on screen, a resent press is stored
once, undo puts the undone candidate back on screen; the review desk adjudicates open
disagreements by key."""
from sqlalchemy import select

from curator.labeling.desk import LabelDesk, Press, ReviewDesk
from curator.labeling.final_labels import load_final_labels
from curator.labeling.labels import decide, settled_by
from curator.labeling.queue import QueueConfig, set_overlap
from curator.store.tables import Label
from tests.labeling import add_candidates, users


def _settled(store, cid: str) -> str | None:
    with store.session() as s:
        return settled_by(load_final_labels(s, [cid])[cid])


def _labels(store) -> list[tuple]:
    with store.session() as s:
        return s.execute(select(Label.kind, Label.candidate_id, Label.label).order_by(Label.id)).tuples().all()


def test_label_desk_takes_keys_only_for_the_candidate_on_screen(sqlite_store):
    store = sqlite_store
    add_candidates(store, 2)
    (ann,) = users(store, "ann")
    desk = LabelDesk(store, ann, QueueConfig(order="nearness"))
    first = desk.current()
    assert desk.view()["id"] == first and desk.view()["choices"][desk.view()["gold"]] == "quiz right 1"

    stored = desk.press(Press(first, "near_miss", "k1"))
    second = desk.current()
    assert stored.status == "stored" and second != first
    late = desk.press(Press(first, "far_miss", "k2"))  # a key sent for a card no longer on screen
    assert late.status == "refused" and "no longer on screen" in late.reason
    assert desk.press(Press(first, "near_miss", "k1")).status == "repeat"  # a resend of the first key
    assert desk.current() == second
    assert _labels(store) == [("decision", first, "near_miss")]

    undone = desk.press(Press(second, "undo", "k3"))
    assert (undone.status, undone.candidate_id, desk.current()) == ("stored", first, first)
    desk.press(Press(first, "invalid", "k4"))
    assert desk.current() == second
    assert [r[0] for r in _labels(store)] == ["decision", "retraction", "decision"]

    desk.configure(QueueConfig(order="nearness", datasets=("other",)))
    assert desk.current() is None and desk.view() is None
    assert desk.press(Press(second, "far_miss", "k5")).status == "refused"


def test_review_desk_adjudicates_disagreements_by_key(sqlite_store):
    store = sqlite_store
    cands = add_candidates(store, 1)
    ann, bob = users(store, "ann", "bob")
    (boss,) = users(store, "boss", role="admin")
    set_overlap(store, boss, "quiz", 2)
    for cid in cands[:2]:
        decide(store, ann, cid, "near_miss", request_id=f"a{cid}")
        decide(store, bob, cid, "far_miss", request_id=f"b{cid}")
    desk = ReviewDesk(store, boss)
    first = desk.current()
    assert desk.view()["votes"] == {"ann": "near_miss", "bob": "far_miss"}
    assert desk.press(Press(first, "skip", "r1")).status == "passed"
    second = desk.current()
    assert second not in (first, None)
    assert desk.press(Press(second, "far_miss", "r2")).status == "stored"
    assert desk.current() == first  # nothing else open: the skipped one comes round again
    assert _settled(store, second) == "adjudication"
    assert desk.press(Press(None, "undo", "r3")).candidate_id == second
    assert desk.current() == second and _settled(store, second) == "tie"
