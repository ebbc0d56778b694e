"""`nearmiss user ...` and `nearmiss app`: the password policy, one-time passwords printed once,
no password in argv, the last admin kept, the account log, disabling, sessions and revocation
from the command line; the app listens on loopback unless --host says otherwise."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request

from nearmiss.auth.accounts import authenticate
from nearmiss.auth.sessions import open_session, resolve
from nearmiss.store import Store
from tests.conftest import ROOT, free_port
from tests.labeling import users


def test_short_password_is_refused_and_nothing_is_saved(cli, sqlite_url):
    out = cli("user", "add", "rita", db=sqlite_url, stdin="short-pw\nshort-pw\n")
    assert out.returncode == 1 and out.stderr.strip().endswith(
        "Error: password must have at least 10 characters (got 8)")
    assert "Traceback" not in out.stderr and "rita" not in cli("user", "list", db=sqlite_url).stdout


def test_disable_sessions_revoke_and_passwd(cli, sqlite_url):
    store = Store(sqlite_url)
    ann, bob = users(store, "ann", "bob")
    a, b1, b2 = open_session(store, ann)[0], open_session(store, bob)[0], open_session(store, bob)[0]
    listed = cli("user", "sessions", db=sqlite_url).stdout.splitlines()
    assert len(listed) == 4 and sum(" bob " in line for line in listed) == 2
    first_bob = next(line.split()[0] for line in listed if " bob " in line)
    assert cli("user", "revoke", first_bob, db=sqlite_url).stdout.strip() == "1 session(s) revoked"
    assert (resolve(store, b1) is None) != (resolve(store, b2) is None)  # exactly one of bob's two is gone
    assert cli("user", "disable", "ann", db=sqlite_url).returncode == 0 and resolve(store, a) is None
    table = cli("user", "list", db=sqlite_url).stdout
    assert "ann" in table and "disabled" in table.split("ann", 1)[1].splitlines()[0]
    assert cli("user", "revoke", "--user", "bob", db=sqlite_url).stdout.strip() == "1 session(s) revoked"
    assert cli("user", "role", "bob", "admin", db=sqlite_url).returncode == 0
    assert cli("user", "passwd", "bob", db=sqlite_url, stdin="new-password-1\nnew-password-1\n").returncode == 0
    missing = cli("user", "disable", "nobody", db=sqlite_url)
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: no account named 'nobody'"
    store.dispose()


def _serve(sqlite_url: str, *args: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    env = {**os.environ, "NEARMISS_DB": sqlite_url, "PYTHONPATH": str(ROOT)}
    proc = subprocess.Popen([sys.executable, "-m", "nearmiss.cli", "app", "--port", str(port), *args], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, start_new_session=True)
    deadline = time.time() + 180
    while time.time() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=1).read() == b"ok":
                return proc, port
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the app did not start: {_stop(proc)[-2000:]}")


def _listening(port: int) -> set[str]:
    """Local addresses (hex, as /proc/net/tcp* has them) listening on ``port``."""
    found = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            for line in f.readlines()[1:]:
                local, state = line.split()[1], line.split()[3]
                if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
                    found.add(local.rsplit(":", 1)[0])
    return found


def _stop(proc: subprocess.Popen) -> str:
    if proc.poll() is None:
        os.killpg(proc.pid, 15)
    return proc.communicate(timeout=30)[1]


def test_app_listens_on_loopback_unless_told(sqlite_url):
    proc, port = _serve(sqlite_url)
    try:
        assert _listening(port) == {"0100007F"}  # 127.0.0.1 only
    finally:
        assert "Warning" not in _stop(proc)
    proc, port = _serve(sqlite_url, "--host", "0.0.0.0")
    try:
        assert _listening(port) == {"00000000"}
    finally:
        assert "Warning: listening on 0.0.0.0: other machines can reach this app" in _stop(proc)


def test_app_refuses_a_bad_public_url_or_proxy_in_one_line(cli, sqlite_url):
    out = cli("app", "--public-url", "app.example.org", db=sqlite_url)
    assert out.returncode == 1 and out.stderr.strip() == (
        "Error: --public-url: 'app.example.org' is not an http(s) URL (e.g. https://nearmiss.example.org)")
    out = cli("app", "--trusted-proxy", "proxy.local", db=sqlite_url)
    assert out.returncode == 1 and "'proxy.local' is not an IP address or network" in out.stderr
    assert "Traceback" not in out.stderr


def test_one_time_passwords_the_last_admin_and_the_log(cli, sqlite_url):
    out = cli("user", "add", "nina", "--one-time", db=sqlite_url)
    assert out.returncode == 0, out.stderr
    given = out.stdout.strip().rsplit(": ", 1)[1]
    assert out.stdout.count(given) == 1 and "Password" not in out.stdout  # printed once, nothing asked
    store = Store(sqlite_url)
    assert authenticate(store, "nina", given).must_change_password
    assert cli("user", "add", "boss", "--role", "admin", "--password", "in-argv-password", db=sqlite_url,
               stdin="boss-password\nboss-password\n").returncode == 2  # no such option: never in argv
    users(store, "boss", role="admin")
    last = cli("user", "role", "boss", "annotator", db=sqlite_url)
    assert last.returncode == 1 and last.stderr.strip() == (
        "Error: 'boss' is the last enabled admin: make another account an admin first")
    reset = cli("user", "passwd", "nina", "--one-time", db=sqlite_url)
    again = reset.stdout.strip().rsplit(": ", 1)[1]
    assert again != given and authenticate(store, "nina", given) is None and authenticate(store, "nina", again)
    log = cli("user", "log", "nina", db=sqlite_url).stdout.splitlines()
    assert len(log) == 3 and "command line (" in log[1] and " password reset   nina " in log[1]
    assert " added            nina " in log[2]
    assert all(given not in line and again not in line for line in log)
    store.dispose()
