"""Annotator accounts: creation and password checks (argon2id)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from curator.errors import ConfigError, PermissionDenied
from curator.store.schema import ROLES
from curator.store import Store
from curator.store.tables import Annotator

_hasher = PasswordHasher()


def add_user(store: Store, name: str, role: str, password: str) -> Annotator:
    """Create an annotator, or reset the role and password of an existing one."""
    if role not in ROLES:
        raise ConfigError(f"unknown role '{role}'; expected one of {', '.join(ROLES)}")
    if not name.strip():
        raise ConfigError("user name is empty")
    if len(password) < 4:
        raise ConfigError("password must have at least 4 characters")
    with store.session() as s:
        user = s.scalar(select(Annotator).where(Annotator.name == name))
        if user is None:
            user = Annotator(name=name, role=role, password_hash=_hasher.hash(password))
            s.add(user)
        else:
            user.role, user.password_hash = role, _hasher.hash(password)
        s.flush()
        return user


def authenticate(store: Store, name: str, password: str) -> Annotator | None:
    """The annotator if the password matches, else None."""
    with store.session() as s:
        user = s.scalar(select(Annotator).where(Annotator.name == name))
    if user is None:
        return None
    try:
        _hasher.verify(user.password_hash, password)
    except VerificationError:
        return None
    return user


def get_user(store: Store, user_id: int) -> Annotator | None:
    with store.session() as s:
        return s.get(Annotator, user_id)


def require_role(session: Session, user_id: int, role: str = "admin") -> Annotator:
    """The annotator ``user_id``, or PermissionDenied unless it has ``role`` (admins have every role)."""
    user = session.get(Annotator, user_id)
    if user is None:
        raise PermissionDenied(f"unknown annotator id {user_id}")
    if role == "admin" and user.role != "admin":
        raise PermissionDenied(f"'{user.name}' is an {user.role}; this action is for admins")
    return user
