"""History: an annotator finds its own decisions by text, dataset, label and date, and
changes one append-only (retraction + new decision), which changes the final label."""
from datetime import timedelta

import pytest
from sqlalchemy import select

from nearmiss.errors import NotFoundError
from nearmiss.label.final_labels import load_final_labels
from nearmiss.label.history import change_decision, history
from nearmiss.label.labels import decide, undo
from nearmiss.store.tables import Label, utcnow
from tests.labeling import add_candidates, users


def test_history_filters_and_change_is_append_only(store):
    quiz = add_candidates(store, 2, per_item=2)
    trivia = add_candidates(store, 1, per_item=2, dataset="trivia")
    ann, bob = users(store, "ann", "bob")
    for n, (cid, lab) in enumerate(zip(quiz + trivia, ["near_miss", "far_miss", "invalid", "skip", "near_miss",
                                                       "far_miss"])):
        decide(store, ann, cid, lab, request_id=f"a{n}", note="50% sure" if n == 1 else None)
    decide(store, bob, quiz[0], "far_miss", request_id="b0")
    undo(store, ann, request_id="u0")  # retracts ann's last (trivia[1])

    assert [r.candidate_id for r in history(store, ann)] == list(reversed(quiz + trivia))
    assert [r.stands for r in history(store, ann)][0] is False
    assert [r.candidate_id for r in history(store, ann, datasets=["trivia"])] == list(reversed(trivia))
    assert [r.label for r in history(store, ann, labels=["far_miss", "skip"])] == ["far_miss", "skip", "far_miss"]
    assert [r.candidate_id for r in history(store, ann, text="QUIZ WRONG 1.1")] == [quiz[3]]
    assert [r.candidate_id for r in history(store, ann, text="50%")] == [quiz[1]]  # comments too; % is literal
    assert history(store, ann, text="wrong_0") == []  # _ is literal too
    today = utcnow().date()
    assert len(history(store, ann, since=today, until=today)) == 6
    assert history(store, ann, until=today - timedelta(days=1)) == []
    assert history(store, bob, text="quiz")[0].candidate_id == quiz[0]

    first = next(r for r in history(store, ann) if r.candidate_id == quiz[0])
    with store.session() as s:
        assert load_final_labels(s, [quiz[0]])[quiz[0]].disputed  # ann near, bob far
    receipt = change_decision(store, ann, first.label_id, "far_miss", request_id="h1", note="on second thought")
    assert receipt.status == "stored"
    assert change_decision(store, ann, first.label_id, "far_miss", request_id="h1").status == "repeat"
    standing = next(r for r in history(store, ann) if r.candidate_id == quiz[0] and r.stands)
    again = change_decision(store, ann, standing.label_id, "far_miss", request_id="h1-again", note="on second thought")
    assert (again.status, again.label_id) == ("passed", standing.label_id)  # saved as it stands: nothing appended
    with store.session() as s:
        assert load_final_labels(s, [quiz[0]])[quiz[0]].label == "far_miss"
        rows = s.execute(select(Label.kind, Label.label, Label.retracts, Label.note).where(
            Label.candidate_id == quiz[0], Label.annotator_id == ann).order_by(Label.id)).tuples().all()
    assert rows == [("decision", "near_miss", None, None), ("retraction", None, first.label_id, None),
                    ("decision", "far_miss", None, "on second thought")]  # the old one retracted, not deleted
    undone = next(r for r in history(store, ann) if r.dataset == "trivia")  # undone ones can be reopened too
    assert not undone.stands
    assert change_decision(store, ann, undone.label_id, "invalid", request_id="h2").status == "stored"
    assert history(store, ann, datasets=["trivia"])[0].label == "invalid"
    with pytest.raises(NotFoundError):
        change_decision(store, bob, first.label_id, "invalid", request_id="h3")  # not bob's decision
