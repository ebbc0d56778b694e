"""Sign-in sessions in a real browser: a deep link survives sign-in, a reload and a new tab
stay signed in (the token the browser stores), sign-out in one tab signs out the other, revoked and
expired sessions are refused, an annotator's deep link to an admin page is refused."""
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from nearmiss.app.components.session_token import STORAGE_KEY
from nearmiss.auth.accounts import add_user, revoke_sessions
from nearmiss.auth.sessions import list_sessions
from nearmiss.store import Store
from nearmiss.store.tables import Label, LoginSession, utcnow
from tests.conftest import ARTIFACTS
from tests.labeling import add_candidates, users

pytestmark = pytest.mark.e2e
FIRST_RUN_MS = 90000  # a fresh server's first script run imports the whole app (slow on a busy machine)


def _sign_in(page, name: str, password: str) -> None:
    page.locator(".st-key-signin_name input").fill(name)
    page.locator(".st-key-signin_password input").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=20000)


def _token_stored(page) -> None:
    """Wait until the browser holds the session token (stored by the app after sign-in)."""
    for _ in range(100):
        if page.evaluate(f"window.localStorage.getItem('{STORAGE_KEY}')"):
            return
        page.wait_for_timeout(100)
    raise AssertionError("the session token was never stored")


def _title(page, text: str) -> None:
    page.locator("[data-testid='stMain'] h1").filter(has_text=text).wait_for(timeout=20000)


def _signed_out(page, timeout: int = 20000) -> None:
    page.get_by_role("button", name="Sign in").wait_for(timeout=timeout)
    # the sidebar of the signed-in render stays on screen (stale) until the signed-out run finishes
    page.get_by_text("Signed in as").wait_for(state="detached", timeout=timeout)
    assert page.get_by_text("Signed in as").count() == 0


def test_reload_new_tab_deep_link_and_sign_out(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    users(store, "boss", role="admin")
    add_user(store, "admin", "admin", "admin", demo=True)
    server = app_server(sqlite_url)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    tab = context.new_page()
    tab.goto(f"{server.url}/review")  # a deep link while signed out: the sign-in form, then that page
    _signed_out(tab, FIRST_RUN_MS)
    assert tab.get_by_text("still have the demo password").count() == 0  # for admins only
    _sign_in(tab, "boss", "boss-password")
    _title(tab, "Review")
    assert tab.get_by_text("still have the demo password (admin)").count() == 1
    assert tab.url.endswith("/review")
    _token_stored(tab)

    tab.reload()  # F5: same page, still signed in
    _title(tab, "Review")
    assert tab.get_by_text("Signed in as boss (admin)").count() == 1
    second = context.new_page()  # a second tab on an admin page opens signed in
    second.goto(f"{server.url}/review")
    _title(second, "Review")
    assert len(list_sessions(store, "boss")) == 1  # both tabs share one server-side session

    tab.locator(".st-key-sign_out button").click()
    _signed_out(tab)
    second.locator("[data-testid='stSidebarNav']").get_by_text("Home").click()  # its next action is refused
    _signed_out(second)
    assert second.get_by_text("Welcome, boss").count() == 0 and list_sessions(store, "boss") == []
    second.screenshot(path=str(ARTIFACTS / "signed-out-second-tab.png"))
    second.reload()  # the stored token is gone too
    _signed_out(second)
    context.close()


def test_revoked_session_refuses_keys_and_expired_session_reloads_signed_out(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    add_candidates(store, 2)
    (ann,) = users(store, "ann")
    server = app_server(sqlite_url)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(f"{server.url}/review")  # an annotator's deep link to an admin page
    _signed_out(page, FIRST_RUN_MS)
    _sign_in(page, "ann", "ann-password")
    page.get_by_text("This page is for admins only.").wait_for(timeout=20000)
    assert page.get_by_text("Agreement").count() == 0
    assert page.locator("[data-testid='stSidebarNav']").get_by_text("Review").count() == 0

    page.locator("[data-testid='stSidebarNav']").get_by_text("Label").click()
    page.locator(".nm-root").wait_for(timeout=30000)
    (session,) = list_sessions(store, "ann")
    revoke_sessions(store, [session.id])  # an admin revokes it (Accounts page / nearmiss user revoke)
    page.keyboard.press("1")
    page.locator(".nm-status").filter(has_text="not taken: signed out").wait_for(timeout=20000)
    with store.session() as s:
        assert s.scalars(select(Label).where(Label.annotator_id == ann)).all() == []
    page.locator("[data-testid='stSidebarNav']").get_by_text("Home").click()
    _signed_out(page)
    page.get_by_text("Your session ended").wait_for(timeout=20000)

    _sign_in(page, "ann", "ann-password")
    _token_stored(page)
    with store.session() as s:  # the new session runs out
        s.execute(update(LoginSession).where(LoginSession.revoked_at.is_(None))
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    page.reload()
    _signed_out(page)
    page.get_by_text("Your session ended").wait_for(timeout=20000)
    context.close()
