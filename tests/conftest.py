"""Shared fixtures: stores on SQLite and on a throwaway PostgreSQL, a real Streamlit
server, and headless Debian Chromium through Playwright."""
from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import click
import pytest

from nearmiss.app.serving import server_env
from nearmiss.cli.serve import streamlit_command
from nearmiss.store import Store

ROOT = Path(__file__).resolve().parents[1]
ARTIFACTS = ROOT / "artifacts"
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


ISA_SETTINGS = ("ATEN_CPU_CAPABILITY", "ONEDNN_MAX_CPU_ISA", "MKL_ENABLE_INSTRUCTIONS")


def pytest_report_header() -> str:
    """The CPU's vector extensions and the kernels PyTorch runs (``./dev.sh test-avx2`` caps them)."""
    import torch

    from nearmiss.lm.models import cpu_flags

    vector = sorted(f for f in cpu_flags() if f == "avx2" or f.startswith(("avx512", "amx")))
    capped = [f"{k}={os.environ[k]}" for k in ISA_SETTINGS if k in os.environ]
    return (f"cpu: {' '.join(vector) or 'no AVX2'}; torch kernels: {torch.backends.cpu.get_cpu_capability()}"
            + (f" ({', '.join(capped)})" if capped else ""))


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---------------------------------------------------------------- PostgreSQL
def _pg_bin() -> Path:
    found = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))
    if not found:
        pytest.fail("PostgreSQL server binaries missing: apt-get install postgresql (./dev.sh test does it)")
    return found[-1].parent


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory) -> Iterator[str]:
    """A throwaway PostgreSQL cluster for the session; yields its admin URL."""
    bindir, port = _pg_bin(), free_port()
    root = Path("/tmp") / f"nearmiss-pg-{os.getpid()}"
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_postgres:
        shutil.chown(root, "postgres", "postgres")
    subprocess.run([*as_postgres, str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres",
                    "--auth=trust", "-E", "UTF8", "--no-locale", "-N"], check=True, capture_output=True)
    subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "server.log"),
                    "-w", "-t", "30", "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=on",
                    "start"], check=True, capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_postgres, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "immediate", "-w",
                        "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
def pg_url(pg_server) -> Iterator[str]:
    """A fresh, empty database on the throwaway server."""
    import psycopg

    name = f"t{os.getpid()}_{time.monotonic_ns()}"
    admin = pg_server.replace("postgresql+psycopg", "postgresql")
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield pg_server.rsplit("/", 1)[0] + f"/{name}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def sqlite_url(tmp_path) -> str:
    return f"sqlite:///{tmp_path / 'store.db'}"


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request) -> str:
    """The URL of an empty store, once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_url" if request.param == "sqlite" else "pg_url")


@pytest.fixture
def store(db_url) -> Iterator[Store]:
    s = Store(db_url)
    yield s
    s.dispose()


@pytest.fixture
def sqlite_store(sqlite_url) -> Iterator[Store]:
    s = Store(sqlite_url)
    yield s
    s.dispose()


# ---------------------------------------------------------------- CLI
@pytest.fixture
def cli(tmp_path):
    """Run `nearmiss ...` in a subprocess against a given store URL."""

    def run(*args: str, db: str, stdin: str | None = None) -> subprocess.CompletedProcess:
        env = {**os.environ, "NEARMISS_DB": db, "PYTHONPATH": str(ROOT)}
        return subprocess.run([sys.executable, "-m", "nearmiss.cli", *args], capture_output=True, text=True,
                              env=env, input=stdin, cwd=tmp_path, timeout=600)

    return run


def cli_commands() -> Iterator[tuple[tuple[str, ...], click.Command]]:
    """Every command of `nearmiss` as (its names after `nearmiss`, the click command): the root group as (),
    then groups and their sub-commands."""
    import typer.main

    from nearmiss.cli import _register, app

    _register()
    stack: list[tuple[tuple[str, ...], click.Command]] = [((), typer.main.get_command(app))]
    while stack:
        path, cmd = stack.pop()
        yield path, cmd
        stack += [((*path, name), sub) for name, sub in getattr(cmd, "commands", {}).items()]


# ---------------------------------------------------------------- app + browser
class AppServer:
    """A real app server on a free port, by default `streamlit run nearmiss/app/main.py` from this checkout on
    ``db_url``; restartable (kill -9 tests). ``command(port)`` serves another way (e.g. ``nearmiss app --port``),
    from ``cwd`` with ``env`` in place of this process's environment."""

    def __init__(self, db_url: str | None, log: Path, *, command: Callable[[int], list[str]] | None = None,
                 cwd: Path = ROOT, env: dict[str, str] | None = None):
        self.db_url, self.log, self.port, self.proc = db_url, log, free_port(), None
        self.command, self.cwd = command or (lambda port: streamlit_command("127.0.0.1", port)), cwd
        self.env = env if env is not None else {**server_env(db_url or ""), "PYTHONPATH": str(ROOT)}

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> AppServer:
        self.proc = subprocess.Popen(self.command(self.port), env=self.env, cwd=self.cwd, stdout=self.log.open("ab"),
                                     stderr=subprocess.STDOUT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=1).read() == b"ok":
                    return self
            except OSError:
                if self.proc.poll() is not None:
                    break
                time.sleep(0.2)
        raise RuntimeError(f"streamlit did not start; log: {self.log.read_text()[-2000:]}")

    def kill(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(10)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.kill()


@pytest.fixture
def app_server(tmp_path):
    """Factory: start the app on a store URL (options as AppServer takes them); every server is stopped after
    the test."""
    servers: list[AppServer] = []

    def start(db_url: str | None, **options) -> AppServer:
        server = AppServer(db_url, tmp_path / f"streamlit-{len(servers)}.log", **options)
        servers.append(server)
        return server.start()

    yield start
    for s in servers:
        s.stop()


CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium driven by Playwright (never a downloaded browser)."""
    from playwright.sync_api import sync_playwright

    exe = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(exe).exists():
        pytest.fail("Debian chromium missing: apt-get install chromium (./dev.sh test does it)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=exe, args=CHROMIUM_ARGS)
        yield b
        b.close()


def sign_in_page(browser, server: AppServer, name: str, password: str, fake_clock: bool = False):
    """A new browser page signed in to the app as ``name``; with ``fake_clock`` its timers
    run on Playwright's clock (``page.clock.fast_forward`` jumps them)."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    if fake_clock:
        context.clock.install()
    page = context.new_page()
    page.goto(server.url)
    page.locator(".st-key-signin_name input").fill(name)
    page.locator(".st-key-signin_password input").fill(password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_text("Signed in as").wait_for(timeout=20000)
    return page


# ---------------------------------------------------------------- bundled models and data, loaded once
@pytest.fixture(scope="session")
def lm32():
    """SmolLM2-135M in fp32 (exact comparisons) and its tokenizer."""
    from nearmiss.lm.models import load_lm

    return load_lm("smollm2-135m", "float32")


@pytest.fixture(scope="session")
def arc_items():
    """The first 60 ARC-Easy validation items, as loaded."""
    from nearmiss.load.sources import open_source

    return list(open_source("arc-easy", split="validation", limit=60).items)
