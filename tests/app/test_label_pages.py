"""Label, progress and review pages through Streamlit's AppTest: each renders from the
library, and the admin page refuses an annotator's session on the server."""
import os
from pathlib import Path

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nearmiss.label.card import CardSettings, save_card_settings
from nearmiss.label.labels import decide
from nearmiss.label.queue import set_overlap
from nearmiss.store import Store
from tests.labeling import add_candidates, signed_in, users

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def labeled(sqlite_url, sqlite_store, monkeypatch):
    """A store with one disagreement (ann vs bob) and the ids of ann and boss."""
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    cands = add_candidates(sqlite_store, 2)
    ann, bob = users(sqlite_store, "ann", "bob")
    (boss,) = users(sqlite_store, "boss", role="admin")
    set_overlap(sqlite_store, boss, "quiz", 2)
    decide(sqlite_store, ann, cands[0], "near_miss", request_id="a")
    decide(sqlite_store, bob, cands[0], "far_miss", request_id="b")
    yield {"ann": ann, "boss": boss}
    st.cache_resource.clear()


def _as(script: str, uid: int, name: str, role: str) -> AppTest:
    at = AppTest.from_file(str(ROOT / script), default_timeout=60)
    return signed_in(at, Store(os.environ["NEARMISS_DB"]), name, role).run()


def test_review_page_refuses_an_annotator_session(labeled):
    at = _as("nearmiss/app/pages/review.py", labeled["ann"], "ann", "annotator")
    assert [e.value for e in at.error] == ["This page is for admins only."]
    assert not at.title and not at.dataframe and not at.exception


def test_review_page_for_an_admin(labeled):
    at = _as("nearmiss/app/pages/review.py", labeled["boss"], "boss", "admin")
    assert not at.exception and at.title[0].value == "Review"
    tables = [df.value for df in at.dataframe]
    disagreement = next(v for v in tables if "candidate" in v.columns)
    assert disagreement[["vote: ann", "vote: bob"]].values.tolist() == [["near_miss", "far_miss"]]
    cohen = next(v for v in tables if "shared" in v.columns)
    assert cohen[["a", "b", "shared", "agreement"]].values.tolist() == [["ann", "bob", 1, 0.0]]
    sources = next(c.value for c in at.caption if c.value.startswith("Final labels:"))
    assert sources.startswith("Final labels: 1 tied, pending adjudication (no final label yet).")


def test_annotators_asking_for_an_admin_page_are_refused(labeled):
    at = _as("nearmiss/app/main.py", labeled["ann"], "ann", "annotator")
    at.switch_page(str(ROOT / "nearmiss/app/pages/review.py")).run()
    assert [e.value for e in at.error] == ["This page is for admins only."] and not at.title
    admin = _as("nearmiss/app/main.py", labeled["boss"], "boss", "admin")
    admin.switch_page(str(ROOT / "nearmiss/app/pages/review.py")).run()
    assert admin.title[0].value == "Review"


def test_label_and_progress_pages_render_for_an_annotator(labeled):
    label = _as("nearmiss/app/pages/label.py", labeled["ann"], "ann", "annotator")
    assert not label.exception and label.title[0].value == "Label"
    assert label.session_state["label_desk"].shown is not None  # a candidate was served and claimed
    progress = _as("nearmiss/app/pages/progress.py", labeled["ann"], "ann", "annotator")
    assert not progress.exception
    assert [m.value for m in progress.metric][0] == "1"
    assert progress.dataframe[0].value["label"].tolist() == ["near_miss"]


def test_the_origins_filter_shows_only_where_origins_are_shown(labeled):
    def filters(uid: int, name: str, role: str) -> list[str]:
        return [m.label for m in _as("nearmiss/app/pages/label.py", uid, name, role).sidebar.multiselect]

    assert filters(labeled["ann"], "ann", "annotator") == ["Datasets"]
    assert filters(labeled["boss"], "boss", "admin") == ["Datasets", "Origins"]
    save_card_settings(Store(os.environ["NEARMISS_DB"]), labeled["boss"], CardSettings(show_internals=True))
    assert filters(labeled["ann"], "ann", "annotator") == ["Datasets", "Origins"]


def test_history_page_renders_and_filters(labeled):
    at = _as("nearmiss/app/pages/history.py", labeled["ann"], "ann", "annotator")
    assert not at.exception and at.title[0].value == "History"
    assert at.dataframe[0].value["label"].tolist() == ["near_miss"]
    assert list(at.dataframe[0].value.columns[:3]) == ["#", "label", "state"]  # first: in view at any width
    save = next(b for b in at.button if b.label == "Save the change")
    save.click().run()  # the label that stands, saved again
    assert [i.value for i in at.info] == ["Nothing to change: this label, comment and flag stand already; nothing "
                                          "written."]
    assert at.dataframe[0].value["label"].tolist() == ["near_miss"]  # no retraction, no copy
    at.text_input(key="history_text").input("no such text").run()
    assert [i.value for i in at.info] == ["No decisions match."]


def test_review_page_shows_per_annotator_figures_and_comments(labeled, sqlite_store):
    from nearmiss.label.labels import decide
    from tests.labeling import add_candidates

    cid = add_candidates(sqlite_store, 1, per_item=1, dataset="trivia")[0]
    decide(sqlite_store, labeled["ann"], cid, "invalid", request_id="c1", note="<b>not bold</b>", flagged=True)
    at = _as("nearmiss/app/pages/review.py", labeled["boss"], "boss", "admin")
    assert not at.exception
    tables = {tuple(df.value.columns): df.value for df in at.dataframe}
    figures = next(v for k, v in tables.items() if "with_suggestion" in k)
    assert figures["annotator"].tolist() == ["ann", "bob"] and figures["decisions"].tolist() == [2, 1]
    remarks = next(v for k, v in tables.items() if "comment" in k and "flagged" in k)
    assert remarks[["annotator", "comment", "flagged"]].values.tolist() == [["ann", "<b>not bold</b>", True]]
