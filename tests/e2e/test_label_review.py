"""The Review page in a real browser: an admin adjudicates a disagreement by key and undoes it."""
import pytest

from nearmiss.label.final_labels import load_final_labels
from nearmiss.label.labels import decide
from nearmiss.label.queue import set_overlap
from nearmiss.store import Store
from tests.conftest import sign_in_page
from tests.labeling import add_candidates, users

pytestmark = pytest.mark.e2e


def _final(store, cid: str):
    with store.session() as s:
        return load_final_labels(s, [cid])[cid]


def test_admin_adjudicates_by_key(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    cid = add_candidates(store, 1, per_item=1)[0]
    ann, bob = users(store, "ann", "bob")
    set_overlap(store, users(store, "boss", role="admin")[0], "quiz", 2)
    decide(store, ann, cid, "near_miss", request_id="a")
    decide(store, bob, cid, "invalid", request_id="b")
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "boss", "boss-password")
    page.locator("[data-testid='stSidebarNav']").get_by_text("Review").click()
    card = page.locator(".nm-root[data-mode='review']")
    card.locator(".nm-votes").filter(has_text="ann: near-miss · bob: invalid").wait_for(timeout=30000)
    assert card.get_attribute("data-cid") == cid

    page.keyboard.press("2")
    card.get_by_text("No open disagreements").wait_for(timeout=20000)
    assert (_final(store, cid).label, _final(store, cid).adjudicated) == ("far_miss", True)

    page.keyboard.press("Backspace")
    card.locator(".nm-status").filter(has_text="undone").wait_for(timeout=20000)
    assert card.get_attribute("data-cid") == cid and _final(store, cid).disputed
