"""Datasets page in a real browser: an upload with bad rows, mapped with the field pickers,
lists every bad row (line and field) and stores nothing; annotators cannot open the page."""
import json

import pytest
from sqlalchemy import func, select

from nearmiss.auth.accounts import add_user
from nearmiss.store import Store
from nearmiss.store.tables import Item
from tests.bad_rows import bad_rows_file
from tests.conftest import sign_in_page

pytestmark = pytest.mark.e2e


def _count(url: str) -> int:
    with Store(url).session() as s:
        return s.scalar(select(func.count()).select_from(Item))


def _upload(page, path):
    page.get_by_role("tab", name="Upload a file").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))


def _pick(page, key_prefix: str, *options: str) -> None:
    """Choose options in the selectbox / multiselect whose key starts with ``key_prefix``."""
    for option in options:
        page.locator(f"[class*='st-key-{key_prefix}'] input").click()
        page.get_by_role("option", name=option, exact=True).click()


def _datasets_page(browser, app_server, sqlite_url: str):
    """The Datasets page, open for a signed-in admin."""
    add_user(Store(sqlite_url), "boss", "admin", "boss-password")
    page = sign_in_page(browser, app_server(sqlite_url), "boss", "boss-password")
    page.locator("[data-testid='stSidebarNav']").get_by_text("Datasets").click()
    return page


def test_upload_lists_every_bad_row_and_stores_nothing(browser, app_server, sqlite_url, tmp_path):
    page = _datasets_page(browser, app_server, sqlite_url)

    rows = [{"q": f"{n}+1?", "x": str(n + 1), "y": str(n + 2), "key": "A"} for n in range(12)]
    bad = tmp_path / "quiz.jsonl"
    bad.write_text("\n".join(json.dumps({**r, "key": "Z"} if n in (2, 7, 9) else r) for n, r in enumerate(rows)))
    _upload(page, bad)
    _pick(page, "ds_map_question_", "q")
    _pick(page, "ds_map_answer_", "key")
    _pick(page, "ds_map_choices_", "x", "y")
    page.locator(".st-key-ds_upload_load button").click()
    page.get_by_text("Nothing was stored: 3 bad rows").wait_for(timeout=30000)
    listed = page.locator("[data-testid='stCode']").inner_text()
    assert [line.split(": field")[0] for line in listed.strip().splitlines()] == [
        "quiz.jsonl:3", "quiz.jsonl:8", "quiz.jsonl:10"]
    assert "--map" not in page.content()
    assert _count(sqlite_url) == 0


def test_annotator_has_no_datasets_page(browser, app_server, sqlite_url):
    add_user(Store(sqlite_url), "ann", "annotator", "ann-password")
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "ann", "ann-password")
    page.get_by_text("Welcome, ann").wait_for(timeout=20000)
    assert page.locator("[data-testid='stSidebar']").get_by_text("Datasets").count() == 0


def test_load_waits_for_the_mapping_then_lists_bad_rows_of_every_kind(browser, app_server, sqlite_url, tmp_path):
    page = _datasets_page(browser, app_server, sqlite_url)
    upload = tmp_path / "mixed.jsonl"
    upload.write_text(bad_rows_file())  # a NaN, a missing answer, choices not a list, a malformed JSON line
    _upload(page, upload)
    page.get_by_text("Map question, choices, answer to a field of the file to load it.").wait_for(timeout=30000)
    assert page.locator(".st-key-ds_upload_load button").is_disabled()
    _pick(page, "ds_map_question_", "q")
    _pick(page, "ds_map_answer_", "key")
    _pick(page, "ds_map_choices_", "opts")
    load = page.locator(".st-key-ds_upload_load button")
    page.wait_for_function("el => !el.disabled", arg=load.element_handle(), timeout=30000)
    load.click()
    page.get_by_text("Nothing was stored: 4 bad rows").wait_for(timeout=30000)
    listed = page.locator("[data-testid='stCode']").inner_text().strip().splitlines()
    assert [line.split(": ")[:2] for line in listed] == [
        ["mixed.jsonl:3", "field 'key'"], ["mixed.jsonl:5", "field 'key'"], ["mixed.jsonl:7", "field 'opts'"],
        ["mixed.jsonl:9", "malformed JSON"]]
    assert _count(sqlite_url) == 0
