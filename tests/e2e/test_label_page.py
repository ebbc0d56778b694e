"""The Label page in a real browser (Streamlit server + Debian Chromium): two annotators at
once with overlap 2, 50 keys 20 ms apart, kill -9 after acknowledged labels, and admin
pages refused to an annotator's session asked by URL."""
import statistics
import time

import pytest
from sqlalchemy import select

from nearmiss.app.components.keys import LABEL_KEYS
from nearmiss.label.queue import set_overlap
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Label
from tests.conftest import ARTIFACTS, sign_in_page
from tests.labeling import add_candidates, users

pytestmark = pytest.mark.e2e

# Runs before the app's scripts: records, for every key, the candidate text that is on
# screen when the key goes down (read from the page, independently of the card's own state).
OBSERVER = """
window.__observed = [];
window.addEventListener("keydown", (e) => {
  // the key card's host (the page also holds the session-token component)
  const host = [...document.querySelectorAll("[data-testid='stBidiComponentIsolated']")]
    .find((h) => h.shadowRoot && h.shadowRoot.querySelector(".nm-root"));
  const shown = host && host.shadowRoot && host.shadowRoot.querySelector(".nm-candidate");
  window.__observed.push({key: e.key, text: shown ? shown.textContent : null});
}, true);
"""


def _label_page(browser, server, name: str):
    page = sign_in_page(browser, server, name, name + "-password")
    page.locator("[data-testid='stSidebarNav']").get_by_text("Label").click()
    page.locator(".nm-root").wait_for(timeout=30000)
    return page


def _settled(page) -> None:
    """Wait until the card has no press in flight."""
    page.wait_for_function("() => window.__nearmissKeys && !window.__nearmissKeys.pending", timeout=30000)


def _press_and_wait(page, key: str) -> dict:
    """Press one key on the card and wait for the server's answer; returns the card's log entry."""
    page.keyboard.press(key)
    _settled(page)
    return page.evaluate("window.__nearmissKeys.log.at(-1)")


def _decisions(url: str, annotator: int | None = None) -> list[tuple[str, int, str]]:
    store = Store(url)
    q = select(Label.candidate_id, Label.annotator_id, Label.label).where(Label.kind == "decision").order_by(Label.id)
    if annotator is not None:
        q = q.where(Label.annotator_id == annotator)
    with store.session() as s:
        rows = s.execute(q).tuples().all()
    store.dispose()
    return rows


def test_two_annotators_at_once_with_overlap_2(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    cands = add_candidates(store, 3, per_item=2)
    ann, bob = users(store, "ann", "bob")
    set_overlap(store, users(store, "boss", role="admin")[0], "quiz", 2)
    server = app_server(sqlite_url)
    pages = {ann: _label_page(browser, server, "ann"), bob: _label_page(browser, server, "bob")}
    keys = {ann: "1", bob: "2"}
    ARTIFACTS.mkdir(exist_ok=True)
    pages[ann].screenshot(path=str(ARTIFACTS / "label-page.png"), full_page=True)
    on_screen: dict[int, list[str]] = {ann: [], bob: []}
    deadline = time.time() + 90
    while not all(p.get_by_text("Nothing left to label").count() for p in pages.values()):
        assert time.time() < deadline, on_screen
        busy = [a for a, p in pages.items() if p.locator(".nm-candidate").count()]
        for a in busy:  # both press before either answer comes back
            on_screen[a].append(pages[a].locator(".nm-root").get_attribute("data-cid"))
            pages[a].keyboard.press(keys[a])
        for a in busy:
            _settled(pages[a])
        if not busy:  # the last candidates are held by the other annotator: the cards poll
            time.sleep(0.3)
    rows = _decisions(sqlite_url)
    assert sorted(rows) == sorted([(c, ann, "near_miss") for c in cands] + [(c, bob, "far_miss") for c in cands])
    for a in (ann, bob):  # each stored what it had on screen, in order
        assert [c for c, who, _ in rows if who == a] == on_screen[a]


def test_fifty_keys_20ms_apart_label_only_what_was_on_screen(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    add_candidates(store, 20, per_item=3)
    (ann,) = users(store, "ann")
    with store.session() as s:
        cid_of = dict(s.execute(select(Candidate.text, Candidate.id)).tuples().all())
    server = app_server(sqlite_url)
    page = _label_page(browser, server, "ann")
    page.evaluate(OBSERVER)
    keys = ["1", "2", "3", "4", " "] * 10
    started = time.perf_counter()
    for n, key in enumerate(keys):  # one key every 20 ms
        time.sleep(max(0.0, started + 0.02 * n - time.perf_counter()))
        page.keyboard.press(key)
    elapsed = time.perf_counter() - started
    _settled(page)
    observed = page.evaluate("window.__observed")
    log = page.evaluate("window.__nearmissKeys.log")
    assert len(observed) == len(log) == 50
    # the card bound every key to the candidate whose text was on screen when it went down
    assert [entry["cid"] for entry in log] == [cid_of[o["text"]] for o in observed]
    taken = [entry for entry in log if entry["taken"]]
    assert all(entry["status"] == "stored" for entry in taken)
    rows = _decisions(sqlite_url, ann)
    assert rows == [(entry["cid"], ann, LABEL_KEYS[entry["key"]]) for entry in taken]
    assert len({c for c, _, _ in rows}) == len(rows)  # no candidate written twice
    not_taken = len(log) - len(taken)
    if not_taken:  # every press that was not taken was said so on the card
        assert f"keys not taken: {not_taken}" in page.locator(".nm-counters").inner_text()
    print(f"\n50 keys in {elapsed:.2f} s: {len(taken)} stored, {not_taken} visibly not taken; "
          f"median round trip {statistics.median(e['ms'] for e in taken)} ms")


def test_kill_9_after_acknowledged_labels_loses_none(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    add_candidates(store, 4, per_item=2)
    (ann,) = users(store, "ann")
    server = app_server(sqlite_url)
    page = _label_page(browser, server, "ann")
    acknowledged = []
    for key in ["1", "2", "1", "3", "4"]:
        entry = _press_and_wait(page, key)
        assert entry["status"] == "stored"
        acknowledged.append((entry["cid"], ann, LABEL_KEYS[key]))
    server.kill()  # SIGKILL: no shutdown handlers run
    assert _decisions(sqlite_url) == acknowledged
    server.start()
    page = _label_page(browser, server, "ann")
    assert page.locator(".nm-stat[data-stat='done'] .nm-stat-value").inner_text() == "5"
    assert page.locator(".nm-root").get_attribute("data-cid") not in {c for c, _, _ in acknowledged}


def test_annotator_cannot_reach_admin_pages_by_url(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    add_candidates(store, 1)
    users(store, "ann")
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "ann", "ann-password")
    page.get_by_text("Welcome, ann").wait_for(timeout=20000)
    nav = page.locator("[data-testid='stSidebarNav']")
    assert nav.get_by_text("Label").count() == 1
    assert nav.get_by_text("Review").count() == 0 and nav.get_by_text("Datasets").count() == 0
    main = page.locator("[data-testid='stMain']")

    def visit(path: str) -> None:  # change the URL inside the signed-in session (as back/forward does)
        page.evaluate(f"history.pushState(null, '', '/{path}'); window.dispatchEvent(new PopStateEvent('popstate'))")

    visit("label")  # control: in-session URL navigation reaches a page the annotator has
    page.locator(".nm-root").wait_for(timeout=20000)
    for path in ("review", "datasets"):
        visit(path)
        main.get_by_text("This page is for admins only.").wait_for(timeout=20000)
        assert main.get_by_text("Agreement").count() == 0 and main.get_by_text("Upload a file").count() == 0
        visit("label")
        page.locator(".nm-root").wait_for(timeout=20000)
    page.goto(f"{server.url}/review")  # a fresh load arrives signed in (the stored token) and is refused too
    main.get_by_text("This page is for admins only.").wait_for(timeout=20000)
    assert main.get_by_text("Agreement").count() == 0 and nav.get_by_text("Review").count() == 0
