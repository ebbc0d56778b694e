"""Account administration on SQLite and PostgreSQL: every change logged (who, when, what, on
whom), one-time and demo passwords replaced by their owner before anything else, disabling
signs an account out, no change leaves the store without an enabled admin, an admin cannot
disable themselves, and an actor that is no longer an admin changes nothing."""
from __future__ import annotations

import threading

import pytest
from alembic import command
from sqlalchemy import text

from nearmiss.auth.accounts import (
    OTP_ALPHABET,
    add_user,
    authenticate,
    one_time_password,
    revoke_sessions,
    set_enabled,
    set_own_password,
    set_password,
    set_role,
)
from nearmiss.auth.audit import Actor, account_log, command_line
from nearmiss.auth.sessions import list_sessions, open_session, resolve
from nearmiss.errors import ConfigError, PermissionDenied
from nearmiss.store import Store
from nearmiss.store.engine import _alembic_config
from nearmiss.store.tables import utcnow


def _admin(store: Store, name: str = "boss") -> Actor:
    return Actor(name, add_user(store, name, "admin", f"{name}-password").id)


def _log(store: Store) -> list[tuple[str, str, str, str]]:
    return [(e.actor, e.action, e.target, e.detail) for e in reversed(account_log(store))]


def test_every_change_is_logged_with_who_what_and_whom(store):
    boss = _admin(store)
    started = utcnow()
    ann = add_user(store, "ann", "annotator", "ann-password", by=boss, must_change=True, replace=False).id
    bob = add_user(store, "bob", "annotator", "bob-password", by=boss).id
    first = resolve(store, open_session(store, bob)[0]).session_id
    set_role(store, "ann", "admin", by=boss)
    set_role(store, "ann", "admin", by=boss)  # no change: nothing logged
    set_enabled(store, "ann", False, by=boss)
    set_enabled(store, "ann", True, by=boss)
    assert set_password(store, "bob", "bob-password-2", by=boss) == 1
    second = resolve(store, open_session(store, bob)[0]).session_id
    assert revoke_sessions(store, [first, second], by=boss) == 1  # the reset had revoked the first
    set_password(store, "ann", "one-time-pw-1", must_change=True)  # from the command line
    set_own_password(store, ann, resolve(store, open_session(store, ann)[0]).session_id, "ann-own-password")
    cli = command_line().name
    assert cli.startswith("command line (") and _log(store) == [
        (cli, "added", "boss", "admin, password set"),
        ("boss", "added", "ann", "annotator, one-time password"),
        ("boss", "added", "bob", "annotator, password set"),
        ("boss", "role", "ann", "annotator -> admin"),
        ("boss", "disabled", "ann", "0 session(s) revoked"),
        ("boss", "enabled", "ann", ""),
        ("boss", "password reset", "bob", "password set; 1 session(s) revoked"),
        ("boss", "sessions revoked", "bob", f"1 session(s): {second}"),
        (cli, "password reset", "ann", "one-time password; 0 session(s) revoked"),
        ("ann", "password changed", "ann", "own password; 0 other session(s) revoked"),
    ]
    assert all(started <= e.at <= utcnow() for e in account_log(store) if e.target != "boss")
    assert [e.action for e in account_log(store, "bob", limit=2)] == ["sessions revoked", "password reset"]


def test_a_one_time_password_works_once_then_its_owner_must_choose_their_own(store):
    boss = _admin(store)
    given = one_time_password()
    assert len(given) == 14 and set(given.replace("-", "")) <= set(OTP_ALPHABET) and given != one_time_password()
    ann = add_user(store, "ann", "annotator", given, by=boss, must_change=True, replace=False).id
    elsewhere, token = open_session(store, ann)[0], open_session(store, ann)[0]
    signed = resolve(store, token)
    assert authenticate(store, "ann", given) is not None and signed.must_change_password
    with pytest.raises(ConfigError, match="not the one you were given"):
        set_own_password(store, ann, signed.session_id, given)
    with pytest.raises(ConfigError, match="at least 10 characters"):
        set_own_password(store, ann, signed.session_id, "short")
    assert resolve(store, token).must_change_password  # nothing changed
    assert set_own_password(store, ann, signed.session_id, "ann-own-password") == 1
    assert not resolve(store, token).must_change_password and resolve(store, elsewhere) is None
    assert authenticate(store, "ann", given) is None and authenticate(store, "ann", "ann-own-password")
    set_password(store, "ann", "typed-by-boss", by=boss)  # a typed reset: no change asked for
    assert not authenticate(store, "ann", "typed-by-boss").must_change_password
    set_password(store, "ann", one_time_password(), by=boss, must_change=True)
    assert resolve(store, open_session(store, ann)[0]).must_change_password


def test_demo_accounts_must_choose_their_own_password(store):
    demo = add_user(store, "admin", "admin", "admin", demo=True)
    assert demo.demo_password and demo.must_change_password
    token = open_session(store, demo.id)[0]
    set_own_password(store, demo.id, resolve(store, token).session_id, "admin-own-password")
    assert not resolve(store, token).must_change_password
    assert not authenticate(store, "admin", "admin-own-password").demo_password


def test_a_disabled_account_is_signed_out_and_cannot_sign_in(store):
    boss = _admin(store)
    ann = add_user(store, "ann", "annotator", "ann-password", by=boss).id
    tokens = [open_session(store, ann)[0] for _ in range(2)]
    assert set_enabled(store, "ann", False, by=boss) == 2
    assert [resolve(store, t) for t in tokens] == [None, None] and list_sessions(store, "ann") == []
    assert authenticate(store, "ann", "ann-password") is None
    with pytest.raises(PermissionDenied, match="signed out"):  # nor set a password in a session opened before
        set_own_password(store, ann, 0, "ann-new-password")


def test_the_last_enabled_admin_stays_one(store):
    boss = _admin(store)
    add_user(store, "ann", "annotator", "ann-password", by=boss)
    for change in (lambda: set_enabled(store, "boss", False), lambda: set_role(store, "boss", "annotator"),
                   lambda: add_user(store, "boss", "annotator", "reset-password")):
        with pytest.raises(ConfigError, match="'boss' is the last enabled admin"):
            change()
    set_role(store, "ann", "admin", by=boss)
    set_enabled(store, "ann", False, by=boss)  # a disabled admin does not count
    with pytest.raises(ConfigError, match="last enabled admin"):
        set_role(store, "boss", "annotator")
    set_enabled(store, "ann", True, by=boss)
    set_role(store, "boss", "annotator")  # now another admin remains
    assert [(e.action, e.target) for e in account_log(store, limit=1)] == [("role", "boss")]
    assert len(account_log(store)) == 6  # the refusals left no row


def test_an_admin_cannot_disable_themselves_and_a_former_admin_changes_nothing(store):
    boss, rita = _admin(store), _admin(store, "rita")
    with pytest.raises(ConfigError, match="cannot disable your own account"):
        set_enabled(store, "boss", False, by=boss)
    set_enabled(store, "boss", False, by=rita)
    with pytest.raises(PermissionDenied, match="'boss' is disabled"):
        set_role(store, "rita", "annotator", by=boss)  # a session opened before cannot act
    set_enabled(store, "boss", True, by=rita)
    set_role(store, "boss", "annotator", by=rita)
    with pytest.raises(PermissionDenied, match="this action is for admins"):
        add_user(store, "mallory", "admin", "mallory-password", by=boss)
    with pytest.raises(ConfigError, match="exists already"):
        add_user(store, "rita", "annotator", "rita-password", by=rita, replace=False)
    assert authenticate(store, "rita", "rita-password").role == "admin"


def test_two_admins_disabled_at_once_leave_one(db_url):
    stores = [Store(db_url) for _ in range(2)]
    for name in ("ann", "bob"):
        add_user(stores[0], name, "admin", f"{name}-password")
    refused: list[str] = []

    def disable(store: Store, name: str) -> None:
        try:
            set_enabled(store, name, False)
        except ConfigError as e:
            refused.append(str(e))

    threads = [threading.Thread(target=disable, args=(s, n)) for s, n in zip(stores, ("ann", "bob"))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    enabled = [n for n in ("ann", "bob") if authenticate(stores[0], n, f"{n}-password")]
    assert len(enabled) == 1 and len(refused) == 1 and "last enabled admin" in refused[0]
    for s in stores:
        s.dispose()


def test_migration_asks_the_demo_accounts_to_choose_a_password(db_url):
    store = Store(db_url, upgrade=False)
    cfg = _alembic_config()
    with store.engine.begin() as c:
        cfg.attributes["connection"] = c
        command.upgrade(cfg, "0009")
        c.execute(text("insert into annotators (name, role, password_hash, enabled, demo_password, created_at) "
                       "values ('admin', 'admin', 'x', true, true, :t), ('ann', 'annotator', 'y', true, false, :t)"),
                  {"t": utcnow()})
    with store.engine.begin() as c:
        cfg.attributes["connection"] = c
        command.upgrade(cfg, "head")
        flags = dict(c.execute(text("select name, must_change_password from annotators")).tuples().all())
    assert flags == {"admin": True, "ann": False}
    store.dispose()
