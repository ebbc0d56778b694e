"""Session cookie: a tiny Streamlit component (plain JS, no build step) that keeps the
browser's session cookie in step with the server: it writes this tab's token (so a reload,
a new tab or a deep link arrive signed in; Streamlit reads it with ``st.context.cookies``)
and deletes a token the server dropped, but only while the cookie still holds that token
(another tab may have signed in since)."""
from __future__ import annotations

import time
from pathlib import Path

import streamlit as st

COOKIE = "nearmiss_session"
_cookie = st.components.v2.component("nearmiss_session_cookie", js=(Path(__file__).parent / "cookie.js").read_text())


def session_cookie(token: str | None, expires: float | None, dropped: str | None) -> None:
    """Render the (invisible) cookie keeper: write ``token`` until ``expires`` (epoch seconds),
    else delete ``dropped`` if the cookie still holds it."""
    data = {"name": COOKIE, "set": token, "max_age": max(0, int((expires or 0) - time.time())), "drop": dropped}
    _cookie(key="session_cookie", data=data)
