"""The annotator's card: internals (scores, origins) only where an admin shows them; a
suggestion only where the ranker's calibrated confidence reaches the admin's threshold."""
import pytest
from sqlalchemy import select, update

from nearmiss.errors import ConfigError, PermissionDenied
from nearmiss.label.card import INTERNALS, CardSettings, card_settings, save_card_settings
from nearmiss.label.desk import LabelDesk
from nearmiss.label.queue import QueueConfig
from nearmiss.store.tables import AppSetting, Candidate
from tests.labeling import add_candidates, users


def _p_near(store, cid: str, p: float | None) -> None:
    with store.session() as s:
        s.execute(update(Candidate).where(Candidate.id == cid).values(
            p_near=p, suggested=None if p is None else "near_miss" if p >= 0.5 else "far_miss"))


def test_suggestion_follows_the_rankers_confidence_and_internals_the_admin(store):
    top = add_candidates(store, 1, per_item=1)[0]
    (ann,) = users(store, "ann")
    (boss,) = users(store, "boss", role="admin")

    def card() -> dict:
        return LabelDesk(store, ann, QueueConfig(order="nearness")).view()

    assert card()["suggested"] is None  # the fixed blend's nearness is no calibrated confidence
    assert not set(INTERNALS) & set(card())  # the default: no score, origin or nearness on the card
    _p_near(store, top, 0.15)
    assert card()["suggested"] == "far_miss"  # 85 % sure it is far
    _p_near(store, top, 0.7)
    assert card()["suggested"] is None
    save_card_settings(store, boss, CardSettings(show_internals=True, suggest_at=0.65))
    shown = card()
    assert shown["suggested"] == "near_miss" and shown["origin"] == "distractor" and "sim_gold" in shown["scores"]
    with store.session() as s:
        assert s.scalar(select(AppSetting.updated_by)) == boss


def test_only_admins_change_card_settings_and_bad_values_are_refused(sqlite_store):
    (ann,) = users(sqlite_store, "ann")
    with pytest.raises(PermissionDenied):
        save_card_settings(sqlite_store, ann, CardSettings(show_internals=True))
    with pytest.raises(ConfigError, match="suggest_at: expected a number from 0.5 to 1, got 0.3"):
        CardSettings(suggest_at=0.3)
    assert card_settings(sqlite_store) == CardSettings()
    assert CardSettings.stored({"suggest_at": 0.9, "gone": 1}) == CardSettings(suggest_at=0.9)
