"""Work distribution on SQLite and PostgreSQL: queue orders and filters, leases that two
annotators never share, overlap k, and concurrent annotators draining a queue."""
import threading
import time
from collections import Counter
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from nearmiss.errors import ConfigError, NotFoundError, PermissionDenied
from nearmiss.label.labels import adjudicate, decide
from nearmiss.label.queue import QueueConfig, claim, next_candidate, overlaps, remaining, renew, set_overlap
from nearmiss.store.tables import Candidate, Claim, Label, utcnow
from tests.labeling import add_candidates, users


def _drain(store, ann: int, cfg: QueueConfig, label: str = "far_miss", *, wait: bool = False) -> list[str]:
    """Label everything the queue serves this annotator; the ids in serving order. With
    ``wait``, keep asking while candidates it could label are held by others (as the card does)."""
    served = []
    while True:
        cid = next_candidate(store, ann, cfg)
        if cid is None:
            if wait and remaining(store, ann, cfg):
                time.sleep(0.02)
                continue
            return served
        served.append(cid)
        assert decide(store, ann, cid, label, request_id=f"{ann}-{cid}").status == "stored"


def test_orders(store):
    cands, (ann, bob, cat), (boss,) = add_candidates(store, 4, per_item=3), users(store, "ann", "bob", "cat"), users(
        store, "boss", role="admin")
    set_overlap(store, boss, "quiz", 3)
    with store.session() as s:
        near = dict(s.execute(select(Candidate.id, Candidate.nearness)).tuples().all())
    by_nearness = _drain(store, ann, QueueConfig(order="nearness"))
    assert by_nearness == sorted(cands, key=lambda c: -near[c])
    uncertain = _drain(store, bob, QueueConfig(order="uncertain", threshold=0.3))
    distance = [abs(near[c] - 0.3) for c in uncertain]
    assert distance == sorted(distance) and len(uncertain) == 12
    assert sorted(_drain(store, cat, QueueConfig(order="random"))) == sorted(cands)


def test_random_order_is_not_the_nearness_order(sqlite_store):
    add_candidates(sqlite_store, 10, per_item=3)
    ann, bob, boss = users(sqlite_store, "ann", "bob", "boss", role="admin")  # admins label too
    set_overlap(sqlite_store, boss, "quiz", 2)
    assert _drain(sqlite_store, ann, QueueConfig(order="random")) != _drain(sqlite_store, bob, QueueConfig(order="nearness"))


def test_filters_by_dataset_and_origin(store):
    quiz = add_candidates(store, 2, dataset="quiz")
    trivia = add_candidates(store, 2, dataset="trivia", origin="lm_sample")
    ann, bob = users(store, "ann", "bob")
    assert sorted(_drain(store, ann, QueueConfig(datasets=("trivia",)))) == sorted(trivia)
    assert remaining(store, ann, QueueConfig(origins=("distractor",))) == len(quiz)
    assert sorted(_drain(store, bob, QueueConfig(origins=("distractor",)))) == sorted(quiz)


def test_a_claim_is_held_until_labeled_and_never_shared(store):
    _, (ann, bob) = add_candidates(store, 1), users(store, "ann", "bob")
    cfg = QueueConfig(order="nearness")
    a = next_candidate(store, ann, cfg)
    assert next_candidate(store, ann, cfg) == a  # resumes its own claim
    b = next_candidate(store, bob, cfg)
    assert b != a
    assert not claim(store, bob, a, cfg)  # held by ann
    with store.session() as s:  # ann's lease runs out
        s.execute(update(Claim).where(Claim.candidate_id == a).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert claim(store, bob, a, cfg)
    with store.session() as s:
        assert dict(s.execute(select(Claim.candidate_id, Claim.annotator_id)).tuples().all()) == {a: bob}


def test_overlap_k_per_dataset(store):
    cands, (ann, bob, cat), (boss,) = add_candidates(store, 2), users(store, "ann", "bob", "cat"), users(
        store, "boss", role="admin")
    assert overlaps(store) == {"quiz": 1}
    set_overlap(store, boss, "quiz", 2)
    assert overlaps(store) == {"quiz": 2}
    assert sorted(_drain(store, ann, QueueConfig())) == sorted(cands)
    assert sorted(_drain(store, bob, QueueConfig())) == sorted(cands)
    assert _drain(store, cat, QueueConfig()) == []  # every candidate has its 2 labels


def test_skips_and_adjudicated_candidates(store):
    (c1, c2, _), (ann, bob) = add_candidates(store, 1), users(store, "ann", "bob")
    (boss,) = users(store, "boss", role="admin")
    cfg = QueueConfig(order="nearness")
    first = next_candidate(store, ann, cfg)
    decide(store, ann, first, "skip", request_id="s")
    adjudicate(store, boss, c1 if first != c1 else c2, "near_miss", request_id="adj")
    served_ann = _drain(store, ann, cfg)
    assert first not in served_ann and len(served_ann) == 1  # its skip and the adjudicated one are not served
    assert first in _drain(store, bob, cfg)  # a skip does not count toward the overlap


def test_overlap_and_roles_are_checked(store):
    add_candidates(store, 1)
    (ann,), (boss,) = users(store, "ann"), users(store, "boss", role="admin")
    with pytest.raises(PermissionDenied):
        set_overlap(store, ann, "quiz", 3)
    with pytest.raises(NotFoundError, match="no dataset named 'nope'"):
        set_overlap(store, boss, "nope", 3)
    with pytest.raises(ConfigError, match="overlap"):
        set_overlap(store, boss, "quiz", 0)
    with pytest.raises(ConfigError, match="order: unknown queue order 'best'"):
        QueueConfig(order="best")
    with pytest.raises(ConfigError, match="origins"):
        QueueConfig(origins=("web",))
    assert overlaps(store) == {"quiz": 1}


def test_concurrent_annotators_with_overlap_get_exactly_k_labels(store):
    """Six annotators drain 30 candidates with overlap 2 at the same time: each candidate
    ends with exactly 2 decisions from 2 different annotators, no claim is ever shared."""
    cands = add_candidates(store, 10, per_item=3)
    names = users(store, *[f"ann{n}" for n in range(6)])
    (boss,) = users(store, "boss", role="admin")
    set_overlap(store, boss, "quiz", 2)
    start, errors = threading.Barrier(len(names)), []

    def work(ann: int) -> None:
        start.wait()
        try:
            _drain(store, ann, QueueConfig(order="nearness"), wait=True)
        except Exception as e:  # surfaced below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(a,)) for a in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    with store.session() as s:
        rows = s.execute(select(Label.candidate_id, Label.annotator_id)).tuples().all()
    assert len(rows) == len(set(rows)) == 2 * len(cands)
    assert Counter(c for c, _ in rows) == {c: 2 for c in cands}


def _slow_annotators(store, cfg: QueueConfig, *, heartbeat: bool) -> list[tuple[str, int, bool]]:
    """Two annotators who read each card longer than the 3 s lease (ann 5 s, bob 3.5 s), with
    or without a heartbeat every 0.2 s; the (candidate, annotator, late) of every decision."""
    from nearmiss.label.desk import LabelDesk, Press

    ann, bob = users(store, "ann", "bob")
    stop = threading.Event()

    def work(desk: LabelDesk, read: float) -> None:
        while desk.current() is not None:
            time.sleep(read)
            assert desk.press(Press(desk.shown, "far_miss", f"{desk.annotator_id}-{desk.shown}")).status == "stored"

    def beat(desk: LabelDesk) -> None:
        while not stop.wait(0.2):
            desk.heartbeat()

    desks = [LabelDesk(store, ann, cfg), LabelDesk(store, bob, cfg)]
    desks[0].current()  # ann is served first: the candidate of highest nearness
    workers = [threading.Thread(target=work, args=(d, r)) for d, r in zip(desks, (5.0, 3.5))]
    beats = [threading.Thread(target=beat, args=(d,)) for d in desks] if heartbeat else []
    for t in workers + beats:
        t.start()
    for t in workers:
        t.join(60)
    stop.set()
    for t in beats:
        t.join()
    with store.session() as s:
        return s.execute(select(Label.candidate_id, Label.annotator_id, Label.late)
                         .where(Label.kind == "decision")).tuples().all()


def test_heartbeat_keeps_k_labels_per_candidate_under_two_slow_annotators(store):
    cands = add_candidates(store, 2, per_item=2)
    rows = _slow_annotators(store, QueueConfig(order="nearness", lease_seconds=3), heartbeat=True)
    assert sorted(c for c, _, _ in rows) == sorted(cands)  # overlap 1: one label each, none on a lost lease
    assert not any(late for _, _, late in rows)


def test_without_heartbeat_a_slow_annotators_candidate_collects_k_plus_1_labels_and_both_are_kept(sqlite_store):
    cands = add_candidates(sqlite_store, 2, per_item=2)
    rows = _slow_annotators(sqlite_store, QueueConfig(order="nearness", lease_seconds=3), heartbeat=False)
    per_candidate = Counter(c for c, _, _ in rows)
    assert set(per_candidate) == set(cands) and max(per_candidate.values()) == 2  # the control: k + 1
    assert any(late for _, _, late in rows)  # the decision on the expired lease is stored and marked


def test_renew_extends_only_a_lease_the_annotator_still_holds(store):
    cid = add_candidates(store, 1, per_item=1)[0]
    ann, bob = users(store, "ann", "bob")
    cfg = QueueConfig(lease_seconds=1)
    assert next_candidate(store, ann, cfg) == cid
    time.sleep(1.1)
    assert renew(store, ann, cid, cfg)  # expired, nobody took it: renewed
    assert next_candidate(store, bob, cfg) is None
    with store.session() as s:
        s.execute(update(Claim).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert next_candidate(store, bob, cfg) == cid  # taken by bob once expired
    assert not renew(store, ann, cid, cfg)
