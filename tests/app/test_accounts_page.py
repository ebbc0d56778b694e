"""The Accounts page lists recent failed sign-ins (name, address, count, wait) for admins."""
import pytest
import streamlit as st

from nearmiss.auth import accounts
from nearmiss.auth.throttle import Throttle
from nearmiss.errors import SignInRefused
from tests.app.test_label_pages import _as
from tests.labeling import users


@pytest.fixture
def boss(sqlite_url, sqlite_store, monkeypatch):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    monkeypatch.setattr(accounts, "THROTTLE", Throttle())
    st.cache_resource.clear()
    (uid,) = users(sqlite_store, "boss", role="admin")
    yield sqlite_store, uid
    st.cache_resource.clear()


def test_accounts_page_lists_failed_sign_ins(boss):
    store, uid = boss
    assert "No recent failed sign-ins." in [c.value for c in _as("nearmiss/app/pages/accounts.py", uid, "boss",
                                                                   "admin").caption]
    for _ in range(4):
        with pytest.raises(SignInRefused):
            accounts.sign_in(store, "boss", "guess-guess", "203.0.113.7", accounts.THROTTLE)
    at = _as("nearmiss/app/pages/accounts.py", uid, "boss", "admin")
    assert not at.exception
    table = next(df.value for df in at.dataframe if "failures" in df.value.columns)
    assert table[["name", "address", "failures"]].values.tolist() == [["boss", "203.0.113.7", 4]]
    assert table["waits (s)"][0] >= 0
