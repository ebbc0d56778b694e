"""The app's own origin. A browser session counts only on a connection whose ``Origin`` header
is the app's own origin: the scheme, host and port the browser used to reach this server (its
``Host`` header, with the server's own scheme), or the public URL the app is served under
behind a proxy (``NEARMISS_PUBLIC_URL``, ``nearmiss app --public-url``). Cookies are not
isolated by port, and ``SameSite`` counts every port and sibling subdomain of a site as the
same site, so the cookie alone does not say which page opened the connection: a page on
another port of the same host gets the session cookie sent along, but not its Origin."""
from __future__ import annotations

import os
from urllib.parse import urlsplit

PUBLIC_URL_ENV = "NEARMISS_PUBLIC_URL"
DEFAULT_PORTS = {"http": 80, "https": 443}


def public_url() -> str | None:
    """The public URL the app is served under (behind a proxy), if one is configured."""
    return os.environ.get(PUBLIC_URL_ENV) or None


def origin_of(url: str) -> str | None:
    """``scheme://host[:port]`` of an http(s) URL, lower-cased, without a default port; None
    for anything else."""
    try:
        parts = urlsplit(url.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in DEFAULT_PORTS or not parts.hostname:
        return None
    host = f"[{parts.hostname}]" if ":" in parts.hostname else parts.hostname
    scheme = parts.scheme.lower()
    return f"{scheme}://{host}" + ("" if port in (None, DEFAULT_PORTS[scheme]) else f":{port}")


def own_origins(host: str | None, *, tls: bool, public: str | None = None) -> set[str]:
    """The origins this app counts as its own, for a request that arrived with ``Host: host``
    on a server that does (``tls``) or does not serve HTTPS itself."""
    found = {origin_of(f"{'https' if tls else 'http'}://{host}") if host else None,
             origin_of(public) if public else None}
    return {o for o in found if o is not None}


def is_own_origin(origin: str | None, host: str | None, *, tls: bool, public: str | None = None) -> bool:
    """Whether a request's ``Origin`` header names this app (a missing one does not)."""
    own = origin_of(origin) if origin else None
    return own is not None and own in own_origins(host, tls=tls, public=public)
