"""Sign-in sessions kept in the store: the browser holds a random token (a cookie), the
store only its sha256, the account, the times and the revocation. Every page run and every
key resolves the token again, so a revoked session, a disabled account (disabling also revokes
its sessions), a changed role or a password to set take effect at once."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from nearmiss.store import Store
from nearmiss.store.tables import Annotator, LoginSession, as_utc, utcnow
from nearmiss.store.writes import rows_changed

SESSION_TTL = timedelta(hours=8)
TOUCH_EVERY = timedelta(minutes=1)  # last_seen is written at most this often per session


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class SignedIn:
    """The account behind a valid token, as the store has it now."""

    user_id: int
    name: str
    role: str
    session_id: int
    expires_at: datetime
    must_change_password: bool  # no page works until the account sets its own password


@dataclass(frozen=True)
class SessionInfo:
    id: int
    user: str
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        return "expired" if as_utc(self.expires_at) <= utcnow() else "active"


def open_session(store: Store, user_id: int, ttl: timedelta = SESSION_TTL) -> tuple[str, datetime]:
    """A new session for ``user_id``: its token (give it to the browser, never store it) and expiry."""
    token, now = secrets.token_urlsafe(32), utcnow()
    with store.session() as s:
        s.add(LoginSession(token_hash=hash_token(token), annotator_id=user_id, created_at=now, last_seen_at=now,
                           expires_at=now + ttl))
    return token, now + ttl


def resolve(store: Store, token: str) -> SignedIn | None:
    """The signed-in account for ``token``, or None when it is unknown, expired, revoked or
    its account is disabled."""
    now = utcnow()
    with store.session() as s:
        row = s.execute(select(LoginSession, Annotator).join(Annotator, Annotator.id == LoginSession.annotator_id)
                        .where(LoginSession.token_hash == hash_token(token))).first()
        if row is None:
            return None
        sess, user = row
        if sess.revoked_at is not None or as_utc(sess.expires_at) <= now or not user.enabled:
            return None
        if now - as_utc(sess.last_seen_at) >= TOUCH_EVERY:
            sess.last_seen_at = now
        return SignedIn(user.id, user.name, user.role, sess.id, as_utc(sess.expires_at), user.must_change_password)


def revoke(store: Store, token: str) -> None:
    """Revoke the session of ``token`` (sign-out): every tab holding it is signed out."""
    with store.session() as s:
        s.execute(update(LoginSession).where(LoginSession.token_hash == hash_token(token),
                                             LoginSession.revoked_at.is_(None)).values(revoked_at=utcnow()))


def close_sessions(s: Session, ids: list[int]) -> int:
    """Revoke sessions by id inside the caller's transaction; returns how many were still open
    (an admin's revocation: ``nearmiss.auth.accounts.revoke_sessions``, which logs it)."""
    return rows_changed(s, update(LoginSession).where(LoginSession.id.in_(ids), LoginSession.revoked_at.is_(None))
                        .values(revoked_at=utcnow()))


def revoke_user_sessions(s: Session, user_id: int, keep: int | None = None) -> int:
    """Revoke every open session of an account but ``keep`` (a session id), inside the caller's transaction."""
    q = update(LoginSession).where(LoginSession.annotator_id == user_id, LoginSession.revoked_at.is_(None))
    if keep is not None:
        q = q.where(LoginSession.id != keep)
    return rows_changed(s, q.values(revoked_at=utcnow()))


def list_sessions(store: Store, user: str | None = None, active_only: bool = True) -> list[SessionInfo]:
    """Sessions, newest first; only active ones unless ``active_only`` is False."""
    q = (select(LoginSession, Annotator.name).join(Annotator, Annotator.id == LoginSession.annotator_id)
         .order_by(LoginSession.created_at.desc(), LoginSession.id.desc()))
    if user is not None:
        q = q.where(Annotator.name == user)
    if active_only:
        q = q.where(LoginSession.revoked_at.is_(None), LoginSession.expires_at > utcnow())
    with store.session() as s:
        return [SessionInfo(x.id, name, as_utc(x.created_at), as_utc(x.last_seen_at), as_utc(x.expires_at),
                            x.revoked_at and as_utc(x.revoked_at)) for x, name in s.execute(q)]
