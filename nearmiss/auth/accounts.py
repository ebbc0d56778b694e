"""Accounts: creation, password checks (argon2id), roles and the enabled state.

Sign-in refuses over-long input before any work, does the same work whether or not the name
exists (an unknown name is verified against a dummy hash), and throttles refused attempts per
name and address (``nearmiss.auth.throttle``). New names follow ``nearmiss.auth.names``."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nearmiss.auth.names import MAX_NAME, MAX_PASSWORD, check_name, normalize_name, same_name
from nearmiss.auth.sessions import revoke_user_sessions
from nearmiss.auth.throttle import Failures, Throttle
from nearmiss.errors import ConfigError, NotFoundError, PermissionDenied, SignInRefused
from nearmiss.store import Store
from nearmiss.store.schema import ROLES
from nearmiss.store.tables import Annotator, LoginSession, utcnow

MIN_PASSWORD = 10
_hasher = PasswordHasher()
# verified when the name is unknown, so an unknown name costs what a wrong password does
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
THROTTLE = Throttle()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"password must have at least {MIN_PASSWORD} characters (got {len(password)})")
    if len(password) > MAX_PASSWORD:
        raise ConfigError(f"password must have at most {MAX_PASSWORD} characters (got {len(password)})")


def add_user(store: Store, name: str, role: str, password: str, *, demo: bool = False) -> Annotator:
    """Create an account, or reset the role and password of an existing one (re-enabling it and
    revoking its sessions). A new name must pass ``check_name`` and differ from every other name
    ignoring case. ``demo`` accounts (the demo's own) may keep a short password and are flagged
    for the banner."""
    ROLES.lookup(role)
    if not demo:
        _check_password(password)
    with store.session() as s:
        user = s.scalar(select(Annotator).where(Annotator.name == normalize_name(name)))
        if user is None:
            name = check_name(name)
            taken = next((n for n in s.scalars(select(Annotator.name)) if same_name(n, name)), None)
            if taken is not None:
                raise ConfigError(f"account name {name!r} is taken by {taken!r} (names are compared ignoring case)")
            user = Annotator(name=name, role=role)
            s.add(user)
        else:
            revoke_user_sessions(s, user.id)
        user.role, user.password_hash, user.enabled, user.demo_password = role, _hasher.hash(password), True, demo
        s.flush()
        return user


def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether ``password`` matches; with no hash (unknown name) the dummy hash is verified
    so both paths cost one argon2 verification."""
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except VerificationError:
        return False


def authenticate(store: Store, name: str, password: str) -> Annotator | None:
    """The enabled account ``name`` if the password matches, else None (same work either way)."""
    with store.session() as s:
        user = s.scalar(select(Annotator).where(Annotator.name == normalize_name(name)))
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.enabled else None


def sign_in(store: Store, name: str, password: str, client: str, throttle: Throttle = THROTTLE) -> Annotator:
    """The account for a sign-in attempt from ``client``, or SignInRefused: a name or password
    too long (refused before any work), too many recent failures (no password is checked then),
    or a wrong name or password."""
    if len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
        raise SignInRefused(f"Name or password too long (at most {MAX_NAME} and {MAX_PASSWORD} characters).")
    name = normalize_name(name)
    wait = throttle.wait(name, client)
    if wait > 0:
        raise SignInRefused(f"Too many failed sign-ins; try again in {wait:.0f} s.")
    user = authenticate(store, name, password)
    if user is None:
        throttle.failed(name, client)
        raise SignInRefused("Unknown name or wrong password (or the account is disabled).")
    throttle.succeeded(name, client)
    return user


def failed_sign_ins(limit: int = 20) -> list[Failures]:
    """Recent failed sign-ins per (name, address) in this server process, most first (for admins)."""
    return THROTTLE.failures(limit)


def get_user(store: Store, user_id: int) -> Annotator | None:
    with store.session() as s:
        return s.get(Annotator, user_id)


def require_role(session: Session, user_id: int, role: str = "admin") -> Annotator:
    """The enabled annotator ``user_id``, or PermissionDenied unless it has ``role`` (admins have every role)."""
    user = session.get(Annotator, user_id)
    if user is None:
        raise PermissionDenied(f"unknown annotator id {user_id}")
    if not user.enabled:
        raise PermissionDenied(f"the account '{user.name}' is disabled")
    if role == "admin" and user.role != "admin":
        raise PermissionDenied(f"'{user.name}' is an {user.role}; this action is for admins")
    return user


@dataclass(frozen=True)
class Account:
    """An account as the admin lists it."""

    name: str
    role: str
    enabled: bool
    demo_password: bool
    active_sessions: int
    created_at: datetime


def list_users(store: Store) -> list[Account]:
    """Every account with its number of active sessions, by name."""
    now = utcnow()
    active = (select(LoginSession.annotator_id, func.count().label("n"))
              .where(LoginSession.revoked_at.is_(None), LoginSession.expires_at > now)
              .group_by(LoginSession.annotator_id).subquery())
    with store.session() as s:
        rows = s.execute(select(Annotator, func.coalesce(active.c.n, 0))
                         .outerjoin(active, active.c.annotator_id == Annotator.id).order_by(Annotator.name)).all()
    return [Account(u.name, u.role, u.enabled, u.demo_password, n, u.created_at) for u, n in rows]


def demo_accounts(store: Store) -> list[str]:
    """Names of enabled accounts that still have the demo's password."""
    with store.session() as s:
        return list(s.scalars(select(Annotator.name).where(Annotator.demo_password, Annotator.enabled)
                              .order_by(Annotator.name)))


def _named(s: Session, name: str) -> Annotator:
    user = s.scalar(select(Annotator).where(Annotator.name == normalize_name(name)))
    if user is None:
        raise NotFoundError(f"no account named '{name}'")
    return user


def set_password(store: Store, name: str, password: str, keep_session: int | None = None) -> int:
    """Give an account a new password (MIN_PASSWORD to MAX_PASSWORD characters) and clear the
    demo flag; every session of the account but ``keep_session`` (the one that asked) is
    revoked. Returns how many were."""
    _check_password(password)
    with store.session() as s:
        user = _named(s, name)
        user.password_hash, user.demo_password = _hasher.hash(password), False
        return revoke_user_sessions(s, user.id, keep=keep_session)


def set_role(store: Store, name: str, role: str) -> None:
    """Change an account's role; it takes effect on the account's next page run or key."""
    ROLES.lookup(role)
    with store.session() as s:
        _named(s, name).role = role


def set_enabled(store: Store, name: str, enabled: bool) -> None:
    """Enable or disable an account; disabling also revokes all its sessions."""
    with store.session() as s:
        user = _named(s, name)
        user.enabled = enabled
        if not enabled:
            revoke_user_sessions(s, user.id)
