"""Accounts and sign-in sessions: hashed tokens, expiry and revocation, disabled and demoted
accounts, the password policy, the throttle and the unknown-name path; secrets never in argv."""
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
    set_enabled,
    set_password,
    set_role,
    sign_in,
)
from nearmiss.auth.sessions import list_sessions, open_session, resolve, revoke, revoke_sessions
from nearmiss.auth.throttle import Throttle
from nearmiss.errors import ConfigError, SignInRefused
from nearmiss.store import Store
from nearmiss.store.engine import MIGRATIONS
from nearmiss.store.tables import Base, LoginSession, utcnow
from tests.conftest import ROOT
from tests.labeling import add_candidates, signed_in


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
    assert [(a.name, a.demo_password, a.enabled) for a in list_users(sqlite_store)] == [("admin", False, True)]


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


def test_throttle_backs_off_per_name_and_per_client():
    now = [0.0]
    t = Throttle(free=3, base=1.0, cap=8.0, client_factor=2, clock=lambda: now[0])
    for _ in range(3):
        t.failed("ann", "10.0.0.1")
    assert t.wait("ann", "10.0.0.1") == 0  # the free failures
    t.failed("ann", "10.0.0.1")
    assert t.wait("ann", "10.0.0.2") == 1.0  # the name waits, from any client
    t.failed("ann", "10.0.0.1")
    assert t.wait("ann", "10.0.0.9") == 2.0
    for _ in range(5):
        t.failed("ann", "10.0.0.9")
    assert t.wait("ann", "10.0.0.9") == 8.0  # capped
    assert t.wait("bob", "10.0.0.1") == 0  # the client has 2 x 3 free failures: 5 so far
    t.failed("bob", "10.0.0.1")
    assert t.wait("bob", "10.0.0.1") == 0  # the sixth, still free
    t.failed("carl", "10.0.0.1")
    assert t.wait("bob", "10.0.0.1") == 1.0 and t.wait("bob", "10.0.0.3") == 0  # the client waits, not bob
    now[0] = 100.0
    t.succeeded("ann", "10.0.0.9")
    assert t.wait("ann", "10.0.0.9") == 0


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
        sign_in(sqlite_store, "ann", "long-enough-pw", "5.6.7.8", throttle)
    assert hasher.verified == []  # refused before any password work
    now[0] = 1.5
    assert sign_in(sqlite_store, "ann", "long-enough-pw", "5.6.7.8", throttle).name == "ann"


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
    assert [d for d in diff if "sessions" in str(d) or "annotators" in str(d)] == []
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
