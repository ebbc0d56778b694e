"""Which Streamlit sessions may upload: those where an admin is signed in. Every page run
admits its Streamlit session (with the admin's token) or forgets it; the server's upload gate
(``nearmiss.app.server``) asks ``may_upload`` before it reads a byte of an upload, and
resolves the token again then, so a sign-out, revocation or demotion since the last page run
counts too."""
from __future__ import annotations

import threading

from nearmiss.auth.sessions import resolve
from nearmiss.store import Store

MAX_SESSIONS = 1000  # admitted sessions kept; the oldest is forgotten first (its next page run admits it again)
_admitted: dict[str, tuple[Store, str]] = {}  # Streamlit session id -> (store, session token)
_lock = threading.Lock()


def admit(session_id: str, store: Store, token: str) -> None:
    """Let ``session_id`` upload while ``token`` is a signed-in admin's session."""
    with _lock:
        _admitted.pop(session_id, None)
        _admitted[session_id] = (store, token)
        while len(_admitted) > MAX_SESSIONS:
            del _admitted[next(iter(_admitted))]


def forget(session_id: str) -> None:
    """No more uploads from ``session_id`` (signed out, or not an admin)."""
    with _lock:
        _admitted.pop(session_id, None)


def may_upload(session_id: str) -> bool:
    """Whether ``session_id`` holds a session of a signed-in, enabled admin now."""
    with _lock:
        entry = _admitted.get(session_id)
    if entry is None:
        return False
    who = resolve(*entry)
    return who is not None and who.role == "admin"
