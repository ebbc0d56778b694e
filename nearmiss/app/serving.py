"""How the app's server is started: its environment. The client address the sign-in throttle
sees is the connection's own unless a trusted proxy is named (``NEARMISS_TRUSTED_PROXY``,
``nearmiss app --trusted-proxy``): only then is ``X-Forwarded-For`` read, and only from that
proxy. Streamlit's server (uvicorn) would otherwise trust that header from any loopback
client; it reads which peers to trust from ``FORWARDED_ALLOW_IPS`` when it starts, so the
server's environment sets it, and ``nearmiss.app.server`` refuses to run without it."""
from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping

from nearmiss.auth.origin import PUBLIC_URL_ENV, origin_of
from nearmiss.errors import ConfigError

TRUSTED_PROXY_ENV = "NEARMISS_TRUSTED_PROXY"
FORWARDED_ENV = "FORWARDED_ALLOW_IPS"  # uvicorn's; "" trusts no peer


def check_proxy(proxy: str) -> str:
    """``proxy`` (addresses or networks, comma-separated) checked, or ConfigError."""
    for part in proxy.split(","):
        try:
            ipaddress.ip_network(part.strip())
        except ValueError:
            raise ConfigError(f"--trusted-proxy: '{part.strip()}' is not an IP address or network "
                              f"(e.g. 127.0.0.1 or 10.0.0.0/8)") from None
    return ",".join(p.strip() for p in proxy.split(","))


def check_public_url(url: str) -> str:
    """``url`` as an origin (``https://host[:port]``), or ConfigError."""
    origin = origin_of(url)
    if origin is None:
        raise ConfigError(f"--public-url: '{url}' is not an http(s) URL (e.g. https://nearmiss.example.org)")
    return origin


def server_env(db_url: str, *, public_url: str | None = None, trusted_proxy: str | None = None,
               base: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The server process's environment: ``base`` with the store URL, the public URL and the
    trusted proxy set (those not given removed)."""
    env = {k: v for k, v in base.items() if k not in (PUBLIC_URL_ENV, TRUSTED_PROXY_ENV, FORWARDED_ENV)}
    env["NEARMISS_DB"] = db_url
    if public_url:
        env[PUBLIC_URL_ENV] = check_public_url(public_url)
    if trusted_proxy:
        env[TRUSTED_PROXY_ENV] = check_proxy(trusted_proxy)
    env[FORWARDED_ENV] = env.get(TRUSTED_PROXY_ENV, "")
    return env


def forwarding_error(env: Mapping[str, str] = os.environ) -> str | None:
    """Why the server must not start with this environment (its forwarded-address trust is not
    what nearmiss set), or None."""
    want = env.get(TRUSTED_PROXY_ENV, "")
    if env.get(FORWARDED_ENV) != want:
        return (f"{FORWARDED_ENV} is {env.get(FORWARDED_ENV)!r}, not {want!r}: start the app with `nearmiss app` "
                f"(name a reverse proxy with --trusted-proxy), so X-Forwarded-For is trusted from that proxy only")
    return None
