"""`nearmiss app`: serve the Streamlit app on this store (loopback unless --host says otherwise;
behind a reverse proxy, --public-url and --trusted-proxy)."""
from __future__ import annotations

import ipaddress
import os
import sys
from pathlib import Path

import typer

from nearmiss.app import SERVER
from nearmiss.app.serving import server_env
from nearmiss.cli import app
from nearmiss.load.limits import MAX_UPLOAD_MB
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
    """The server's argv (the store URL travels in the environment, never here: see
    ``nearmiss.app.serving.server_env``). Its settings are all here, so the app serves the same
    from any working directory; Streamlit refuses an upload over the app's own cap, and an error that
    escapes the app's own boundary (a widget callback, Streamlit itself) shows no details."""
    return [sys.executable, "-m", "streamlit", "run", str(SERVER), "--server.headless", "true",
            "--server.address", host, "--server.port", str(port), "--browser.gatherUsageStats", "false",
            "--server.fileWatcherType", "none", "--server.maxUploadSize", str(MAX_UPLOAD_MB),
            "--client.toolbarMode", "minimal", "--client.showErrorDetails", "none"]


@app.command("app")
def run_app(ctx: typer.Context, port: int = typer.Option(8501, help="Port to serve on."),
            host: str = typer.Option(LOOPBACK, help="Address to listen on; anything but loopback (e.g. 0.0.0.0) "
                                                    "lets other machines reach the sign-in page."),
            public_url: str = typer.Option(None, envvar="NEARMISS_PUBLIC_URL",
                                           help="The URL browsers use, behind a reverse proxy (e.g. "
                                                "https://nearmiss.example.org): sign-in counts only from the "
                                                "app's own origin, this one or the address it listens on."),
            trusted_proxy: str = typer.Option(None, envvar="NEARMISS_TRUSTED_PROXY",
                                              help="Address(es) of the reverse proxy whose X-Forwarded-For names "
                                                   "the client (comma-separated, networks allowed); without it the "
                                                   "sign-in throttle keys on the connection's own address.")
            ) -> None:
    """Start the Streamlit app on this store."""
    url = resolve_url(ctx.find_root().obj["db"])
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        url = "sqlite:///" + str(Path(url.removeprefix("sqlite:///")).resolve())
    Store(url).dispose()
    env = server_env(url, public_url=public_url, trusted_proxy=trusted_proxy)
    if not is_loopback(host):
        typer.secho(f"Warning: listening on {host}: other machines can reach this app. Serve it over HTTPS "
                    "(a reverse proxy) and give every account its own password.", err=True, fg="yellow")
    sys.stdout.flush()
    sys.stderr.flush()
    # the server replaces this process, so a signal to its pid (kill, a supervisor's stop) stops the server
    cmd = streamlit_command(host, port)
    os.execve(cmd[0], cmd, env)
