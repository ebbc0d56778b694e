"""The app from a built wheel: the wheel holds one top-level package, ``nearmiss``, with every file of the
checkout's ``nearmiss/`` (pages, component JS/CSS, migrations); a fresh venv holding only that wheel builds the
demo and serves the sign-in page from an empty folder.

The fresh venv reaches the test environment's dependencies through a plain path line in a ``.pth`` file: site
does not read the ``.pth`` files of a folder added that way, so the test environment's editable nearmiss (its
``__editable__`` finder) stays off and ``import nearmiss`` finds the wheel's copy.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
import sysconfig
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, sign_in_page

pytestmark = pytest.mark.e2e
PIP = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--no-input", "-q"]


def _checkout_files() -> set[str]:
    """Every file under the checkout's nearmiss/, as a wheel names it."""
    return {p.relative_to(ROOT).as_posix() for p in (ROOT / "nearmiss").rglob("*")
            if p.is_file() and "__pycache__" not in p.parts}


def _build_wheel(tmp: Path) -> Path:
    """The wheel of this checkout, built offline from a copy (setuptools' build/ and egg-info stay out of the
    checkout, and a stale build/lib cannot leak into the wheel)."""
    src = tmp / "src"
    shutil.copytree(ROOT / "nearmiss", src / "nearmiss", ignore=shutil.ignore_patterns("__pycache__"))
    for name in ("pyproject.toml", "requirements.txt"):  # requirements.txt: the dynamic dependencies
        shutil.copy(ROOT / name, src)
    subprocess.run([*PIP, "wheel", "--no-deps", "--no-build-isolation", "--no-index", "--no-cache-dir",
                    "-w", str(tmp / "dist"), str(src)], check=True, capture_output=True, timeout=120)
    (wheel,) = (tmp / "dist").glob("nearmiss-*.whl")
    return wheel


def _venv_with(wheel: Path, venv: Path) -> Path:
    """A fresh venv holding ``wheel`` alone, then the test environment's site-packages as a path; its python."""
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=60)
    python = venv / "bin" / "python"
    # installed before the .pth exists: pip would otherwise see the editable nearmiss and try to uninstall it
    subprocess.run([*PIP, "--python", str(python), "install", "--no-deps", "--no-index", "--no-cache-dir",
                    str(wheel)], check=True, capture_output=True, timeout=120)
    site = Path(subprocess.run([python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                               check=True, capture_output=True, text=True).stdout.strip())
    ours = dict.fromkeys(sysconfig.get_paths()[k] for k in ("purelib", "platlib"))
    (site / "test-environment.pth").write_text("".join(f"{path}\n" for path in ours))
    return python


def test_the_app_runs_from_a_built_wheel(tmp_path, app_server, browser):
    wheel = _build_wheel(tmp_path)
    with zipfile.ZipFile(wheel) as z:
        names = {n for n in z.namelist() if not n.endswith("/")}
    info = {n.split("/")[0] for n in names if n.split("/")[0].endswith(".dist-info")}
    assert {n.split("/")[0] for n in names} == {"nearmiss", *info} and len(info) == 1
    shipped = {n for n in names if n.startswith("nearmiss/")}
    assert shipped == _checkout_files(), (_checkout_files() - shipped, shipped - _checkout_files())
    assert {"nearmiss/app/main.py", "nearmiss/app/server.py", "nearmiss/app/pages/home.py",
            "nearmiss/app/components/keys/keys.js", "nearmiss/app/components/session_token/token.js",
            "nearmiss/store/migrations/script.py.mako"} <= shipped

    python = _venv_with(wheel, tmp_path / "venv")
    work = tmp_path / "work"  # empty: nothing here to import from or find data in
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "NEARMISS_DB", "VIRTUAL_ENV")}
    found = subprocess.run([python, "-c", "import sys, nearmiss; print(nearmiss.__file__); "
                            "print(any('__editable__' in m for m in sys.modules))"],
                           cwd=work, env=env, check=True, capture_output=True, text=True).stdout.split()
    assert Path(found[0]).is_relative_to(tmp_path / "venv") and found[1] == "False", found

    nearmiss = str(python.parent / "nearmiss")
    demo = subprocess.run([nearmiss, "demo"], cwd=work, env=env, capture_output=True, text=True, timeout=600)
    assert demo.returncode == 0, demo.stderr[-3000:]
    assert "account admin (admin), demo password 'admin'" in demo.stdout
    written = {p.name for p in work.iterdir()}  # the default store, in the working folder, and nothing else
    assert "nearmiss.db" in written and written <= {"nearmiss.db", "nearmiss.db-wal", "nearmiss.db-shm"}, written

    server = app_server(None, command=lambda port: [nearmiss, "app", "--port", str(port)], cwd=work, env=env)
    served = Path(f"/proc/{server.proc.pid}/cmdline").read_bytes().split(b"\0")  # `nearmiss app` execs streamlit
    assert str(Path(found[0]).with_name("app") / "server.py").encode() in served  # main.py behind the upload gate
    page = sign_in_page(browser, server, "admin", "admin")
    page.locator("[data-testid='stMain'] h1").filter(has_text="Choose your password").wait_for(timeout=30000)
    page.locator(".st-key-newpw_password input").fill("admin-own-password")  # the demo's password, replaced
    page.locator(".st-key-newpw_again input").fill("admin-own-password")
    page.get_by_role("button", name="Set password").click()
    page.locator("[data-testid='stMain'] h1").filter(has_text="Welcome, admin").wait_for(timeout=30000)
    page.context.close()
