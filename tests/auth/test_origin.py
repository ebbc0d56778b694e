"""The app's own origin: the Host the browser reached (with the server's scheme) or the public
URL behind a proxy; another port, scheme or host, a sibling subdomain, "null" or no Origin
at all is foreign."""
import pytest

from nearmiss.auth.origin import is_own_origin, origin_of


@pytest.mark.parametrize(("url", "origin"), [
    ("http://127.0.0.1:8501", "http://127.0.0.1:8501"), ("HTTPS://Example.ORG:443/x?y", "https://example.org"),
    ("http://example.org:80", "http://example.org"), ("http://[::1]:8501", "http://[::1]:8501"),
    ("null", None), ("file:///etc/passwd", None), ("http://host:99999", None), ("ws://host", None),
])
def test_origin_of(url, origin):
    assert origin_of(url) == origin


@pytest.mark.parametrize(("origin", "host", "tls", "public", "own"), [
    ("http://127.0.0.1:8501", "127.0.0.1:8501", False, None, True),
    ("http://127.0.0.1:9999", "127.0.0.1:8501", False, None, False),  # another port of the same host
    ("http://localhost:8501", "127.0.0.1:8501", False, None, False),
    ("https://127.0.0.1:8501", "127.0.0.1:8501", False, None, False),  # the server does not serve https
    ("https://app.example.org", "app.example.org", True, None, True),
    ("https://evil.example.org", "app.example.org", True, None, False),  # a sibling subdomain: same site
    ("https://app.example.org", "127.0.0.1:8501", False, "https://app.example.org/", True),  # behind a proxy
    ("http://app.example.org", "127.0.0.1:8501", False, "https://app.example.org", False),
    ("null", "127.0.0.1:8501", False, None, False), (None, "127.0.0.1:8501", False, None, False),
    ("http://127.0.0.1:8501", None, False, None, False),
])
def test_is_own_origin(origin, host, tls, public, own):
    assert is_own_origin(origin, host, tls=tls, public=public) is own
