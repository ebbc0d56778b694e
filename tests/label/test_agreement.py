"""Agreement: Cohen's kappa against scikit-learn, Fleiss' kappa against Fleiss' published
example, and per-pair / per-dataset figures and disagreements computed from stored labels."""
import random

import pytest
from sklearn.metrics import cohen_kappa_score

from nearmiss.label.agreement import cohen_kappa, disagreements, fleiss_kappa, pairwise, per_dataset
from nearmiss.label.labels import VOTING_LABELS, adjudicate, decide
from tests.labeling import add_candidates, users


def test_cohen_kappa_matches_scikit_learn():
    rng = random.Random(7)
    for n in (5, 40, 300):
        a = [rng.choice(VOTING_LABELS) for _ in range(n)]
        b = [x if rng.random() < 0.6 else rng.choice(VOTING_LABELS) for x in a]
        assert cohen_kappa(list(zip(a, b))) == pytest.approx(cohen_kappa_score(a, b), abs=1e-12)


def test_fleiss_kappa_on_the_published_example():
    """Fleiss (1971) as tabulated on Wikipedia: 10 subjects, 14 raters, 5 categories, kappa 0.210."""
    table = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
             [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]
    counts = [{str(j): n for j, n in enumerate(row) if n} for row in table]
    assert fleiss_kappa(counts) == pytest.approx(0.20993, abs=5e-5)


def test_two_raters_fleiss_and_undefined_kappas():
    assert fleiss_kappa([{"a": 2}, {"a": 1, "b": 1}, {"b": 2}]) == pytest.approx(1 / 3)  # (1/3 - 1/2) / (1 - 1/2)
    assert cohen_kappa([("a", "a"), ("a", "a")]) is None  # chance agreement 1: undefined
    assert fleiss_kappa([{"a": 3}]) is None and fleiss_kappa([{"a": 1}]) is None and cohen_kappa([]) is None


def test_agreement_and_disagreements_from_the_store(store):
    quiz, trivia = add_candidates(store, 2, per_item=2), add_candidates(store, 1, dataset="trivia", per_item=2)
    ann, bob, cat = users(store, "ann", "bob", "cat")
    (boss,) = users(store, "boss", role="admin")
    plan = {ann: ["near_miss", "far_miss", "far_miss", "invalid"], bob: ["near_miss", "far_miss", "near_miss", "skip"]}
    for who, labels in plan.items():
        for cid, lab in zip(quiz, labels):
            decide(store, who, cid, lab, request_id=f"{who}-{cid}")
    for who, lab in [(ann, "far_miss"), (bob, "far_miss"), (cat, "near_miss")]:
        decide(store, who, trivia[0], lab, request_id=f"{who}-t")

    pairs = {(p.a, p.b): p for p in pairwise(store)}
    ab = pairs["ann", "bob"]  # bob's skip does not count: 3 quiz + 1 trivia shared, 3 agree
    assert (ab.shared, ab.agreement) == (4, 3 / 4)
    expected = cohen_kappa([("near_miss", "near_miss"), ("far_miss", "far_miss"), ("far_miss", "near_miss"),
                            ("far_miss", "far_miss")])
    assert ab.kappa == pytest.approx(expected)
    assert (pairs["ann", "cat"].shared, pairs["ann", "cat"].kappa) == (1, 0.0)  # p_o = p_e = 0

    by_dataset = {d.dataset: d for d in per_dataset(store)}
    assert (by_dataset["quiz"].candidates, by_dataset["quiz"].labels) == (3, 6)
    assert by_dataset["trivia"].kappa == pytest.approx(fleiss_kappa([{"far_miss": 2, "near_miss": 1}]))

    open_ = {d.candidate_id: d for d in disagreements(store)}
    assert set(open_) == {quiz[2], trivia[0]}
    assert open_[quiz[2]].votes == {"ann": "far_miss", "bob": "near_miss"}
    adjudicate(store, boss, quiz[2], "near_miss", request_id="adj")
    assert [d.candidate_id for d in disagreements(store, datasets=("quiz", "trivia"))] == [trivia[0]]
    assert disagreements(store, datasets=("quiz",)) == []


def test_per_annotator_figures_and_remarks(store):
    from datetime import timedelta

    from sqlalchemy import select, update

    from nearmiss.label.agreement import per_annotator, remarks
    from nearmiss.store.tables import Candidate, Label, utcnow

    cands = add_candidates(store, 2, per_item=2)  # nearness k/4: suggested far, far, near, near
    ann, bob = users(store, "ann", "bob")
    (boss,) = users(store, "boss", role="admin")
    with store.session() as s:
        suggested = dict(s.execute(select(Candidate.id, Candidate.suggested)).tuples().all())
    assert [suggested[c] for c in cands] == ["far_miss", "far_miss", "near_miss", "near_miss"]
    for n, lab in enumerate(["far_miss", "near_miss", "near_miss", "skip"]):
        decide(store, ann, cands[n], lab, request_id=f"a{n}", note="hm" if n == 1 else None, flagged=n == 2)
    decide(store, bob, cands[0], "invalid", request_id="b0")
    decide(store, bob, cands[1], "near_miss", request_id="b1")
    adjudicate(store, boss, cands[0], "invalid", request_id="j0")
    start = utcnow() - timedelta(hours=2)
    with store.session() as s:  # ann: decisions 10 s, 30 s, then a break of an hour
        for rid, at in {"a0": 0, "a1": 10, "a2": 40, "a3": 3640, "b0": 0, "b1": 5}.items():
            s.execute(update(Label).where(Label.request_id == rid).values(created_at=start + timedelta(seconds=at)))
    figures = {f.annotator: f for f in per_annotator(store)}
    a, b = figures["ann"], figures["bob"]
    assert (a.decisions, a.median_seconds, a.comments, a.flagged, a.late) == (4, 20.0, 1, 1, 0)
    # each vote against the final label of the others' votes: c0 invalid (adjudicated), c1 near (bob's for ann,
    # ann's for bob); c2 has ann's vote alone, so nothing to agree with (counted, it would agree by construction)
    assert a.with_final == 0.5 and b.with_final == 1.0
    assert a.with_suggestion == pytest.approx(2 / 3) and b.with_suggestion == 0.0
    assert b.median_seconds == 5.0
    assert [(r.annotator, r.comment, r.flagged) for r in remarks(store)] == [("ann", None, True), ("ann", "hm", False)]
    assert [r.candidate_id for r in remarks(store, flagged_only=True)] == [cands[2]]
    assert remarks(store, datasets=["other"]) == []
    disagreement = disagreements(store)  # c0 adjudicated; c1 agrees: none open
    assert disagreement == []
