"""Datasets page in a real browser: a malformed upload is refused with its line and
field and stores nothing; a good one loads; annotators cannot open the page."""
import json

import pytest
from sqlalchemy import func, select

from curator.labeling.accounts import add_user
from curator.store import Store
from curator.store.tables import Item
from tests.conftest import ARTIFACTS, sign_in_page

pytestmark = pytest.mark.e2e


def _count(url: str) -> int:
    with Store(url).session() as s:
        return s.scalar(select(func.count()).select_from(Item))


def _upload(page, path):
    page.get_by_role("tab", name="Upload a file").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))


def test_upload_bad_then_good_file(browser, app_server, sqlite_url, tmp_path):
    store = Store(sqlite_url)
    add_user(store, "boss", "admin", "boss-password")
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "boss", "boss-password")
    page.locator("[data-testid='stSidebarNav']").get_by_text("Datasets").click()

    rows = [{"question": f"{n}+1?", "choices": [str(n + 1), str(n + 2)], "answer": 0} for n in range(12)]
    bad = tmp_path / "quiz.jsonl"
    bad.write_text("\n".join(json.dumps(r) for r in rows[:7] + [{**rows[7], "answer": 9}] + rows[8:]))
    _upload(page, bad)
    page.locator(".st-key-ds_upload_load button").click()
    error = page.locator("[data-testid='stAlert']").filter(has_text="quiz.jsonl:8: field 'answer'")
    error.wait_for(timeout=20000)
    assert "out of range" in error.inner_text()
    assert _count(sqlite_url) == 0

    good = tmp_path / "quiz2.jsonl"
    good.write_text("\n".join(json.dumps(r) for r in rows))
    _upload(page, good)
    page.get_by_text("First rows of quiz2.jsonl").wait_for(timeout=20000)
    page.locator(".st-key-ds_upload_load button").click()
    page.get_by_text("added 12 items").wait_for(timeout=20000)
    assert _count(sqlite_url) == 12
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "datasets-page.png"), full_page=True)


def test_annotator_has_no_datasets_page(browser, app_server, sqlite_url):
    add_user(Store(sqlite_url), "ann", "annotator", "ann-password")
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "ann", "ann-password")
    page.get_by_text("Welcome, ann").wait_for(timeout=20000)
    assert page.locator("[data-testid='stSidebar']").get_by_text("Datasets").count() == 0
