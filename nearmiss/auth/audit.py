"""The account log: every change to an account (added, password set or reset, role, disabled
or enabled, sessions revoked) is a row of ``account_events`` written in the change's own
transaction, naming who made it (an account, or the command line and its OS user), when, what
and on whom."""
from __future__ import annotations

import getpass
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from nearmiss.store import Store
from nearmiss.store.tables import AccountEvent, as_utc, utcnow


@dataclass(frozen=True)
class Actor:
    """Who changes an account: a signed-in account (``id`` set: it must still be an enabled
    admin when the change is made, unless it changes its own password) or a local operator
    (the command line, the demo builder: no id)."""

    name: str
    id: int | None = None


def command_line() -> Actor:
    """The operator running ``nearmiss`` on this machine, by OS user name."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment nor the password database
        user = "unknown user"
    return Actor(f"command line ({user})")


DEMO = Actor("nearmiss demo")


@dataclass(frozen=True)
class Event:
    """One row of the account log."""

    at: datetime
    actor: str
    action: str
    target: str
    detail: str


def record(session: Session, by: Actor, action: str, target: str, detail: str = "") -> None:
    """Add an event to the log, inside the change's own transaction."""
    session.add(AccountEvent(at=utcnow(), actor=by.name, action=action, target=target, detail=detail[:200]))


def account_log(store: Store, name: str | None = None, limit: int = 200) -> list[Event]:
    """The newest ``limit`` events, newest first; only those on account ``name`` if given."""
    q = select(AccountEvent).order_by(AccountEvent.at.desc(), AccountEvent.id.desc()).limit(limit)
    if name is not None:
        q = q.where(AccountEvent.target == name)
    with store.session() as s:
        return [Event(as_utc(e.at), e.actor, e.action, e.target, e.detail) for e in s.scalars(q)]
