"""The Export page (AppTest): live counts as filters change, export and download buttons,
admins only. The browser download is in tests/e2e/test_export_download.py."""
from __future__ import annotations

import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nearmiss.export import ExportFilters, preview
from nearmiss.jobs.runs import list_runs
from nearmiss.store import Store
from tests.conftest import ROOT
from tests.export_store import build_labeled_store
from tests.labeling import signed_in

PAGE = str(ROOT / "nearmiss/app/pages/export.py")


@pytest.fixture(scope="module")
def labeled_url(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('export-page') / 'x.db'}"
    store = Store(url)
    build_labeled_store(store)
    store.dispose()
    return url


@pytest.fixture
def page(labeled_url, monkeypatch):
    """The page as a signed-in admin would get it, on the labeled store."""
    def open_as(role: str) -> AppTest:
        monkeypatch.setenv("NEARMISS_DB", labeled_url)
        st.cache_resource.clear()  # nearmiss.app.shared.store() must open this test's store
        at = AppTest.from_file(PAGE, default_timeout=120)
        return signed_in(at, Store(labeled_url), f"tester-{role}", role).run()

    return open_as


def metric(at: AppTest, label: str) -> int:
    return int(next(m for m in at.metric if m.label == label).value)


def test_counts_follow_the_filters_live(page, labeled_url):
    store = Store(labeled_url)
    at = page("admin")
    assert not at.exception and not at.error
    assert metric(at, "Negatives") == preview(store, ExportFilters()).counts()["negatives"]
    at.slider(key="export_min_agreement").set_value(1.0).run()
    agreed = preview(store, ExportFilters(min_agreement=1.0)).counts()
    assert metric(at, "Negatives") == agreed["negatives"] < preview(store, ExportFilters()).counts()["negatives"]
    at.slider(key="export_min_agreement").set_value(0.0).run()
    at.multiselect(key="export_labels").set_value(["near_miss"]).run()
    near = preview(store, ExportFilters(labels=["near_miss"])).counts()
    assert (metric(at, "Items"), metric(at, "Negatives")) == (near["items"], near["negatives"])
    at.checkbox(key="export_unlabeled").check().run()
    more = preview(store, ExportFilters(labels=["near_miss"], include_unlabeled_distractors=True)).counts()
    assert (metric(at, "Items"), metric(at, "Negatives")) == (more["items"], more["negatives"])
    assert more["negatives"] > near["negatives"]
    store.dispose()


def test_no_label_and_no_unlabeled_shows_the_reason(page):
    at = page("admin")
    at.multiselect(key="export_labels").set_value([]).run()
    assert "nothing to export" in at.error[0].value
    assert not at.metric


def test_export_offers_downloads_that_match_the_manifest(page, labeled_url):
    at = page("admin")
    at.selectbox(key="export_format").set_value("likra").run()
    at.button(key="export_run").click().run()
    assert not at.exception and not at.error
    run_id, job = at.session_state["export_job"]  # an export run in a thread of the server
    job.result(timeout=120)
    at.run()  # as the job card's next look does once the run ended
    store = Store(labeled_url)
    assert {"id": run_id, "kind": "export", "status": "done"}.items() <= list_runs(store, "export")[0].items()
    store.dispose()
    result = at.session_state["export_result"]
    manifest = result["manifest"]
    assert manifest["format"] == "likra" and manifest["selection"]["negatives"] == metric(at, "Negatives")
    labels = [b.label for b in at.get("download_button")]
    assert labels[0] == "Download all (zip)"
    assert sorted(labels[1:]) == sorted([*manifest["tables"], "manifest.json"])
    shown = " ".join(str(j.value) for j in at.json)  # the manifest on the page, without the server's folder
    assert '"likra"' in shown and "nearmiss-export-" not in shown and result["out"] not in shown


def test_annotators_are_refused(page):
    at = page("annotator")
    assert "admins only" in at.error[0].value
    assert not at.metric and not at.button
