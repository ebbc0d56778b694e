"""Labels on SQLite and PostgreSQL: append-only decisions, idempotent requests, undo as
retraction over the last 10, adjudication by admins only, final labels."""
import threading

import pytest
from sqlalchemy import func, select

from nearmiss.errors import ConfigError, NotFoundError, PermissionDenied
from nearmiss.label.final_labels import load_final_labels
from nearmiss.label.labels import (
    UNDO_DEPTH,
    adjudicate,
    decide,
    final_sources,
    recent_decisions,
    settled_by,
    undo,
    votes,
)
from nearmiss.store.tables import Label
from tests.labeling import add_candidates, users


def _finals(store) -> dict:
    with store.session() as s:
        return load_final_labels(s)


def _rows(store) -> list[tuple]:
    with store.session() as s:
        return s.execute(select(Label.kind, Label.candidate_id, Label.annotator_id, Label.label, Label.retracts)
                         .order_by(Label.id)).tuples().all()


def test_a_request_sent_twice_is_stored_once(store):
    (cid, *_), (ann,) = add_candidates(store, 1), users(store, "ann")
    first = decide(store, ann, cid, "near_miss", request_id="r1")
    again = decide(store, ann, cid, "far_miss", request_id="r1")
    assert first.status == "stored" and again.status == "repeat"
    assert again.label_id == first.label_id and again.label == "near_miss"
    assert _rows(store) == [("decision", cid, ann, "near_miss", None)]


def test_second_decision_is_refused_until_undone(store):
    (cid, *_), (ann,) = add_candidates(store, 1), users(store, "ann")
    decide(store, ann, cid, "near_miss", request_id="r1")
    refused = decide(store, ann, cid, "far_miss", request_id="r2")
    assert refused.status == "refused" and "undo" in refused.reason
    assert undo(store, ann, request_id="u1").candidate_id == cid
    assert decide(store, ann, cid, "far_miss", request_id="r3").status == "stored"
    kinds = [r[0] for r in _rows(store)]
    assert kinds == ["decision", "retraction", "decision"]
    assert [v.label for v in votes(store)] == ["far_miss"]


def test_undo_walks_back_through_the_last_ten_only(store):
    cands, (ann,) = add_candidates(store, 4, per_item=3), users(store, "ann")
    for n, cid in enumerate(cands):  # 12 decisions
        decide(store, ann, cid, "far_miss", request_id=f"d{n}")
    undone = [undo(store, ann, request_id=f"u{n}") for n in range(UNDO_DEPTH + 1)]
    assert [u.candidate_id for u in undone[:UNDO_DEPTH]] == cands[::-1][:UNDO_DEPTH]
    assert undone[-1].status == "refused" and "last 10" in undone[-1].reason
    assert undo(store, ann, request_id="u0").status == "repeat"  # a resent undo retracts nothing more
    assert sorted(v.candidate_id for v in votes(store)) == sorted(cands[:2])
    assert [r.active for r in recent_decisions(store, ann)] == [False] * UNDO_DEPTH


def test_bad_label_or_candidate_writes_nothing(store):
    (cid, *_), (ann,) = add_candidates(store, 1), users(store, "ann")
    with pytest.raises(ConfigError, match="unknown label 'nearish'"):
        decide(store, ann, cid, "nearish", request_id="r1")
    with pytest.raises(NotFoundError):
        decide(store, ann, "nope", "near_miss", request_id="r2")
    with pytest.raises(NotFoundError):
        decide(store, 999, cid, "near_miss", request_id="r3")
    assert _rows(store) == []


def test_only_admins_adjudicate_and_adjudication_is_final(store):
    (cid, *_), (ann, bob), (boss,) = add_candidates(store, 1), users(store, "ann", "bob"), users(store, "boss",
                                                                                                 role="admin")
    decide(store, ann, cid, "near_miss", request_id="a")
    decide(store, bob, cid, "far_miss", request_id="b")
    assert settled_by(_finals(store)[cid]) == "tie" and _finals(store)[cid].label is None
    with pytest.raises(PermissionDenied, match="for admins"):
        adjudicate(store, ann, cid, "near_miss", request_id="x")
    assert len(_rows(store)) == 2
    adjudicate(store, boss, cid, "far_miss", request_id="y")
    final = _finals(store)[cid]
    assert (final.label, settled_by(final), final.votes) == ("far_miss", "adjudication", {"near_miss": 1, "far_miss": 1})
    undo(store, boss, request_id="z", kind="adjudication")
    assert settled_by(_finals(store)[cid]) == "tie"


def test_final_label_is_the_majority_of_standing_votes(store):
    (c1, c2, *_), names = add_candidates(store, 1), users(store, "a", "b", "c")
    for ann, lab in zip(names, ["near_miss", "near_miss", "far_miss"]):
        decide(store, ann, c1, lab, request_id=f"{ann}-1")
    decide(store, names[0], c2, "skip", request_id="s")
    decide(store, names[1], c2, "invalid", request_id="i")
    finals = _finals(store)
    assert (finals[c1].label, settled_by(finals[c1])) == ("near_miss", "majority")
    assert finals[c2].votes == {"invalid": 1}  # a skip does not vote
    undo(store, names[1], request_id="undo-b")  # b's latest: c2 invalid
    undo(store, names[1], request_id="undo-b2")  # then c1 near_miss -> 1:1 tie
    finals = _finals(store)
    assert settled_by(finals[c2]) is None and settled_by(finals[c1]) == "tie"
    assert final_sources(store) == {"tie": 1} and final_sources(store, datasets=("other",)) == {}


def test_concurrent_resends_and_two_tabs_store_one_decision(store):
    (cid, *_), (ann,) = add_candidates(store, 1), users(store, "ann")
    start = threading.Barrier(8)
    receipts = []

    def press(n: int) -> None:
        start.wait()
        receipts.append(decide(store, ann, cid, "near_miss", request_id=f"r{n % 2}"))

    threads = [threading.Thread(target=press, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(r.status for r in receipts).count("stored") == 1
    with store.session() as s:
        assert s.scalar(select(func.count()).select_from(Label)) == 1
