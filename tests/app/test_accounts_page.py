"""The Accounts page (admins): adding an account with a one-time password shown once, a typed
password that must match, refusals shown as one line, the account log; recent failed sign-ins.
Through main.py: the demo banner for admins only, and an account with a one-time or demo
password sees nothing but the form to choose its own."""
import pytest
import streamlit as st
from streamlit.testing.v1 import AppTest

from nearmiss.auth import accounts
from nearmiss.auth.accounts import add_user, authenticate
from nearmiss.auth.audit import account_log
from nearmiss.auth.throttle import Throttle
from nearmiss.errors import SignInRefused
from tests.app.test_label_pages import _as
from tests.conftest import ROOT
from tests.labeling import signed_in, users

PAGE = "nearmiss/app/pages/accounts.py"


@pytest.fixture
def boss(sqlite_url, sqlite_store, monkeypatch):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    monkeypatch.setattr(accounts, "THROTTLE", Throttle())
    st.cache_resource.clear()
    (uid,) = users(sqlite_store, "boss", role="admin")
    yield sqlite_store, uid
    st.cache_resource.clear()


def _errors(at: AppTest) -> list[str]:
    """The page's error lines as the user reads them (the Markdown escapes removed)."""
    return [e.value.replace("\\", "") for e in at.error]


def test_accounts_page_lists_failed_sign_ins(boss):
    store, uid = boss
    assert "No recent failed sign-ins." in [c.value for c in _as(PAGE, uid, "boss", "admin").caption]
    for _ in range(4):
        with pytest.raises(SignInRefused):
            accounts.sign_in(store, "boss", "guess-guess", "203.0.113.7", accounts.THROTTLE)
    at = _as(PAGE, uid, "boss", "admin")
    assert not at.exception
    table = next(df.value for df in at.dataframe if "failures" in df.value.columns)
    assert table[["name", "address", "failures"]].values.tolist() == [["boss", "203.0.113.7", 4]]
    assert table["waits (s)"][0] >= 0


def test_an_admin_adds_accounts_and_sees_each_change_logged(boss):
    store, uid = boss
    at = _as(PAGE, uid, "boss", "admin")
    at.text_input(key="accounts_new_name").input("nina")
    at.button(key="accounts_add").click().run()
    (given,) = [c.value for c in at.code]
    assert authenticate(store, "nina", given).must_change_password and not at.error
    assert at.text_input(key="accounts_new_name").value == ""
    at.run()
    assert not at.code  # shown once
    at.text_input(key="accounts_new_name").input("omar")
    at.selectbox(key="accounts_new_role").select("admin")
    at.radio(key="accounts_new_how").set_value("Type a password").run()
    at.text_input(key="accounts_new_pw").input("omar-password")
    at.text_input(key="accounts_new_again").input("omar-passw0rd")
    at.button(key="accounts_add").click().run()
    assert _errors(at) == ["the two passwords differ: type the same password twice"]
    assert at.text_input(key="accounts_new_pw").value == ""  # no password stays in the tab
    at.text_input(key="accounts_new_pw").input("omar-password")
    at.text_input(key="accounts_new_again").input("omar-password")
    at.button(key="accounts_add").click().run()
    assert authenticate(store, "omar", "omar-password").role == "admin" and not at.code
    at.selectbox(key="accounts_name").select("boss").run()
    at.button(key="accounts_disable").click().run()
    assert _errors(at) == ["you cannot disable your own account (another admin can)"]
    log = next(df.value for df in at.dataframe if "action" in df.value.columns)
    assert log[["by", "action", "account"]].values.tolist()[:2] == [["boss", "added", "omar"], ["boss", "added", "nina"]]
    assert [e.actor for e in account_log(store, "nina")] == ["boss"]


def test_a_one_time_password_opens_no_page_and_the_banner_is_for_admins(boss):
    store, _ = boss
    add_user(store, "admin", "admin", "admin", demo=True)
    main = str(ROOT / "nearmiss/app/main.py")
    admin = signed_in(AppTest.from_file(main, default_timeout=120), store, "boss", "admin").run()
    assert any("demo password (admin)" in w.value and "Accounts page" in w.value for w in admin.warning)
    ann = signed_in(AppTest.from_file(main, default_timeout=120), store, "ann").run()
    assert not ann.warning and not ann.error
    demo = signed_in(AppTest.from_file(main, default_timeout=120), store, "admin").run()
    assert [t.value for t in demo.title] == ["Choose your password"] and not demo.warning
    demo.switch_page(str(ROOT / "nearmiss/app/pages/accounts.py")).run()
    assert [t.value for t in demo.title] == ["Choose your password"]  # asked by URL: still the form
    demo.text_input(key="newpw_password").input("admin-own-password")
    demo.text_input(key="newpw_again").input("admin-own-password")
    demo.button[0].click().run()
    assert [t.value for t in demo.title] == ["Accounts"] and not demo.warning  # no demo password left
