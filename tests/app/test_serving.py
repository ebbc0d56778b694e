"""How the server starts: the environment that decides whose X-Forwarded-For is trusted (no
one's unless a proxy is named), the checked --public-url and --trusted-proxy, the server's
refusal to start without that environment, one upload cap for server and page; which
Streamlit sessions may upload."""
import subprocess
import sys

import pytest

from nearmiss.app import SERVER, uploads
from nearmiss.app.serving import FORWARDED_ENV, forwarding_error, server_env
from nearmiss.auth.sessions import open_session, revoke
from nearmiss.cli.serve import streamlit_command
from nearmiss.errors import ConfigError
from nearmiss.load.limits import MAX_UPLOAD_MB
from tests.conftest import ROOT
from tests.labeling import users


def test_forwarded_addresses_are_trusted_only_from_a_named_proxy():
    base = {"PATH": "/bin", FORWARDED_ENV: "*", "NEARMISS_PUBLIC_URL": "https://old.example.org"}
    env = server_env("sqlite:///x.db", base=base)
    assert env[FORWARDED_ENV] == "" and "NEARMISS_PUBLIC_URL" not in env and env["NEARMISS_DB"] == "sqlite:///x.db"
    assert forwarding_error(env) is None
    env = server_env("sqlite:///x.db", public_url="https://App.example.org/nearmiss", trusted_proxy="10.0.0.1, 10.1.0.0/16",
                     base=base)
    assert env[FORWARDED_ENV] == env["NEARMISS_TRUSTED_PROXY"] == "10.0.0.1,10.1.0.0/16"
    assert env["NEARMISS_PUBLIC_URL"] == "https://app.example.org" and forwarding_error(env) is None
    assert "start the app with `nearmiss app`" in forwarding_error({})  # uvicorn's default trusts loopback
    with pytest.raises(ConfigError, match="'proxy.local' is not an IP address or network"):
        server_env("sqlite:///x.db", trusted_proxy="proxy.local")
    with pytest.raises(ConfigError, match="--public-url: 'app.example.org' is not an http"):
        server_env("sqlite:///x.db", public_url="app.example.org")


def test_the_server_refuses_to_start_without_its_environment():
    out = subprocess.run([sys.executable, "-c", f"import runpy; runpy.run_path({str(SERVER)!r})"],
                         env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"}, capture_output=True, text=True,
                         timeout=300)
    assert out.returncode == 1 and out.stderr.strip().splitlines()[-1].startswith(f"Error: {FORWARDED_ENV} is None")


def test_one_upload_cap_for_the_server_and_the_page():
    argv = streamlit_command("127.0.0.1", 8501)
    assert argv[argv.index("--server.maxUploadSize") + 1] == str(MAX_UPLOAD_MB) and str(SERVER) in argv
    assert "max_upload_size=MAX_UPLOAD_MB" in (ROOT / "nearmiss/app/pages/datasets.py").read_text()


def test_only_sessions_of_signed_in_admins_may_upload(sqlite_store, monkeypatch):
    boss, ann = users(sqlite_store, "boss", role="admin")[0], users(sqlite_store, "ann")[0]
    admin_token, annotator_token = open_session(sqlite_store, boss)[0], open_session(sqlite_store, ann)[0]
    uploads.admit("s-admin", sqlite_store, admin_token)
    uploads.admit("s-ann", sqlite_store, annotator_token)
    assert uploads.may_upload("s-admin") and not uploads.may_upload("s-ann") and not uploads.may_upload("s-other")
    revoke(sqlite_store, admin_token)  # signed out in another tab: refused before the next page run
    assert not uploads.may_upload("s-admin")
    uploads.admit("s-admin", sqlite_store, open_session(sqlite_store, boss)[0])
    uploads.forget("s-admin")
    assert not uploads.may_upload("s-admin")
    monkeypatch.setattr(uploads, "MAX_SESSIONS", 3)
    for n in range(5):
        uploads.admit(f"s-{n}", sqlite_store, admin_token)
    assert len(uploads._admitted) == 3 and not uploads.may_upload("s-0")  # bounded: the oldest forgotten
