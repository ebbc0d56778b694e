"""Which Streamlit sessions may upload: those where an admin is signed in. Every page run
admits its Streamlit session (with the admin's token) or forgets it; the server's upload gate
(``nearmiss.app.server``) asks ``may_upload`` before it reads a byte of an upload, and
resolves the token again then, so a sign-out, revocation or demotion since the last page run
counts too. One session's uploads may hold at most MAX_HELD_MB of the server's memory at once
(Streamlit keeps every file a session uploads until the page drops it or the session ends)."""
from __future__ import annotations

import threading

from nearmiss.auth.sessions import resolve
from nearmiss.load.limits import MAX_UPLOAD_MB
from nearmiss.store import Store

MAX_SESSIONS = 1000  # admitted sessions kept; the oldest is forgotten first (its next page run admits it again)
MAX_HELD_MB = 2 * MAX_UPLOAD_MB  # a file being replaced and its replacement
_admitted: dict[str, tuple[Store, str]] = {}  # Streamlit session id -> (store, session token)
_held: dict[str, dict[str, int]] = {}  # Streamlit session id -> file id -> bytes announced
_lock = threading.Lock()


def admit(session_id: str, store: Store, token: str) -> None:
    """Let ``session_id`` upload while ``token`` is a signed-in admin's session."""
    with _lock:
        _admitted.pop(session_id, None)
        _admitted[session_id] = (store, token)
        while len(_admitted) > MAX_SESSIONS:
            oldest = next(iter(_admitted))
            del _admitted[oldest]
            _held.pop(oldest, None)


def forget(session_id: str) -> None:
    """No more uploads from ``session_id`` (signed out, or not an admin)."""
    with _lock:
        _admitted.pop(session_id, None)
        _held.pop(session_id, None)


def hold(session_id: str, file_id: str, size: int) -> bool:
    """Count an upload of ``size`` bytes as held by ``session_id`` (replacing a file of the same id);
    False, counting nothing, where the session's uploads would then hold more than MAX_HELD_MB."""
    with _lock:
        files = _held.setdefault(session_id, {})
        if sum(n for f, n in files.items() if f != file_id) + size > MAX_HELD_MB * 2**20:
            return False
        files[file_id] = size
        return True


def release(session_id: str, file_id: str) -> None:
    """The page dropped an uploaded file: its bytes no longer count."""
    with _lock:
        _held.get(session_id, {}).pop(file_id, None)


def may_upload(session_id: str) -> bool:
    """Whether ``session_id`` holds a session of a signed-in, enabled admin now."""
    with _lock:
        entry = _admitted.get(session_id)
    if entry is None:
        return False
    who = resolve(*entry)
    return who is not None and who.role == "admin"
