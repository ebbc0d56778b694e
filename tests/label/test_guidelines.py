"""Guidelines per dataset: admins write them, every save is a new version, and each
decision stores the version it was made under."""
import pytest
from sqlalchemy import select

from nearmiss.errors import ConfigError, NotFoundError, PermissionDenied
from nearmiss.label.desk import LabelDesk, Press
from nearmiss.label.guidelines import guideline, guideline_history, save_guideline
from nearmiss.store.tables import Label
from tests.labeling import add_candidates, users


def test_guidelines_are_versioned_and_each_decision_stores_its_version(store):
    add_candidates(store, 2, per_item=1)
    add_candidates(store, 1, per_item=1, dataset="trivia")
    (ann,) = users(store, "ann")
    (boss,) = users(store, "boss", role="admin")
    with pytest.raises(PermissionDenied):
        save_guideline(store, ann, "quiz", "mine")
    with pytest.raises(NotFoundError):
        save_guideline(store, boss, "nope", "x")
    with pytest.raises(ConfigError, match="at most"):
        save_guideline(store, boss, "quiz", "x" * 50_001)

    desk = LabelDesk(store, ann)
    desk.configure(desk.cfg.__class__(datasets=("quiz",)))
    first = desk.current()
    assert desk.press(Press(first, "near_miss", "g0")).status == "stored"  # no guidelines yet
    assert save_guideline(store, boss, "quiz", "# Near-miss\n*tempting* but wrong") == 1
    assert save_guideline(store, boss, "trivia", "trivia rules") == 1
    desk.press(Press(None, "undo", "u0"))  # the undone card is served again: with version 1 now
    assert desk.view()["guideline_version"] == 1
    assert desk.press(Press(first, "far_miss", "g1")).status == "stored"
    assert save_guideline(store, boss, "quiz", "# Near-miss\nclose to the gold") == 2
    second = desk.current()
    desk.press(Press(second, "far_miss", "g2"))  # served under version 1, decided after version 2 was saved
    with store.session() as s:
        versions = s.execute(select(Label.request_id, Label.guideline_version)
                             .where(Label.kind == "decision").order_by(Label.id)).tuples().all()
    assert versions == [("g0", None), ("g1", 1), ("g2", 1)]  # the version on screen when it was decided
    assert [g.version for g in guideline_history(store, "quiz")] == [2, 1]
    assert guideline(store, "quiz").text.endswith("close to the gold") and guideline(store, "quiz", 1).author == "boss"
    assert guideline(store, "other") is None
