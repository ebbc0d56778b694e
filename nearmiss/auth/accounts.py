"""Accounts: creation, password checks (argon2id), roles and the enabled state.

Every change is logged (``nearmiss.auth.audit``) in its own transaction, which no other account
change overlaps; none may leave the store without an enabled admin, and an admin cannot disable
their own account. A one-time password (an admin's reset, or a new account's) and the demo's
passwords must be replaced by their owner at first sign-in (``must_change_password``).

Sign-in refuses over-long input before any work, does the same work whether or not the name
exists (an unknown name is verified against a dummy hash), and throttles refused attempts per
name and address (``nearmiss.auth.throttle``). New names follow ``nearmiss.auth.names``."""
from __future__ import annotations

import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from nearmiss.auth.audit import Actor, command_line, record
from nearmiss.auth.names import MAX_NAME, MAX_PASSWORD, check_name, same_name
from nearmiss.auth.sessions import close_sessions, revoke_user_sessions
from nearmiss.auth.throttle import Failures, Throttle
from nearmiss.errors import ConfigError, NotFoundError, PermissionDenied, SignInRefused
from nearmiss.names import nfc
from nearmiss.store import Store
from nearmiss.store.schema import ROLES
from nearmiss.store.tables import Annotator, LoginSession, utcnow
from nearmiss.store.writes import exclusive_transaction

MIN_PASSWORD = 10
OTP_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i look-alikes
ACCOUNTS_LOCK_KEY = 0x6E6D6163  # "nmac": account changes take this advisory lock on PostgreSQL
_hasher = PasswordHasher()
# verified when the name is unknown, so an unknown name costs what a wrong password does
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
THROTTLE = Throttle()


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        raise ConfigError(f"password must have at least {MIN_PASSWORD} characters (got {len(password)})")
    if len(password) > MAX_PASSWORD:
        raise ConfigError(f"password must have at most {MAX_PASSWORD} characters (got {len(password)})")


def confirmed(password: str, again: str) -> str:
    """``password`` when it was typed the same twice, else ConfigError."""
    if password != again:
        raise ConfigError("the two passwords differ: type the same password twice")
    return password


def one_time_password() -> str:
    """A fresh random password to hand over once (about 59 bits, no look-alike characters),
    e.g. ``k7mq-x2pd-9hrt``; its owner must set their own at first sign-in."""
    return "-".join("".join(secrets.choice(OTP_ALPHABET) for _ in range(4)) for _ in range(3))


def _how(demo: bool, must_change: bool) -> str:
    return "demo password" if demo else "one-time password" if must_change else "password set"


@contextmanager
def _changing(store: Store, by: Actor) -> Iterator[Session]:
    """A transaction for an account change, serialized with every other one (so two changes
    cannot both pass the last-admin check); an actor with an account must still be an enabled
    admin then."""
    with exclusive_transaction(store, ACCOUNTS_LOCK_KEY, "another account change") as s:
        if by.id is not None:
            require_role(s, by.id, "admin")
        yield s


def _find(s: Session, name: str) -> Annotator | None:
    return s.scalar(select(Annotator).where(Annotator.name == nfc(name)))


def _named(s: Session, name: str) -> Annotator:
    user = _find(s, name)
    if user is None:
        raise NotFoundError(f"no account named '{name}'")
    return user


def _keep_an_admin(s: Session, user: Annotator, *, role: str, enabled: bool) -> None:
    """Refuse a change that would leave no enabled admin."""
    if user.role != "admin" or not user.enabled or (role == "admin" and enabled):
        return
    admins = s.scalar(select(func.count()).select_from(Annotator).where(Annotator.role == "admin", Annotator.enabled))
    if (admins or 0) <= 1:
        raise ConfigError(f"'{user.name}' is the last enabled admin: make another account an admin first")


def add_user(store: Store, name: str, role: str, password: str, *, by: Actor | None = None, demo: bool = False,
             must_change: bool = False, replace: bool = True) -> Annotator:
    """Create an account. An existing name is an error unless ``replace`` (the command line's
    ``user add``): then its role and password are reset, it is enabled again and its sessions
    are revoked. A new name must pass ``check_name`` and differ from every other name ignoring
    case. ``must_change``: a one-time password, its owner sets their own at first sign-in;
    ``demo`` accounts (the demo's own) may keep a short password, are flagged for the banner and
    must change it too. Logged as done ``by`` (default: the command line)."""
    ROLES.lookup(role)
    if not demo:
        _check_password(password)
    by, hashed, must_change = by or command_line(), _hasher.hash(password), must_change or demo
    with _changing(store, by) as s:
        user = _find(s, name)
        if user is None:
            name = check_name(name)
            taken = next((n for n in s.scalars(select(Annotator.name)) if same_name(n, name)), None)
            if taken is not None:
                raise ConfigError(f"account name {name!r} is taken by {taken!r} (names are compared ignoring case)")
            user = Annotator(name=name, role=role)
            s.add(user)
            record(s, by, "added", name, f"{role}, {_how(demo, must_change)}")
        elif not replace:
            raise ConfigError(f"an account named {user.name!r} exists already (reset its password instead)")
        else:
            _keep_an_admin(s, user, role=role, enabled=True)
            revoked = revoke_user_sessions(s, user.id)
            record(s, by, "reset", user.name,
                   f"{role}, {_how(demo, must_change)}, enabled; {revoked} session(s) revoked")
        user.role, user.password_hash, user.enabled = role, hashed, True
        user.demo_password, user.must_change_password = demo, must_change
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
        user = s.scalar(select(Annotator).where(Annotator.name == nfc(name)))
    ok = verify_password(user.password_hash if user else None, password)
    return user if ok and user is not None and user.enabled else None


def sign_in(store: Store, name: str, password: str, client: str, throttle: Throttle = THROTTLE) -> Annotator:
    """The account for a sign-in attempt from ``client``, or SignInRefused: a name or password
    too long (refused before any work), too many recent failures (no password is checked then),
    or a wrong name or password."""
    if len(name) > MAX_NAME or len(password) > MAX_PASSWORD:
        raise SignInRefused(f"Name or password too long (at most {MAX_NAME} and {MAX_PASSWORD} characters).")
    name = nfc(name)
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
    must_change_password: bool
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
    return [Account(u.name, u.role, u.enabled, u.demo_password, u.must_change_password, n, u.created_at)
            for u, n in rows]


def demo_accounts(store: Store) -> list[str]:
    """Names of enabled accounts that still have the demo's password."""
    with store.session() as s:
        return list(s.scalars(select(Annotator.name).where(Annotator.demo_password, Annotator.enabled)
                              .order_by(Annotator.name)))


def set_password(store: Store, name: str, password: str, *, by: Actor | None = None, must_change: bool = False) -> int:
    """Reset an account's password (MIN_PASSWORD to MAX_PASSWORD characters) and clear the demo
    flag; with ``must_change`` (a one-time password) its owner sets their own at the next
    sign-in. Every session of the account is revoked; returns how many were."""
    _check_password(password)
    by, hashed = by or command_line(), _hasher.hash(password)
    with _changing(store, by) as s:
        user = _named(s, name)
        user.password_hash, user.demo_password, user.must_change_password = hashed, False, must_change
        revoked = revoke_user_sessions(s, user.id)
        record(s, by, "password reset", user.name, f"{_how(False, must_change)}; {revoked} session(s) revoked")
        return revoked


def set_own_password(store: Store, user_id: int, session_id: int, password: str) -> int:
    """The signed-in account ``user_id`` sets its own password (what a one-time or demo
    password's owner must do before any page works): not the one it has now; clears the demo
    and must-change flags and revokes the account's sessions but ``session_id`` (returns how many)."""
    _check_password(password)
    with store.session() as s:
        current = s.get(Annotator, user_id)
        if current is None or not current.enabled:
            raise PermissionDenied("signed out: reload the page to sign in again")
        old_hash = current.password_hash
    if verify_password(old_hash, password):
        raise ConfigError("choose a new password, not the one you were given")
    hashed = _hasher.hash(password)
    with exclusive_transaction(store, ACCOUNTS_LOCK_KEY, "another account change") as s:
        user = require_role(s, user_id, "annotator")
        user.password_hash, user.demo_password, user.must_change_password = hashed, False, False
        revoked = revoke_user_sessions(s, user.id, keep=session_id)
        record(s, Actor(user.name, user.id), "password changed", user.name,
               f"own password; {revoked} other session(s) revoked")
        return revoked


def set_role(store: Store, name: str, role: str, *, by: Actor | None = None) -> None:
    """Change an account's role; it takes effect on the account's next page run or key. The
    last enabled admin keeps the role."""
    ROLES.lookup(role)
    by = by or command_line()
    with _changing(store, by) as s:
        user = _named(s, name)
        if user.role == role:
            return
        _keep_an_admin(s, user, role=role, enabled=user.enabled)
        record(s, by, "role", user.name, f"{user.role} -> {role}")
        user.role = role


def set_enabled(store: Store, name: str, enabled: bool, *, by: Actor | None = None) -> int:
    """Enable or disable an account; disabling revokes all its sessions (returns how many), so
    its open tabs are refused at their next page or key. Neither the last enabled admin nor the
    actor's own account can be disabled."""
    by = by or command_line()
    with _changing(store, by) as s:
        user = _named(s, name)
        if user.enabled == enabled:
            return 0
        if not enabled and user.id == by.id:
            raise ConfigError("you cannot disable your own account (another admin can)")
        _keep_an_admin(s, user, role=user.role, enabled=enabled)
        user.enabled = enabled
        revoked = 0 if enabled else revoke_user_sessions(s, user.id)
        record(s, by, "enabled" if enabled else "disabled", user.name,
               "" if enabled else f"{revoked} session(s) revoked")
        return revoked


def revoke_sessions(store: Store, ids: list[int], *, by: Actor | None = None) -> int:
    """Revoke sessions by id (an admin): their browsers are signed out on their next page or
    key. Returns how many were still open; logged per account."""
    by = by or command_line()
    with _changing(store, by) as s:
        owners = s.execute(select(Annotator.name, LoginSession.id).join(LoginSession)
                           .where(LoginSession.id.in_(ids), LoginSession.revoked_at.is_(None))).all()
        per_name: dict[str, list[int]] = {}
        for name, sid in owners:
            per_name.setdefault(name, []).append(sid)
        for name, sids in sorted(per_name.items()):
            record(s, by, "sessions revoked", name, f"{len(sids)} session(s): {', '.join(map(str, sorted(sids)))}")
        return close_sessions(s, [sid for _, sid in owners])
