"""Accounts and sign-in sessions: hashed tokens, expiry and revocation, disabled and demoted
accounts, the password policy, a password change signing out the account's other sessions,
account names that look like what they are, over-long sign-in input refused before any work,
the unknown-name path; secrets never in argv."""
from __future__ import annotations

import hashlib
import os
import time
from datetime import timedelta
from pathlib import Path

import pytest
import streamlit as st
from argon2 import PasswordHasher
from sqlalchemy import text, update
from streamlit.testing.v1 import AppTest

from nearmiss.auth import accounts
from nearmiss.auth.accounts import (
    add_user,
    authenticate,
    demo_accounts,
    list_users,
    revoke_sessions,
    set_enabled,
    set_own_password,
    set_password,
    set_role,
    sign_in,
)
from nearmiss.auth.names import MAX_NAME, MAX_PASSWORD
from nearmiss.auth.sessions import list_sessions, open_session, resolve, revoke
from nearmiss.auth.throttle import Throttle
from nearmiss.errors import ConfigError, SignInRefused
from nearmiss.store import Store
from nearmiss.store.engine import MIGRATIONS
from nearmiss.store.tables import Base, LoginSession, utcnow
from tests.conftest import ROOT
from tests.labeling import add_candidates, signed_in, users


def test_session_token_is_stored_only_as_its_hash(store):
    uid = add_user(store, "ann", "annotator", "long-enough-pw").id
    token, _ = open_session(store, uid)
    with store.engine.connect() as c:
        rows = [tuple(r) for r in c.execute(text("select * from sessions"))]
    assert len(rows) == 1 and not any(token in str(v) for v in rows[0])
    assert hashlib.sha256(token.encode()).hexdigest() in rows[0]
    assert resolve(store, token).name == "ann" and resolve(store, token + "x") is None


def test_revoked_expired_and_disabled_sessions_are_refused(store):
    uid = add_user(store, "ann", "annotator", "long-enough-pw").id
    (a, _), (b, _), (c, _) = (open_session(store, uid) for _ in range(3))
    revoke(store, a)
    with store.session() as s:
        s.execute(update(LoginSession).where(LoginSession.id == resolve(store, b).session_id)
                  .values(expires_at=utcnow() - timedelta(seconds=1)))
    assert resolve(store, a) is None and resolve(store, b) is None and resolve(store, c) is not None
    assert [x.state for x in list_sessions(store, "ann", active_only=False)] == ["active", "expired", "revoked"]
    set_enabled(store, "ann", False)
    assert resolve(store, c) is None and list_sessions(store) == []
    assert authenticate(store, "ann", "long-enough-pw") is None  # a disabled account cannot sign in either
    set_enabled(store, "ann", True)
    assert resolve(store, c) is None  # disabling revoked it for good
    (d, _) = open_session(store, uid)
    assert revoke_sessions(store, [resolve(store, d).session_id]) == 1 and resolve(store, d) is None


def test_role_is_read_from_the_store_on_every_resolve(sqlite_store):
    add_user(sqlite_store, "rita", "admin", "long-enough-pw")  # the last enabled admin stays one
    uid = add_user(sqlite_store, "boss", "admin", "long-enough-pw").id
    token, _ = open_session(sqlite_store, uid)
    set_role(sqlite_store, "boss", "annotator")
    assert resolve(sqlite_store, token).role == "annotator"


def test_new_passwords_need_ten_characters_demo_accounts_are_flagged(sqlite_store):
    with pytest.raises(ConfigError, match="at least 10 characters"):
        add_user(sqlite_store, "ann", "annotator", "short-pw1")
    add_user(sqlite_store, "admin", "admin", "admin", demo=True)
    assert demo_accounts(sqlite_store) == ["admin"] and authenticate(sqlite_store, "admin", "admin")
    with pytest.raises(ConfigError):
        set_password(sqlite_store, "admin", "admin2")
    set_password(sqlite_store, "admin", "a-real-password")
    assert demo_accounts(sqlite_store) == [] and authenticate(sqlite_store, "admin", "admin") is None
    assert [(a.name, a.demo_password, a.must_change_password, a.enabled) for a in list_users(sqlite_store)] == [
        ("admin", False, False, True)]


def test_a_password_change_revokes_the_other_sessions(store):
    uid = add_user(store, "ann", "annotator", "long-enough-pw").id
    (a, _), (b, _), (c, _) = (open_session(store, uid) for _ in range(3))
    other = open_session(store, add_user(store, "bob", "annotator", "long-enough-pw").id)[0]
    assert set_own_password(store, uid, resolve(store, a).session_id, "a-new-password") == 2
    assert resolve(store, a) is not None and resolve(store, b) is None and resolve(store, c) is None
    assert resolve(store, other) is not None  # another account's sessions stay
    assert set_password(store, "ann", "a-newer-password") == 1 and resolve(store, a) is None  # an admin's: all
    d, _ = open_session(store, uid)
    add_user(store, "ann", "admin", "reset-password")  # a reset (nearmiss user add) is a password change too
    assert resolve(store, d) is None
    with pytest.raises(ConfigError, match=f"at most {MAX_PASSWORD} characters"):
        set_password(store, "ann", "x" * (MAX_PASSWORD + 1))


@pytest.mark.parametrize(("name", "rule"), [
    ("adm\u200bin", "invisible or control characters \\(found U\\+200B ZERO WIDTH SPACE\\)"),
    ("\u202enimda", "invisible or control characters \\(found U\\+202E RIGHT-TO-LEFT OVERRIDE\\)"),
    ("ann\tb", "invisible or control characters \\(found U\\+0009\\)"),
    ("ann\u2028b", "invisible or control characters \\(found U\\+2028 LINE SEPARATOR\\)"),
    (" ann", "must not start or end with a space"), ("ann ", "must not start or end with a space"),
    ("   ", "account name is empty"), ("a" * (MAX_NAME + 1), f"at most {MAX_NAME} characters"),
    ("ADMIN", "'ADMIN' is taken by 'admin' \\(names are compared ignoring case\\)"),
    ("\u0430dmin", "mixes scripts with look-alike letters"),  # a Cyrillic а before Latin "dmin"
    ("p\u0430ypal", "mixes scripts with look-alike letters"),
])
def test_account_names_that_do_not_look_like_what_they_are_are_refused(store, name, rule):
    add_user(store, "admin", "admin", "long-enough-pw")
    with pytest.raises(ConfigError, match=rule):
        add_user(store, name, "annotator", "long-enough-pw")
    assert [a.name for a in list_users(store)] == ["admin"]


def test_names_in_one_script_are_accepted_whatever_the_script(store):
    for name in ("Jürgen", "Иван", "山田太郎", "Ελένη", "annie_2"):
        add_user(store, name, "annotator", "long-enough-pw")
    assert len(list_users(store)) == 5


def test_account_names_are_stored_nfc_and_found_by_either_form(store):
    decomposed, composed = "Jose\u0301", "Jos\u00e9"
    add_user(store, decomposed, "annotator", "long-enough-pw")
    assert [a.name for a in list_users(store)] == [composed]
    assert authenticate(store, decomposed, "long-enough-pw").name == composed
    with pytest.raises(ConfigError, match="is taken by"):
        add_user(store, "JOS\u00c9", "annotator", "long-enough-pw")


def test_over_long_sign_in_input_is_refused_before_any_work(sqlite_store, monkeypatch):
    add_user(sqlite_store, "ann", "annotator", "long-enough-pw")
    hasher, throttle = RecordingHasher(), Throttle()
    monkeypatch.setattr(accounts, "_hasher", hasher)
    started = time.perf_counter()
    for name, password in [("n" * (5 << 20), "long-enough-pw"), ("ann", "p" * (MAX_PASSWORD + 1))]:
        with pytest.raises(SignInRefused, match="too long"):
            sign_in(sqlite_store, name, password, "10.0.0.1", throttle)
    assert time.perf_counter() - started < 0.5 and hasher.verified == [] and throttle.failures() == []
    assert sign_in(sqlite_store, "ann", "long-enough-pw", "10.0.0.1", throttle).name == "ann"


class RecordingHasher(PasswordHasher):
    """The real argon2 hasher, noting which hash each verification was against."""

    def __init__(self):
        super().__init__()
        self.verified: list[str] = []

    def verify(self, hash, password):  # noqa: A002 (argon2's own parameter name)
        self.verified.append(hash)
        return super().verify(hash, password)


def test_unknown_names_verify_the_dummy_hash(sqlite_store, monkeypatch):
    add_user(sqlite_store, "ann", "annotator", "long-enough-pw")
    hasher = RecordingHasher()
    monkeypatch.setattr(accounts, "_hasher", hasher)
    assert authenticate(sqlite_store, "nobody", "long-enough-pw") is None
    assert authenticate(sqlite_store, "ann", "wrong-password") is None
    assert hasher.verified[0] == accounts._DUMMY_HASH and hasher.verified[1].startswith("$argon2id$")
    assert len(hasher.verified) == 2 and hasher.verified[1] != accounts._DUMMY_HASH


def test_throttle_backs_off_per_name_and_address():
    now = [0.0]
    t = Throttle(free=3, address_free=6, base=1.0, cap=8.0, clock=lambda: now[0])
    for _ in range(3):
        t.failed("ann", "10.0.0.1")
    assert t.wait("ann", "10.0.0.1") == 0  # the free failures
    t.failed("ann", "10.0.0.1")
    assert t.wait("ann", "10.0.0.1") == 1.0 and t.wait("ann", "10.0.0.2") == 0  # that pair waits, not the name
    t.failed("ann", "10.0.0.1")
    assert t.wait("ann", "10.0.0.1") == 2.0
    for _ in range(5):
        t.failed("ann", "10.0.0.9")
    assert t.wait("ann", "10.0.0.9") == 2.0 and t.wait("bob", "10.0.0.1") == 0
    t.failed("bob", "10.0.0.1")  # the address's 6th failure over all names: still free
    assert t.wait("bob", "10.0.0.1") == 0
    t.failed("carl", "10.0.0.1")  # the 7th: every name waits from that address
    assert t.wait("bob", "10.0.0.1") == 1.0 and t.wait("bob", "10.0.0.3") == 0
    assert [(f.name, f.address, f.failures) for f in t.failures()] == [
        ("ann", "10.0.0.1", 5), ("ann", "10.0.0.9", 5), ("bob", "10.0.0.1", 1), ("carl", "10.0.0.1", 1)]
    now[0] = 100.0
    t.succeeded("ann", "10.0.0.9")
    assert t.wait("ann", "10.0.0.9") == 0 and [f.address for f in t.failures() if f.name == "ann"] == ["10.0.0.1"]
    now[0] = 100.0 + t.forget + 1  # idle failures are forgotten
    assert t.wait("ann", "10.0.0.1") == 0 and t.failures() == []


def test_a_stranger_cannot_lock_the_owner_out(sqlite_store):
    add_user(sqlite_store, "ann", "annotator", "long-enough-pw")
    now = [0.0]
    throttle = Throttle(free=3, name_addresses=4, clock=lambda: now[0])
    for _ in range(50):  # one stranger, as fast as they are let
        try:
            sign_in(sqlite_store, "ann", "guess-guess", "203.0.113.7", throttle)
        except SignInRefused:
            now[0] += 10.0
    assert throttle.wait("ann", "203.0.113.7") > 0  # the stranger waits ...
    assert sign_in(sqlite_store, "ann", "long-enough-pw", "10.0.0.5", throttle).name == "ann"  # ... the owner not
    for n in range(20):  # a wider attack: many addresses on one name
        with pytest.raises(SignInRefused):
            sign_in(sqlite_store, "ann", "guess-guess", f"198.51.100.{n}", throttle)
    with pytest.raises(SignInRefused, match="try again in"):  # a new address now waits, even with the password
        sign_in(sqlite_store, "ann", "long-enough-pw", "192.0.2.1", throttle)
    assert sign_in(sqlite_store, "ann", "long-enough-pw", "10.0.0.5", throttle).name == "ann"  # the owner's does not
    assert throttle.failures(limit=1)[0].address == "203.0.113.7"


def test_sign_in_is_throttled_even_for_the_right_password(sqlite_store, monkeypatch):
    add_user(sqlite_store, "ann", "annotator", "long-enough-pw")
    now = [0.0]
    throttle = Throttle(free=2, clock=lambda: now[0])
    for _ in range(3):
        with pytest.raises(SignInRefused, match="wrong password"):
            sign_in(sqlite_store, "ann", "guess-guess", "1.2.3.4", throttle)
    hasher = RecordingHasher()
    monkeypatch.setattr(accounts, "_hasher", hasher)
    with pytest.raises(SignInRefused, match=r"try again in 1 s"):
        sign_in(sqlite_store, "ann", "long-enough-pw", "1.2.3.4", throttle)
    assert hasher.verified == []  # refused before any password work
    now[0] = 1.5
    assert sign_in(sqlite_store, "ann", "long-enough-pw", "1.2.3.4", throttle).name == "ann"


def _page(store: Store) -> AppTest:
    def script() -> None:
        import streamlit as st

        from nearmiss.app.shared import check_user
        from nearmiss.errors import PermissionDenied

        try:
            st.text(check_user("admin")["name"])
        except PermissionDenied as e:
            st.error(str(e))

    return AppTest.from_function(script, default_timeout=30)


def test_demoted_or_disabled_user_is_refused_on_the_next_run(sqlite_url, sqlite_store, monkeypatch):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    review = signed_in(AppTest.from_file(str(ROOT / "nearmiss/app/pages/review.py"), default_timeout=60), sqlite_store,
                       "boss", "admin").run()
    callback = signed_in(_page(sqlite_store), sqlite_store, "rita", "admin").run()
    assert review.title[0].value == "Review" and callback.text[0].value == "rita"
    users(sqlite_store, "root", role="admin")  # the last enabled admin stays one
    set_role(sqlite_store, "boss", "annotator")
    set_role(sqlite_store, "rita", "annotator")
    assert [e.value for e in review.run().error] == ["This page is for admins only."]
    assert [e.value for e in callback.run().error] == ["this is for admins only"]
    set_enabled(sqlite_store, "rita", False)
    assert callback.run().error[0].value.startswith("signed out")
    st.cache_resource.clear()


def test_migration_matches_the_tables(sqlite_store):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    with sqlite_store.engine.connect() as c:
        diff = compare_metadata(MigrationContext.configure(c), Base.metadata)
    assert [d for d in diff if any(t in str(d) for t in ("sessions", "annotators", "account_events"))] == []
    assert (MIGRATIONS / "versions" / "0003_sessions.py").exists()


def _children() -> dict[int, str]:
    """Command lines of this process's child processes."""
    found = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == os.getpid():
                found[int(stat.parent.name)] = (stat.parent / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except (OSError, IndexError, ValueError):
            continue
    return found


@pytest.mark.postgres
def test_mining_worker_gets_the_password_from_its_environment_not_argv(pg_url):
    from nearmiss.jobs.mine import launch_worker
    from nearmiss.mine.run import MineConfig, create_run

    url = pg_url.replace("postgres@", "postgres:Hunter2-secret@")  # the test cluster trusts, ignoring it
    store = Store(url)
    add_candidates(store, 2)
    run_id = create_run(store, MineConfig(dataset="quiz", pools=("distractors",), scorers=("embedding",)))
    proc = launch_worker(store, run_id)
    argv = Path(f"/proc/{proc.pid}/cmdline").read_bytes().split(b"\0")
    environ = Path(f"/proc/{proc.pid}/environ").read_bytes().split(b"\0")
    assert b"Hunter2-secret" not in b" ".join(argv) and b"--run-id" in argv
    assert f"NEARMISS_DB={url}".encode() in environ
    try:  # the worker opened the store from its environment once it marks the run running
        deadline, status = time.time() + 300, "pending"
        while status == "pending" and proc.poll() is None and time.time() < deadline:
            time.sleep(0.5)
            with store.session() as s:
                status = s.execute(text(f"select status from runs where id = {run_id}")).scalar()
        assert status in ("running", "done"), status
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, 15)
        proc.wait(60)
        store.dispose()


@pytest.mark.postgres
def test_training_worker_gets_the_password_from_its_environment_not_argv(pg_url, tmp_path):
    from nearmiss.jobs.train import launch
    from nearmiss.train.config import TrainConfig

    url = pg_url.replace("postgres@", "postgres:Hunter2-secret@")
    store = Store(url)
    before = set(_children())
    launch(store, TrainConfig(dataset="nothing-loaded", out_dir=str(tmp_path)))
    (pid,) = set(_children()) - before
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes()
        assert b"nearmiss.cli" in argv and b"Hunter2-secret" not in argv
        assert f"NEARMISS_DB={url}".encode() in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    finally:
        deadline = time.time() + 120
        while Path(f"/proc/{pid}").exists() and time.time() < deadline:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                break
            time.sleep(0.2)
    store.dispose()
