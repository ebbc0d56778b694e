"""Accounts in a real browser (Streamlit server + Debian Chromium), one server for the module: an
admin adds an annotator with a one-time password on the Accounts page; the annotator signs in
with it, gets no page (a deep link included) until they choose their own, then labels a card.
A disabled annotator's open Label page is refused at its next key, and they cannot sign in."""
import time

import pytest
from sqlalchemy import select

from nearmiss.auth.audit import account_log
from nearmiss.store import Store
from nearmiss.store.tables import Annotator, Label
from tests.conftest import ARTIFACTS, AppServer, sign_in_page
from tests.labeling import add_candidates, users

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(the app's server, its store) with 3 items to label and the admin 'boss'."""
    folder = tmp_path_factory.mktemp("accounts")
    url = f"sqlite:///{folder / 'store.db'}"
    store = Store(url)
    add_candidates(store, 3)
    users(store, "boss", role="admin")
    server = AppServer(url, folder / "streamlit.log").start()
    yield server, store
    server.stop()
    store.dispose()


def _accounts_page(browser, server):
    page = sign_in_page(browser, server, "boss", "boss-password")
    page.locator("[data-testid='stSidebarNav']").get_by_text("Accounts").click()
    page.locator(".st-key-accounts_add").wait_for(timeout=30000)
    return page


def _label_page(page) -> None:
    page.locator("[data-testid='stSidebarNav']").get_by_text("Label").click()
    page.locator(".nm-root").wait_for(timeout=30000)


def _decisions(store: Store, name: str) -> list[str]:
    with store.session() as s:
        return list(s.scalars(select(Label.label).join(Annotator, Annotator.id == Label.annotator_id)
                              .where(Annotator.name == name, Label.kind == "decision")))


def test_an_added_annotator_signs_in_with_a_one_time_password_sets_their_own_and_labels(browser, served):
    server, store = served
    admin = _accounts_page(browser, server)
    admin.locator(".st-key-accounts_new_name input").fill("nina")
    admin.locator(".st-key-accounts_new_name input").press("Tab")
    admin.locator(".st-key-accounts_add button").click()  # one-time password is the default
    shown = admin.locator("[data-testid='stCode']")
    shown.wait_for(timeout=30000)
    given = shown.inner_text().strip()
    assert len(given) == 14
    ARTIFACTS.mkdir(exist_ok=True)
    admin.screenshot(path=str(ARTIFACTS / "accounts-one-time-password.png"), full_page=True)
    admin.context.close()

    nina = sign_in_page(browser, server, "nina", given)
    nina.locator("[data-testid='stMain'] h1").filter(has_text="Choose your password").wait_for(timeout=30000)
    nina.goto(f"{server.url}/label")  # a deep link to a page: still only the form
    nina.locator("[data-testid='stMain'] h1").filter(has_text="Choose your password").wait_for(timeout=30000)
    assert nina.locator(".nm-root").count() == 0 and nina.locator("[data-testid='stSidebarNav']").count() == 0
    nina.locator(".st-key-newpw_password input").fill("nina-own-password")
    nina.locator(".st-key-newpw_again input").fill("nina-own-password")
    nina.get_by_role("button", name="Set password").click()
    nina.locator(".nm-root").wait_for(timeout=30000)  # the page the link asked for
    nina.keyboard.press("1")
    deadline = time.time() + 30
    while not _decisions(store, "nina"):
        assert time.time() < deadline, "the key was never stored"
        time.sleep(0.3)
    assert _decisions(store, "nina") == ["near_miss"]
    assert [(e.actor, e.action) for e in account_log(store, "nina")] == [("nina", "password changed"),
                                                                         ("boss", "added")]
    nina.context.close()


def test_a_disabled_annotators_open_page_is_refused_at_its_next_key(browser, served):
    server, store = served
    users(store, "dora")
    dora = sign_in_page(browser, server, "dora", "dora-password")
    _label_page(dora)
    admin = _accounts_page(browser, server)
    admin.locator(".st-key-accounts_name input").click()
    admin.get_by_role("option", name="dora", exact=True).click()
    admin.get_by_text("Reset the password of dora").wait_for(timeout=30000)
    admin.locator(".st-key-accounts_disable button").click()
    admin.get_by_text("dora disabled; 1 session(s) revoked").wait_for(timeout=30000)

    dora.keyboard.press("1")
    dora.locator(".nm-status").filter(has_text="not taken: signed out").wait_for(timeout=30000)
    assert _decisions(store, "dora") == []
    dora.locator("[data-testid='stSidebarNav']").get_by_text("Home").click()
    dora.get_by_text("Your session ended").wait_for(timeout=30000)
    dora.locator(".st-key-signin_name input").fill("dora")
    dora.locator(".st-key-signin_password input").fill("dora-password")
    dora.get_by_role("button", name="Sign in").click()
    dora.get_by_text("(or the account is disabled)").wait_for(timeout=30000)
    assert [(e.actor, e.action) for e in account_log(store, "dora", limit=1)] == [("boss", "disabled")]
    admin.context.close()
    dora.context.close()
