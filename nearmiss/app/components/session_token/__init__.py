"""Session token keeper: a tiny Streamlit component (plain JS, no build step) that keeps this
tab's session token in the browser's ``localStorage``. Unlike a cookie, which the browser
sends to every port of its host (a page served on another port gets it with each request,
``HttpOnly`` and ``SameSite=Strict`` or not) and along with a websocket that any same-site page
opens, ``localStorage`` belongs to one origin (scheme, host and port) and never travels by
itself. The keeper stores a sign-in's token, removes a token the server dropped (only while
storage still holds it: another tab may have signed in since), and, when a tab connects
without a token, hands the stored one to the server once (``on_stored``; read it with
``stored_token``), so a reload, a new tab or a deep link arrive signed in."""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import streamlit as st

STORAGE_KEY = "nearmiss_session"
_KEY = "session_token"
_keeper = st.components.v2.component("nearmiss_session_token", js=(Path(__file__).parent / "token.js").read_text())


def session_token(token: str | None, dropped: str | None, *, ask: bool, on_stored: Callable[[], None]) -> None:
    """Render the (invisible) keeper: store ``token``, else remove ``dropped`` if storage still
    holds it; with ``ask``, send the stored token (or "") back, which calls ``on_stored``."""
    _keeper(key=_KEY, data={"key": STORAGE_KEY, "set": token, "drop": dropped, "ask": ask},
            on_stored_change=on_stored)


def stored_token() -> str:
    """The token the browser sent back (in ``on_stored``): "" when it holds none."""
    value = (st.session_state.get(_KEY) or {}).get("stored")
    token = value.get("token") if isinstance(value, dict) else None
    return token if isinstance(token, str) else ""
