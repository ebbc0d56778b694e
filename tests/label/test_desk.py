"""Desks: a press is taken only for the candidate on screen, a resent press is stored
once, undo puts the undone candidate back on screen; the review desk adjudicates open
disagreements by key. Request ids and comments are validated; a first wrong step goes
only with the trace it was marked on; Enter accepts the suggestion; comment, flag, the
guideline version and a lost lease are stored with the decision."""
import time

import pytest
from sqlalchemy import event, select, update

import nearmiss.label.desk as desk_module
from nearmiss.auth.sessions import open_session, resolve
from nearmiss.errors import ConfigError
from nearmiss.label.card import NO_SUGGESTION
from nearmiss.label.desk import LabelDesk, Press, ReviewDesk
from nearmiss.label.final_labels import load_final_labels
from nearmiss.label.guidelines import save_guideline
from nearmiss.label.labels import adjudicate, decide, settled_by
from nearmiss.label.queue import QueueConfig, _probes, set_overlap
from nearmiss.store.tables import Candidate, Label, utcnow
from tests.labeling import add_candidates, users
from tests.traces import add_traces


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


def test_request_ids_and_comments_are_validated(sqlite_store):
    add_candidates(sqlite_store, 1)
    (ann,) = users(sqlite_store, "ann")
    desk = LabelDesk(sqlite_store, ann)
    cid = desk.current()
    for bad in ["", "x" * 65, "a b", "<img>", "é", None, 7]:
        with pytest.raises(ConfigError, match="request id"):
            Press(cid, "near_miss", bad)
        with pytest.raises(ConfigError, match="request id"):
            decide(sqlite_store, ann, cid, "near_miss", request_id=bad)
    with pytest.raises(ConfigError, match="at most 2000"):
        Press(cid, "near_miss", "ok", comment="x" * 2001)
    assert Press(cid, "near_miss", "f" * 64, comment="  fine  ").comment == "fine"
    assert _labels(sqlite_store) == []


@pytest.mark.parametrize("comment,says", [("a\x00b", "comment: text holds a NUL character"),
                                          ("a\udc80b", "comment: text holds an unpaired surrogate"),
                                          ("x" * 3000, "comment: 3000 characters, at most 2000")])
def test_a_comment_the_store_cannot_keep_is_refused_with_the_reason(store, comment, says):
    add_candidates(store, 1)
    (ann,), (boss,) = users(store, "ann"), users(store, "boss", role="admin")
    cid = LabelDesk(store, ann).current()
    for write in (lambda: Press(cid, "near_miss", "p1", comment=comment),
                  lambda: decide(store, ann, cid, "near_miss", request_id="d1", note=comment),
                  lambda: adjudicate(store, boss, cid, "near_miss", request_id="a1", note=comment)):
        with pytest.raises(ConfigError, match=says):
            write()
    assert _labels(store) == []
    assert LabelDesk(store, ann).press(Press(cid, "near_miss", "p2", comment="fine")).status == "stored"


def test_a_step_marked_on_a_trace_does_not_stick_to_the_next_card(sqlite_store):
    store = sqlite_store
    add_traces(store, 1)
    add_candidates(store, 1, per_item=1)
    (ann,) = users(store, "ann")
    desk = LabelDesk(store, ann, QueueConfig(datasets=("agent",)))
    trace = desk.current()
    assert desk.press(Press(trace, "near_miss", "t1", 2)).status == "stored"
    desk.configure(QueueConfig(datasets=("quiz",)))
    mcqa = desk.current()
    assert desk.view()["kind"] == "mcqa"
    for n, action in enumerate(["near_miss", "invalid"]):  # the browser still sends step 2: ignored here
        receipt = desk.press(Press(mcqa, action, f"m{n}", 2))
        assert receipt.status == "stored", receipt
        desk.press(Press(None, "undo", f"u{n}"))
    with store.session() as s:
        steps = s.execute(select(Label.candidate_id, Label.first_wrong_step).where(Label.kind == "decision")).all()
    assert [tuple(r) for r in steps] == [(trace, 2), (mcqa, None), (mcqa, None)]


def test_enter_accepts_the_suggestion_and_comment_flag_and_guideline_version_are_stored(sqlite_store):
    store = sqlite_store
    cands = add_candidates(store, 2)
    with store.session() as s:  # the learned ranker is sure of the first card (0.9), not of the second (0.6)
        for cid, p in zip(cands[::-1], [0.9, 0.6, 0.5, 0.5, 0.5, 0.5], strict=True):
            s.execute(update(Candidate).where(Candidate.id == cid).values(p_near=p))
    (ann,) = users(store, "ann")
    (boss,) = users(store, "boss", role="admin")
    save_guideline(store, boss, "quiz", "# v1")
    assert save_guideline(store, boss, "quiz", "# v2\nNear: *tempting*.") == 2
    desk = LabelDesk(store, ann, QueueConfig(order="nearness"))
    first = desk.view()
    assert first["suggested"] == "near_miss" and first["guideline_version"] == 2
    receipt = desk.press(Press(first["id"], "accept", "e1", comment="close to gold", flag=True))
    assert (receipt.status, receipt.label) == ("stored", "near_miss")
    second = desk.current()
    assert desk.view()["suggested"] is None  # 0.6 is below the default 0.8: no suggestion, Enter says why
    assert desk.press(Press(second, "accept", "e3")).reason == NO_SUGGESTION
    desk.press(Press(None, "undo", "u1"))  # the undone candidate comes back, served afresh
    desk.press(Press(first["id"], "far_miss", "e2"))
    assert desk.current() == second
    with store.session() as s:
        rows = s.execute(select(Label.label, Label.note, Label.flagged, Label.guideline_version, Label.late)
                         .where(Label.kind == "decision").order_by(Label.id)).tuples().all()
    assert rows == [("near_miss", "close to gold", True, 2, False), ("far_miss", None, False, 2, False)]


def test_a_decision_on_an_expired_lease_is_stored_and_marked_late(sqlite_store):
    store = sqlite_store
    add_candidates(store, 1)
    ann, bob = users(store, "ann", "bob")
    desk = LabelDesk(store, ann, QueueConfig(lease_seconds=1))
    cid = desk.current()
    time.sleep(1.1)
    assert LabelDesk(store, bob).current() == cid  # bob is served it once the lease is gone
    assert not desk.heartbeat()
    receipt = desk.press(Press(cid, "far_miss", "late1"))
    assert receipt.status == "stored" and "expired" in receipt.reason
    with store.session() as s:
        assert s.execute(select(Label.late)).scalars().all() == [True]


# What the Label page runs for one key: the guard resolves the session (signed in, enabled,
# role), the desk stores the decision and serves the next card (lease, guideline version and
# card settings read with the card), and the card's fragment reads the desk again.
KEY_STATEMENTS = {"sqlite": 9, "postgresql": 9}


def test_a_key_press_costs_a_fixed_number_of_statements(store):
    cands = add_candidates(store, 40)
    (ann,) = users(store, "ann")
    save_guideline(store, users(store, "boss", role="admin")[0], "quiz", "# rules")
    token = open_session(store, ann)[0]
    desk = LabelDesk(store, ann, QueueConfig(order="uncertain"))
    desk.view(), desk.progress(), desk.guideline()
    statements: list[str] = []
    event.listen(store.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    counts = []
    for n in range(5):
        statements.clear()
        assert resolve(store, token) is not None
        assert desk.press(Press(desk.shown, "near_miss", f"k{n}")).status == "stored"
        view, progress, rules = desk.view(), desk.progress(), desk.guideline()
        assert view["id"] in cands and rules.text == "# rules"
        counts.append(len(statements))
    assert (progress.done, progress.remaining) == (5, len(cands) - 5)  # moved by the desk's own keys
    assert counts == [KEY_STATEMENTS[store.engine.dialect.name]] * 5, statements


def test_serving_in_uncertain_order_reads_an_index_not_every_candidate(sqlite_store):
    add_candidates(sqlite_store, 100)
    (ann,) = users(sqlite_store, "ann")
    LabelDesk(sqlite_store, ann).current()
    plans = []
    for tier in _probes(QueueConfig(order="uncertain"), "sqlite"):
        for probe in tier:
            sql = probe.compile(dialect=sqlite_store.engine.dialect)
            params = sql.construct_params({"annotator_id": ann, "now": utcnow(), "pivot": "0"})
            with sqlite_store.engine.connect() as c:
                plans.append(" | ".join(row[3] for row in c.exec_driver_sql(
                    f"EXPLAIN QUERY PLAN {sql}", tuple(params[k] for k in sql.positiontup))))
    assert plans and all("USING INDEX ix_candidates_queue_score" in p and "TEMP B-TREE" not in p for p in plans), plans


def test_progress_shows_others_work_once_recounted(sqlite_store, monkeypatch):
    cands = add_candidates(sqlite_store, 2)
    ann, bob = users(sqlite_store, "ann", "bob")
    desk = LabelDesk(sqlite_store, ann)
    assert desk.progress().remaining == len(cands)
    decide(sqlite_store, bob, cands[0], "far_miss", request_id="b1")
    assert desk.progress().remaining == len(cands)  # counted a moment ago
    monkeypatch.setattr(desk_module, "PROGRESS_SECONDS", 0.0)
    assert desk.progress().remaining == len(cands) - 1
