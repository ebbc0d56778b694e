"""What every page needs: the store, the signed-in user and the role guard.

The user is resolved from the session token on every page run and every key press (the
token from this tab's state, else from the browser's cookie), so sign-out elsewhere, an
expired or revoked session, a disabled account or a changed role apply at once."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import streamlit as st
from streamlit.runtime.pages_manager import PagesManager

from nearmiss.app.components.session_cookie import COOKIE, session_cookie
from nearmiss.auth.sessions import SignedIn, open_session, resolve, revoke
from nearmiss.errors import PermissionDenied
from nearmiss.store import Store, resolve_url

P = ParamSpec("P")
R = TypeVar("R")
ENDED = "Your session ended (signed out, expired or revoked); please sign in again."


@st.cache_resource
def store() -> Store:
    """One migrated store per server process."""
    return Store(resolve_url(os.environ.get("NEARMISS_DB")))


def _signed_in() -> SignedIn | None:
    token = st.session_state.get("auth_token")
    if token is None:
        cookie = st.context.cookies.get(COOKIE)
        token = cookie if isinstance(cookie, str) and cookie and cookie != st.session_state.get("auth_dropped") else None
    if token is None:
        return None
    who = resolve(store(), token)
    if who is None:  # never try this token again in this tab (the cookie stays until the browser drops it)
        st.session_state.clear()
        st.session_state.update(auth_dropped=token, auth_notice=ENDED)
        return None
    st.session_state.update(auth_token=token, auth_expires=who.expires_at.timestamp())
    return who


def current_user() -> dict | None:
    """The signed-in user ({id, name, role}) as the store has it now, or None."""
    who = _signed_in()
    return None if who is None else {"id": who.user_id, "name": who.name, "role": who.role}


def keep_cookie() -> None:
    """Write this tab's token into the browser's cookie, or delete a token dropped here."""
    session_cookie(st.session_state.get("auth_token"), st.session_state.get("auth_expires"),
                   st.session_state.get("auth_dropped"))


def sign_in(user_id: int) -> None:
    """Open a server-side session for ``user_id`` in this tab (the cookie follows on the next run)."""
    token, expires = open_session(store(), user_id)
    st.session_state.pop("auth_dropped", None)
    st.session_state.update(auth_token=token, auth_expires=expires.timestamp())


def sign_out() -> None:
    """Revoke this session in the store (every tab holding it is signed out) and drop the cookie."""
    token = st.session_state.get("auth_token")
    if token:
        revoke(store(), token)
    st.session_state.clear()
    st.session_state["auth_dropped"] = token


def check_user(role: str = "annotator") -> dict:
    """The signed-in user, re-read from the store, or PermissionDenied (for widget callbacks,
    e.g. a key press, where st.stop cannot show the sign-in form)."""
    user = current_user()
    if user is None:
        raise PermissionDenied("signed out: reload the page to sign in again")
    if role == "admin" and user["role"] != "admin":
        raise PermissionDenied("this is for admins only")
    return user


def progress_bar(text: str) -> Callable[[float, str], None]:
    """A progress bar on the page, moved by calling the result with (fraction, message)."""
    bar = st.progress(0.0, text=text)

    def update(fraction: float, message: str) -> None:
        bar.progress(fraction, text=message)

    return update


def guarded(handler: Callable[P, R], role: str = "annotator") -> Callable[P, R]:
    """``handler`` run only after ``check_user(role)`` passes (a key card's press or heartbeat guard)."""

    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        check_user(role)
        return handler(*args, **kwargs)

    return run


def _through_router() -> None:
    """Rerun through main.py when Streamlit ran a page file by itself: with a ``pages/`` folder
    beside main.py, the first script run of a fresh server on a deep link (e.g. /review) runs
    pages/review.py directly (Streamlit's v1 multipage mode) until st.navigation is first
    called. The rerun keeps the URL, so main.py's router serves that page (or the sign-in form)."""
    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False  # what st.navigation itself sets
        st.rerun()


def require_role(role: str = "annotator") -> dict:
    """Stop the page (server side) unless the signed-in user has ``role`` (admin has all)."""
    _through_router()
    user = current_user()
    if user is None:
        st.error("Please sign in.")
        st.stop()
    if role == "admin" and user["role"] != "admin":
        st.error("This page is for admins only.")
        st.stop()
    return user
