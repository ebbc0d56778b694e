"""What every page needs: the store, the signed-in user and the role guard."""
from __future__ import annotations

import os
import time

import streamlit as st

from curator.store import Store, resolve_url

SESSION_SECONDS = 8 * 3600


@st.cache_resource
def store() -> Store:
    """One migrated store per server process."""
    return Store(resolve_url(os.environ.get("NEARMISS_DB")))


def current_user() -> dict | None:
    """The signed-in user ({id, name, role}) or None when signed out or expired."""
    user = st.session_state.get("user")
    if user and user["expires"] < time.time():
        st.session_state.pop("user", None)
        st.session_state["expired"] = True
        return None
    return user


def sign_in(user_id: int, name: str, role: str) -> None:
    st.session_state["user"] = {"id": user_id, "name": name, "role": role, "expires": time.time() + SESSION_SECONDS}


def sign_out() -> None:
    st.session_state.clear()


def require_role(role: str = "annotator") -> dict:
    """Stop the page (server side) unless the signed-in user has ``role`` (admin has all)."""
    user = current_user()
    if user is None:
        st.error("Please sign in.")
        st.stop()
    if role == "admin" and user["role"] != "admin":
        st.error("This page is for admins only.")
        st.stop()
    return user
