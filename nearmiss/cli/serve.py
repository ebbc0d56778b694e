"""`nearmiss app`: serve the Streamlit app on this store (loopback unless --host says otherwise)."""
from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import typer

from nearmiss.app import MAIN
from nearmiss.cli import app
from nearmiss.store import Store, resolve_url

LOOPBACK = "127.0.0.1"


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def streamlit_command(host: str, port: int) -> list[str]:
    """The server's argv (the store URL travels in the environment, never here). Its settings are
    all here, so the app serves the same from any working directory."""
    return [sys.executable, "-m", "streamlit", "run", str(MAIN), "--server.headless", "true",
            "--server.address", host, "--server.port", str(port), "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--server.maxUploadSize", "1024", "--client.toolbarMode", "minimal"]


@app.command("app")
def run_app(ctx: typer.Context, port: int = typer.Option(8501, help="Port to serve on."),
            host: str = typer.Option(LOOPBACK, help="Address to listen on; anything but loopback (e.g. 0.0.0.0) "
                                                    "lets other machines reach the sign-in page.")) -> None:
    """Start the Streamlit app on this store."""
    url = resolve_url(ctx.find_root().obj["db"])
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).resolve())
    Store(url).dispose()
    if not is_loopback(host):
        typer.secho(f"Warning: listening on {host}: other machines can reach this app. Serve it over HTTPS "
                    "(a reverse proxy) and give every account its own password.", err=True, fg="yellow")
    sys.stdout.flush()
    sys.stderr.flush()
    # the server replaces this process, so a signal to its pid (kill, a supervisor's stop) stops the server
    cmd = streamlit_command(host, port)
    os.execve(cmd[0], cmd, {**os.environ, "NEARMISS_DB": url})
