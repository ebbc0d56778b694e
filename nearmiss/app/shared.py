"""What every page needs: the store, the signed-in user and the role guard.

The user is resolved from the session token on every page run and every key press (the
token from this tab's state, else the one the browser stored, see
``components/session_token``), so sign-out elsewhere, an expired or revoked session, a
disabled account, a changed role or a password to set (one-time or demo) apply at once. A connection whose Origin is not the app's
own (``nearmiss.auth.origin``: a page on another port or site that opened the app's
websocket) is signed out, whatever it sends. A signed-in admin's Streamlit session may upload
(``nearmiss.app.uploads``), once the admin has chosen their own password; no other may."""
from __future__ import annotations

import os
from collections.abc import Callable
from typing import ParamSpec, TypeVar

import streamlit as st
from streamlit import config
from streamlit.runtime.pages_manager import PagesManager
from streamlit.runtime.scriptrunner import get_script_run_ctx

from nearmiss.app import uploads
from nearmiss.app.components.session_token import session_token, stored_token
from nearmiss.auth.origin import is_own_origin, public_url
from nearmiss.auth.sessions import SignedIn, open_session, resolve, revoke
from nearmiss.errors import PermissionDenied
from nearmiss.store import Store, resolve_url

P = ParamSpec("P")
R = TypeVar("R")
ENDED = "Your session ended (signed out, expired or revoked); please sign in again."
SET_PASSWORD_FIRST = "set your own password first (the page asks for it)"


@st.cache_resource
def store() -> Store:
    """One migrated store per server process."""
    return Store(resolve_url(os.environ.get("NEARMISS_DB")))


def foreign_origin() -> str | None:
    """The Origin of this tab's connection when it is not the app's own (the header's value, or
    "none"); None for the app's own, and where there is no browser connection (AppTest)."""
    headers = st.context.headers
    if not headers:
        return None
    origin = headers.get("Origin")
    own = is_own_origin(origin, headers.get("Host"), tls=bool(config.get_option("server.sslCertFile")),
                        public=public_url())
    return None if own else origin or "none"


def _session_id() -> str | None:
    ctx = get_script_run_ctx()
    return ctx.session_id if ctx else None


def _signed_in() -> SignedIn | None:
    """The session of this tab, from a connection of the app's own origin; admits this
    Streamlit session to uploads for an admin, else forgets it."""
    who = None if foreign_origin() else _resolve_token()
    session_id = _session_id()
    if session_id is not None:
        if who is not None and who.role == "admin" and not who.must_change_password:
            uploads.admit(session_id, store(), st.session_state["auth_token"])
        else:
            uploads.forget(session_id)
    return who


def _resolve_token() -> SignedIn | None:
    token = st.session_state.get("auth_token") or st.session_state.pop("auth_stored", None)
    if token is None:
        return None
    who = resolve(store(), token)
    if who is None:  # never try this token again in this tab (the browser removes it on this run)
        st.session_state.clear()
        st.session_state.update(auth_dropped=token, auth_notice=ENDED, auth_asked=True)
        return None
    st.session_state["auth_token"] = token
    return who


def current_user() -> dict | None:
    """The signed-in user ({id, name, role, session, must_change}) as the store has it now, or
    None. ``must_change``: the account has a one-time or demo password, and no page works until
    it sets its own (``main.py`` shows that form instead)."""
    who = _signed_in()
    return None if who is None else {"id": who.user_id, "name": who.name, "role": who.role,
                                     "session": who.session_id, "must_change": who.must_change_password}


def _take_stored() -> None:
    """The browser answered: remember that, and the token it holds unless this tab dropped it.
    Only its first answer counts (the component's state is sent again after a sign-out)."""
    if st.session_state.get("auth_asked"):
        return
    st.session_state["auth_asked"] = True
    token = stored_token()
    if token and token != st.session_state.get("auth_dropped"):
        st.session_state["auth_stored"] = token


def awaiting_token() -> bool:
    """Whether this tab's browser has yet to say which token it holds (so the sign-in form
    would show for a moment before its page); never on a foreign origin or without a browser."""
    return (not st.session_state.get("auth_asked") and "auth_token" not in st.session_state
            and bool(st.context.headers) and foreign_origin() is None)


def keep_token() -> None:
    """Keep the browser's stored token in step with this tab: store its token, remove one
    dropped here, or ask for the stored one while ``awaiting_token``. A foreign connection is
    never sent a token."""
    token = None if foreign_origin() else st.session_state.get("auth_token")
    session_token(token, st.session_state.get("auth_dropped"), ask=awaiting_token(), on_stored=_take_stored)


def sign_in(user_id: int) -> None:
    """Open a server-side session for ``user_id`` in this tab (the browser stores it on the next run)."""
    st.session_state.pop("auth_dropped", None)
    st.session_state["auth_token"] = open_session(store(), user_id)[0]


def sign_out() -> None:
    """Revoke this session in the store (every tab holding it is signed out); the browser removes it."""
    token = st.session_state.get("auth_token")
    if token:
        revoke(store(), token)
    if (session_id := _session_id()) is not None:
        uploads.forget(session_id)
    st.session_state.clear()
    st.session_state.update(auth_dropped=token, auth_asked=True)


def check_user(role: str = "annotator") -> dict:
    """The signed-in user, re-read from the store, or PermissionDenied (for widget callbacks,
    e.g. a key press, where st.stop cannot show the sign-in form)."""
    user = current_user()
    if user is None:
        raise PermissionDenied("signed out: reload the page to sign in again")
    if user["must_change"]:
        raise PermissionDenied(SET_PASSWORD_FIRST)
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
    if user["must_change"]:
        st.error(SET_PASSWORD_FIRST.capitalize() + ".")
        st.stop()
    if role == "admin" and user["role"] != "admin":
        st.error("This page is for admins only.")
        st.stop()
    return user
