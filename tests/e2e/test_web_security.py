"""The browser-session attacks of issue 28, replayed against a real server: a page served on
another port of the same host, opened in a signed-in admin's browser, gets no session (the
token is not a cookie, so neither its requests nor the app's websocket carry it) and its
websocket is signed out, so its replay of the Accounts page's "Make admin" changes nothing,
even with the admin's token in hand, while the same replay from the app's own origin works;
uploads are refused at the endpoint, before the body is read, unless an admin is signed in;
a 5 MB name is refused at once, and costs the server little; a rotating X-Forwarded-For is
throttled, and the owner still signs in while a stranger attacks their name."""
from __future__ import annotations

import base64
import http.client
import http.server
import threading
import time
from collections.abc import Iterator
from urllib.parse import urlsplit

import pytest
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

from nearmiss.app.components.session_token import STORAGE_KEY
from nearmiss.app.serving import server_env
from nearmiss.auth.accounts import revoke_sessions
from nearmiss.auth.sessions import list_sessions, open_session
from nearmiss.store import Store
from nearmiss.store.tables import Annotator
from tests.conftest import ROOT, sign_in_page
from tests.labeling import users
from tests.streamlit_ws import Run, StreamClient, press, rerun_message, stored_token, text

pytestmark = pytest.mark.e2e
FOREIGN = "own address, so it cannot sign in"  # the sign-in form's refusal of a foreign Origin


def _role(store: Store, name: str) -> str:
    with store.session() as s:
        return s.query(Annotator).filter_by(name=name).one().role


def _signed_in_client(url: str, token: str, *, origin: str, page: str = "") -> tuple[StreamClient, Run]:
    """A raw connection that hands the server a stored token, as the app's own page does."""
    client = StreamClient(url, origin=origin)
    first = client.run(page)
    return client, client.run(page, stored_token(first.component_id(), token))


def _sign_in_form(url: str, headers: dict[str, str] | None = None) -> tuple[StreamClient, tuple[str, str, str]]:
    """A raw connection showing the sign-in form, and the ids of its name, password and button."""
    client = StreamClient(url, origin=url, headers=headers)
    form = client.run("", stored_token(client.run("").component_id(), ""))
    return client, (form.widget_id("text_input", "Name"), form.widget_id("text_input", "Password"),
                    form.widget_id("button", "Sign in"))


def _attempt(url: str, name: str, password: str, headers: dict[str, str] | None = None) -> str:
    """One sign-in through the form on a fresh connection; the messages shown."""
    client, (name_id, password_id, button) = _sign_in_form(url, headers)
    try:
        return client.run("", [text(name_id, name), text(password_id, password), press(button)]).text
    finally:
        client.close()


@pytest.fixture
def attacker() -> Iterator[tuple[str, list[str]]]:
    """A page served on another loopback port; yields its URL and the Cookie headers it received."""
    cookies: list[str] = []

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's name)
            cookies.append(self.headers.get("Cookie") or "")
            body = b"<html><body>cat pictures<script>fetch('/collect')</script></body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/", cookies
    server.shutdown()


# The attacker page's script: open the app's websocket (the browser sets Origin and would send
# any cookie of this host along), send a replayed BackMsg and keep every frame that comes back.
OPEN_SOCKET = """([url, message]) => new Promise((resolve, reject) => {
  window.frames_ = [];
  const socket = new WebSocket(url, ["streamlit"]);
  socket.binaryType = "arraybuffer";
  socket.onmessage = (e) => {
    let s = ""; for (const b of new Uint8Array(e.data)) s += String.fromCharCode(b);
    window.frames_.push(btoa(s));
  };
  socket.onerror = () => reject(new Error("websocket refused"));
  socket.onopen = () => { socket.send(Uint8Array.from(atob(message), (c) => c.charCodeAt(0))); resolve(true); };
})"""


def _frames(page, timeout: float = 60) -> Run:
    """The ForwardMsgs the attacker page received, until a run finished."""
    run, deadline = Run(), time.monotonic() + timeout
    while time.monotonic() < deadline:
        for frame in page.evaluate("window.frames_.splice(0)"):
            msg = ForwardMsg()
            msg.ParseFromString(base64.b64decode(frame))
            run.messages.append(msg)
            if msg.WhichOneof("type") == "script_finished" and msg.script_finished == ForwardMsg.FINISHED_SUCCESSFULLY:
                return run
        page.wait_for_timeout(200)
    raise AssertionError("the attacker page's run never finished")


def test_a_page_on_another_port_gets_no_session(browser, app_server, sqlite_url, attacker):
    store = Store(sqlite_url)
    users(store, "boss", role="admin")
    users(store, "ann")
    server = app_server(sqlite_url)
    admin = sign_in_page(browser, server, "boss", "boss-password")
    admin.get_by_text("Signed in as boss (admin)").wait_for(timeout=20000)
    token = admin.evaluate(f"window.localStorage.getItem('{STORAGE_KEY}')")
    assert token and not any(token in c["value"] for c in admin.context.cookies())  # stored, not a cookie

    # the replay: the Accounts page's "Make admin" (its widget id, as any visitor's page has it)
    probe, accounts = _signed_in_client(server.url, token, origin=server.url, page="accounts")
    make_admin = accounts.widget_id("button", "Make admin")
    probe.close()
    replay = base64.b64encode(rerun_message("accounts", [press(make_admin)])).decode()

    attacker_url, seen = attacker
    evil = admin.context.new_page()  # the admin opens the attacker's page in the same browser
    evil.goto(attacker_url)
    evil.wait_for_timeout(500)
    assert token not in evil.evaluate("document.cookie + JSON.stringify(window.localStorage)")
    assert seen and not any(token in c for c in seen)  # this host's cookies reach that port; the token does not
    evil.evaluate(OPEN_SOCKET, [server.url.replace("http", "ws", 1) + "/_stcore/stream", replay])
    shown = _frames(evil).text
    assert FOREIGN in shown and "Signed in as" not in shown and "Active sessions" not in shown
    assert _role(store, "ann") == "annotator"

    # even holding the admin's token (leaked some other way), a foreign Origin stays signed out
    foreign, run = _signed_in_client(server.url, token, origin=attacker_url.rstrip("/"), page="accounts")
    assert FOREIGN in run.text and "Signed in as" not in run.text
    assert FOREIGN in foreign.run("accounts", [press(make_admin)]).text
    assert _role(store, "ann") == "annotator"

    # the same replay from the app's own origin is honoured: the refusals above are the Origin's
    own, run = _signed_in_client(server.url, token, origin=server.url, page="accounts")
    assert "Signed in as boss (admin)" in run.text
    own.run("accounts", [press(make_admin)])
    assert _role(store, "ann") == "admin"
    evil.context.close()


def _rss_mb(pid: int) -> int:
    with open(f"/proc/{pid}/status") as f:
        return int(next(line for line in f if line.startswith("VmRSS")).split()[1]) // 1024


REFUSED_MID_BODY = -1  # the server answered and closed the connection while the body was still coming


def _put(url: str, session_id: str, *, mb: int = 0, expect: bool = False, xsrf: str | None = None,
         file_id: str | None = None) -> int:
    """PUT a file of ``mb`` MB to Streamlit's upload endpoint; the HTTP status (or
    REFUSED_MID_BODY). With ``expect`` the body is sent only if the server asks for it (it
    never does when it refuses first)."""
    boundary = "nearmissboundary"
    head = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x.jsonl\"\r\n"
            "Content-Type: application/octet-stream\r\n\r\n").encode()
    tail = f"\r\n--{boundary}--\r\n".encode()
    size = len(head) + (mb << 20) + len(tail)
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}", "Content-Length": str(size),
               "Origin": url, **({"Expect": "100-continue"} if expect else {}),
               **({"X-Xsrftoken": xsrf, "Cookie": f"_streamlit_xsrf={xsrf}"} if xsrf else {})}
    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=60)
    conn.putrequest("PUT", f"/_stcore/upload_file/{session_id}/{file_id or f'file-{time.monotonic_ns()}'}")
    for k, v in headers.items():
        conn.putheader(k, v)
    conn.endheaders()
    try:
        if not expect:
            conn.send(head)
            chunk = b"x" * (1 << 20)
            for _ in range(mb):
                conn.send(chunk)
            conn.send(tail)
        return conn.getresponse().status
    except (BrokenPipeError, ConnectionResetError):
        return REFUSED_MID_BODY
    finally:
        conn.close()


def _delete(url: str, session_id: str, file_id: str, xsrf: str) -> int:
    """Drop an uploaded file, as the page's uploader does when its file is removed."""
    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
    conn.request("DELETE", f"/_stcore/upload_file/{session_id}/{file_id}",
                 headers={"Origin": url, "X-Xsrftoken": xsrf, "Cookie": f"_streamlit_xsrf={xsrf}"})
    status = conn.getresponse().status
    conn.close()
    return status


def _xsrf(url: str) -> str:
    """Streamlit's XSRF cookie, as the app's page gets it (from the health check the page polls)."""
    conn = http.client.HTTPConnection(urlsplit(url).netloc, timeout=30)
    conn.request("GET", "/_stcore/health")
    cookie = conn.getresponse().getheader("Set-Cookie") or ""
    conn.close()
    return cookie.split("_streamlit_xsrf=", 1)[1].split(";", 1)[0]


def test_uploads_are_refused_at_the_endpoint_unless_an_admin_is_signed_in(app_server, sqlite_url):
    store = Store(sqlite_url)
    (boss,) = users(store, "boss", role="admin")
    users(store, "ann")
    cap = 2  # MB a file, so an admin's session may hold 2 x 2 MB
    server = app_server(sqlite_url, env={**server_env(sqlite_url), "PYTHONPATH": str(ROOT),
                                         "NEARMISS_MAX_UPLOAD_MB": str(cap)})
    xsrf = _xsrf(server.url)
    stranger = StreamClient(server.url, origin=server.url)
    stranger.run("")  # a signed-out visitor's live Streamlit session
    assert _put(server.url, stranger.session_id, mb=1, expect=True, xsrf=xsrf) == 403  # refused before the body
    before = _rss_mb(server.proc.pid)
    assert {_put(server.url, stranger.session_id, mb=150, xsrf=xsrf) for _ in range(3)} <= {403, REFUSED_MID_BODY}
    assert _rss_mb(server.proc.pid) - before < 50  # the finding: 3 x 150 MB grew it by 450 MB
    annotator, _ = _signed_in_client(server.url, open_session(store, users(store, "ann2")[0])[0], origin=server.url)
    assert _put(server.url, annotator.session_id, mb=1, xsrf=xsrf) == 403
    admin, run = _signed_in_client(server.url, open_session(store, boss)[0], origin=server.url)
    assert "Signed in as boss (admin)" in run.text
    assert _put(server.url, admin.session_id, mb=1, xsrf=xsrf, file_id="first") == 204
    assert _put(server.url, admin.session_id, mb=cap + 1, expect=True, xsrf=xsrf) == 413  # the app's cap
    assert {_put(server.url, admin.session_id, mb=1, xsrf=xsrf) for _ in range(2)} == {204}  # 3 MB and headers
    assert _put(server.url, admin.session_id, mb=1, expect=True, xsrf=xsrf) == 413  # would hold over 2 x 2 MB
    assert _delete(server.url, admin.session_id, "first", xsrf) == 204  # the page dropped a file
    assert _put(server.url, admin.session_id, mb=1, xsrf=xsrf) == 204
    revoke_sessions(store, [x.id for x in list_sessions(store, "boss")])  # signed out elsewhere: at once
    assert _put(server.url, admin.session_id, mb=1, xsrf=xsrf) == 403
    for client in (stranger, annotator, admin):
        client.close()


def test_a_5mb_name_is_refused_at_once_and_costs_little(app_server, sqlite_url):
    store = Store(sqlite_url)
    users(store, "ann")
    server = app_server(sqlite_url)
    client, (name_id, password_id, button) = _sign_in_form(server.url)
    before = _rss_mb(server.proc.pid)
    for n in range(20):  # the finding: 20 of these kept 232 MB for minutes
        started = time.monotonic()
        shown = client.run("", [text(name_id, "n" * (5 << 20) + str(n)), text(password_id, "x"), press(button)]).text
        assert "Name or password too long" in shown and time.monotonic() - started < 10
    assert _rss_mb(server.proc.pid) - before < 80
    # none of them counted as a failure: the next attempt, from the same address, is not throttled
    assert "Signed in as ann" in client.run("", [text(name_id, "ann"), text(password_id, "ann-password"),
                                                 press(button)]).text
    client.close()


THROTTLED = "Too many failed sign-ins"


def test_a_rotating_forwarded_for_is_throttled_and_the_owner_still_signs_in(app_server, sqlite_url):
    store = Store(sqlite_url)
    users(store, "ann")
    direct = app_server(sqlite_url)  # the finding: 12 of 12 attempts with a rotating header went unthrottled
    shown = [THROTTLED in _attempt(direct.url, "ann", "guess-guess", {"X-Forwarded-For": f"10.0.0.{n}"})
             for n in range(8)]
    assert shown[:4] == [False] * 4 and any(shown[4:])  # 3 free failures, then the connection's address waits

    # behind a trusted proxy its X-Forwarded-For names the client: a stranger waits, the owner does not
    proxied = app_server(sqlite_url, env={**server_env(sqlite_url, trusted_proxy="127.0.0.1"), "PYTHONPATH": str(ROOT)})
    stranger, failures = {"X-Forwarded-For": "203.0.113.7"}, 0
    while failures < 7:  # 3 free, then waits of 1, 2 and 4 s: the 7th leaves the stranger 8 s to wait
        failures += THROTTLED not in _attempt(proxied.url, "ann", "guess-guess", stranger)
    assert "Signed in as ann" in _attempt(proxied.url, "ann", "ann-password", {"X-Forwarded-For": "10.0.0.5"})
    assert THROTTLED in _attempt(proxied.url, "ann", "ann-password", stranger)  # even with the password
