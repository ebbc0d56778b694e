"""No page shows where the server keeps things: an admin walks every page (after an export
and with an upload staged, so their results are on screen too) and the rendered text holds
none of the store file's path, the store URL, the temp folder, the repository or the home folder."""
import json
import tempfile
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from nearmiss.store import Store
from tests.conftest import ROOT, sign_in_page
from tests.export_store import build_labeled_store
from tests.traces import add_traces

pytestmark = pytest.mark.e2e


def _text(page) -> str:
    """Everything the page holds as text, folded expanders included, once it stopped changing."""
    before = None
    for _ in range(30):
        page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60000)
        now = page.locator("body").text_content() or ""
        if now == before:
            return now
        before = now
        page.wait_for_timeout(1000)
    raise AssertionError("the page kept changing for 30 s")


def test_no_page_shows_a_server_path_or_the_store_url(browser, app_server, sqlite_url, tmp_path):
    store = Store(sqlite_url)
    build_labeled_store(store)
    add_traces(store, 2)  # failed trajectories: labels from their outcome on Review and Export
    store.dispose()
    secrets = {"store URL": sqlite_url, "store file": str(make_url(sqlite_url).database),
               "temp folder": tempfile.gettempdir(), "repository": str(ROOT), "home folder": str(Path.home())}
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "admin", "admin-password")
    nav = page.locator("[data-testid='stSidebarNav']")

    nav.locator("a").first.wait_for(timeout=30000)
    links = nav.locator("a")
    pages = [(links.nth(i).inner_text().strip(), links.nth(i).get_attribute("href")) for i in range(links.count())]
    assert {"Home", "Datasets", "Export", "Review", "Accounts"} <= {title for title, _ in pages}  # the admin's menu
    shown: dict[str, str] = {}
    heading = "h1"
    for title, href in pages:
        before = page.locator(heading).first.inner_text() if page.locator(heading).count() else ""
        moved = page.url != href
        nav.get_by_text(title, exact=True).click()
        page.wait_for_url(href, timeout=30000)
        if moved:  # another page: wait for its heading in place of the one before
            page.wait_for_function("([sel, before]) => { const h = document.querySelector(sel); "
                                   "return h && h.innerText !== before; }", arg=[heading, before], timeout=30000)
        if title == "Export":
            page.locator(".st-key-export_run button").click()
            page.locator(".st-key-export_download_zip button").wait_for(timeout=60000)
            page.get_by_text("Manifest", exact=True).click()
        if title == "Datasets":
            upload = tmp_path / "quiz.jsonl"
            upload.write_text(json.dumps({"question": "1+1?", "choices": ["2", "3"], "answer": 0}) + "\n")
            page.get_by_role("tab", name="Upload a file").click()
            page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(upload))
            page.locator(".st-key-ds_upload_load button").wait_for(timeout=30000)
        shown[title] = _text(page)
    assert "nearmiss-dpo" in shown["Export"] and '"store"' in shown["Export"]  # the manifest was on screen
    assert "2 failed by their outcome" in shown["Review"] and "2 failed by their outcome" in shown["Export"]
    leaks = [(title, what) for title, text in shown.items() for what, value in secrets.items() if value in text]
    assert leaks == []
    page.context.close()
