"""The ranker on the Mine page (quality, reliability, features, refit with a progress bar),
its one-line note on the Label page and its suggestions' coverage on the Review page,
through Streamlit's AppTest."""
import pytest
import streamlit as st

from nearmiss.label.card import CardSettings, save_card_settings
from nearmiss.label.ranker import RankerConfig, fit
from tests.app.test_label_pages import _as
from tests.labeling import users
from tests.ranker_store import label_by_rule, scored_store


@pytest.fixture
def ranked(sqlite_url, sqlite_store, monkeypatch):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    ids = scored_store(sqlite_store, 30)
    label_by_rule(sqlite_store, ids[:20])
    (boss,) = users(sqlite_store, "boss", role="admin")
    yield sqlite_store, ids, boss
    st.cache_resource.clear()


def test_mine_page_shows_the_fixed_blend_then_the_learned_ranker(ranked):
    store, ids, boss = ranked
    fit(store, "rule", RankerConfig(model="logistic", seed=2))
    at = _as("nearmiss/app/pages/mine.py", boss, "boss", "admin")
    assert not at.exception
    texts = [t.value for t in at.text]
    assert "Fixed blend until enough labels: " in texts[0] and "20 more needed" in texts[0]
    label_by_rule(store, ids[20:60], annotator="bob")
    at.button(key="mine_rank_fit").click().run(timeout=180)  # a fit on a busy machine
    assert not at.exception and not at.error
    texts = [t.value for t in at.text]
    assert any(t.startswith("ranker v2 (logistic) learned from 60 labels on rule") for t in texts)
    assert any(t.startswith("Ranker v2 (logistic) from 60 labels") for t in texts)  # the seed-2 config kept
    quality = next(df.value for df in at.dataframe if "fixed blend" in df.value.columns)
    assert quality["metric"].tolist() == ["ROC AUC", "accuracy"]
    assert float(quality["learned"][0].split()[0]) > float(quality["fixed blend"][0].split()[0])


def test_label_page_says_which_ranker_served_the_card(ranked):
    store, ids, _ = ranked
    label_by_rule(store, ids[20:60], annotator="bob")
    result = fit(store, "rule")  # auto: the model of lowest out-of-fold log loss serves, and is named
    version, model = result.ranker_id, result.quality["model"]
    (cat,) = users(store, "cat")
    (boss,) = users(store, "boss2", role="admin")
    save_card_settings(store, boss, CardSettings(show_internals=True))  # the ranker is an internal admins show
    at = _as("nearmiss/app/pages/label.py", cat, "cat", "annotator")
    assert not at.exception
    assert [c.value for c in at.caption if c.value.startswith("Ranker v")][0].startswith(f"Ranker v{version} ({model}, 60 labels")


def test_review_page_shows_suggestion_coverage_per_ranker_version(ranked):
    from sqlalchemy import select

    from nearmiss.store.tables import Candidate

    store, ids, boss = ranked
    label_by_rule(store, ids[20:45], annotator="bob")
    version = fit(store, "rule", RankerConfig(model="logistic")).ranker_id
    at = _as("nearmiss/app/pages/review.py", boss, "boss", "admin")
    assert not at.exception
    row = next(df.value for df in at.dataframe if "coverage" in df.value.columns).iloc[0]
    assert (row["dataset"], row["version"], row["threshold"], row["labels"]) == ("rule", version, 0.8, 45)
    with store.session() as s:
        p = list(s.scalars(select(Candidate.p_near)))
    assert row["coverage"] == pytest.approx(sum(max(v, 1 - v) >= 0.8 for v in p) / len(p), abs=1e-3)
    assert 0 <= row["agreement"] <= 1 and 0 < row["agreement_labels"] <= 45
