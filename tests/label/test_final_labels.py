"""Final labels from append-only Label rows written through a real store."""
import pytest
from sqlalchemy import select

from nearmiss.label.final_labels import FROM_OUTCOME, OUTCOME_LABEL, final_labels, load_final_labels
from nearmiss.label.labels import settled_by
from nearmiss.load.ingest import ingest
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, ItemRecord, candidate_id
from nearmiss.store.tables import Annotator, Label


@pytest.fixture(scope="module")
def accounts(tmp_path_factory):
    """A SQLite store with four accounts, shared by the tests of this module."""
    store = Store(f"sqlite:///{tmp_path_factory.mktemp('labels') / 'x.db'}")
    with store.session() as s:
        users = [Annotator(name=f"u{k}", role="annotator", password_hash="-") for k in range(4)]
        s.add_all(users)
        s.flush()
        ids = [u.id for u in users]
    yield store, ids
    store.dispose()


@pytest.fixture
def one_candidate(accounts, request):
    """A fresh item with one candidate; yields (store, candidate id, [user ids])."""
    store, users = accounts
    item = ItemRecord(dataset="t", split="s", native_id=request.node.name, kind="qa", question="2+2?", answer="4",
                      candidates=[CandidateRecord("5", "manual")])
    ingest(store, [item])
    return store, candidate_id(item.id, "5"), users


def write(store, cid, rows):
    """Insert (annotator, kind, label, index of the retracted row in `rows`) and return the final label."""
    ids = []
    with store.session() as s:
        for who, kind, label, target in rows:
            row = Label(candidate_id=cid, annotator_id=who, kind=kind, label=label,
                        retracts=ids[target] if target is not None else None)
            s.add(row)
            s.flush()
            ids.append(row.id)
    with store.session() as s:
        return load_final_labels(s, [cid]).get(cid)


def test_majority_of_current_votes_with_a_changed_mind(one_candidate):
    store, cid, (a, b, c, _) = one_candidate
    fl = write(store, cid, [(a, "decision", "far_miss", None), (b, "decision", "near_miss", None),
                            (c, "decision", "far_miss", None), (a, "decision", "near_miss", None)])
    assert (fl.label, fl.annotators, fl.votes, fl.adjudicated) == ("near_miss", 3, {"near_miss": 2, "far_miss": 1}, False)
    assert fl.agreement == pytest.approx(2 / 3)


def test_retraction_restores_the_annotators_previous_decision(one_candidate):
    store, cid, (a, b, _, _) = one_candidate
    fl = write(store, cid, [(a, "decision", "near_miss", None), (a, "decision", "invalid", None),
                            (a, "retraction", None, 1), (b, "decision", "near_miss", None)])
    assert (fl.label, fl.annotators, fl.agreement) == ("near_miss", 2, 1.0)


def test_tie_is_disputed_and_skip_is_no_vote(one_candidate):
    store, cid, (a, b, c, _) = one_candidate
    fl = write(store, cid, [(a, "decision", "near_miss", None), (b, "decision", "far_miss", None),
                            (c, "decision", "skip", None)])
    assert fl.label is None and fl.disputed and fl.annotators == 2


def test_adjudication_overrides_the_majority(one_candidate):
    store, cid, (a, b, _, admin) = one_candidate
    fl = write(store, cid, [(a, "decision", "near_miss", None), (b, "decision", "near_miss", None),
                            (admin, "adjudication", "actually_correct", None)])
    assert (fl.label, fl.adjudicated, fl.agreement, fl.annotators) == ("actually_correct", True, 0.0, 2)


def test_retracted_adjudication_falls_back_to_the_majority(one_candidate):
    store, cid, (a, _, _, admin) = one_candidate
    fl = write(store, cid, [(a, "decision", "far_miss", None), (admin, "adjudication", "near_miss", None),
                            (admin, "retraction", None, 1)])
    assert (fl.label, fl.adjudicated) == ("far_miss", False)


def test_all_retracted_leaves_no_label_and_unlabeled_candidates_are_absent(one_candidate):
    store, cid, (a, _, _, _) = one_candidate
    fl = write(store, cid, [(a, "decision", "near_miss", None), (a, "retraction", None, 0)])
    assert (fl.label, fl.annotators, fl.disputed) == (None, 0, False)
    assert final_labels([]) == {}
    with store.session() as s:
        assert load_final_labels(s, []) == {}


def test_rows_in_any_order_give_the_same_result(one_candidate):
    store, cid, (a, b, _, _) = one_candidate
    write(store, cid, [(a, "decision", "near_miss", None), (a, "retraction", None, 0),
                       (a, "decision", "far_miss", None), (b, "decision", "far_miss", None)])
    with store.session() as s:
        rows = list(s.scalars(select(Label).order_by(Label.id.desc())))
        rows = [r for r in rows if r.candidate_id == cid]
        assert final_labels(rows) == load_final_labels(s, [cid])
        assert final_labels(rows)[cid].label == "far_miss"


def test_a_failed_trajectory_is_labeled_failed_by_its_outcome_until_a_person_decides(accounts):
    store, (a, b, _, _) = accounts
    item = ItemRecord(dataset="t", split="s", native_id="trace", kind="trace", question="Do it.", answer="done",
                      candidates=[CandidateRecord("gave up", "failed_trace"), CandidateRecord("other", "manual")])
    ingest(store, [item])
    failed, other = candidate_id(item.id, "gave up"), candidate_id(item.id, "other")

    def finals() -> dict:
        with store.session() as s:
            return load_final_labels(s, [failed, other], outcomes=True)

    with store.session() as s:
        assert load_final_labels(s, [failed, other]) == {}  # votes only: agreement and the ranker see nothing
    assert finals() == {failed: FROM_OUTCOME} and settled_by(FROM_OUTCOME) == "outcome"
    assert FROM_OUTCOME.label == OUTCOME_LABEL == "failed" and FROM_OUTCOME.beyond_votes
    write(store, failed, [(a, "decision", "skip", None)])
    assert finals()[failed] == FROM_OUTCOME  # a skip is no decision
    fl = write(store, failed, [(b, "decision", "actually_correct", None), (b, "retraction", None, 0)])
    assert fl.label is None and finals()[failed] == FROM_OUTCOME  # the person took it back
    write(store, failed, [(b, "decision", "actually_correct", None)])
    decided = finals()[failed]
    assert (decided.label, decided.by_outcome, settled_by(decided)) == ("actually_correct", False, "majority")


@pytest.mark.parametrize("votes,own,adjudicated,others", [
    ({"near_miss": 1, "far_miss": 1}, "near_miss", False, "far_miss"),  # two annotators: the other one's vote
    ({"near_miss": 2}, "near_miss", False, "near_miss"),
    ({"near_miss": 1}, "near_miss", False, None),  # alone: no one to agree with
    ({"near_miss": 2, "far_miss": 1}, "near_miss", False, None),  # the others tie
    ({"near_miss": 1}, "near_miss", True, "invalid"),  # an adjudication stands on its own
])
def test_final_without_leaves_the_annotators_own_vote_out(votes, own, adjudicated, others):
    from nearmiss.label.final_labels import FinalLabel, final_without

    final = FinalLabel("invalid" if adjudicated else None, sum(votes.values()), 0.0, adjudicated, votes)
    assert final_without(final, own) == others
