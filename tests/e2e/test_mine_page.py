"""The Mine page in a real browser: start a background run, watch its progress move before it
ends, see the plot."""
from __future__ import annotations

import time

import pytest
from sqlalchemy import select

from nearmiss.auth.accounts import add_user
from nearmiss.load.ingest import ingest
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Run
from tests.conftest import sign_in_page


@pytest.mark.e2e
def test_admin_starts_mining_and_sees_nearness_per_origin(browser, app_server, sqlite_url, arc_items):
    store = Store(sqlite_url)
    ingest(store, arc_items[:20])
    add_user(store, "boss", "admin", "password-1")
    add_user(store, "ann", "annotator", "password-1")
    server = app_server(sqlite_url)

    annotator = sign_in_page(browser, server, "ann", "password-1")
    assert annotator.get_by_role("link", name="Mine").count() == 0  # the page is not routed for annotators

    page = sign_in_page(browser, server, "boss", "password-1")
    page.locator('[data-testid="stSidebarNav"] a', has_text="Mine").click()
    page.locator(".st-key-mine_limit input").fill("20")
    page.locator(".st-key-mine_limit input").press("Tab")
    page.get_by_role("button", name="Start mining").click()
    page.get_by_text("Mining run 1 started in the background").wait_for(timeout=30000)
    seen = _watch_until_done(page, "Mining run 1", 400)
    live = [text for _, text in seen]  # a bar shows while the run lives
    assert len(set(live)) >= 3, seen  # the stage and its counter change while it runs
    assert any(0 < value < 100 for value, _ in seen), seen  # the bar moved before the end
    assert any("scoring with the lm scorer" in text and " of 20 items" in text for text in live), seen
    page.locator('[data-testid="stVegaLiteChart"]').wait_for(timeout=30000)  # nearness histogram per origin
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=30000)  # top candidates

    with store.session() as s:
        run = s.scalar(select(Run))
        origins = set(s.scalars(select(Candidate.origin)))
        scores = s.scalar(select(Candidate.scores).limit(1))
    assert run.status == "done" and run.metrics["items_mined"] == 20
    assert origins == {"distractor", "neighbour"} and {"sim_gold", "lp_token", "margin_char"} <= set(scores)
    store.dispose()

BARS = """() => [...document.querySelectorAll('[data-testid="stProgress"]')].map(
    (bar) => [bar.querySelector('[role="progressbar"]')?.getAttribute("aria-valuenow"), bar.innerText])"""


def _watch_until_done(page, name: str, seconds: float) -> list[tuple[int, str]]:
    """(bar value in %, bar text) of run ``name`` as the page shows it, looked at every 0.3 s until the
    run's card says done."""
    seen: list[tuple[int, str]] = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        for value, text in page.evaluate(BARS):
            if text.strip().startswith(name) and (not seen or seen[-1] != (int(value or 0), text.strip())):
                seen.append((int(value or 0), text.strip()))
        if page.get_by_text(f"{name} · arc-easy · done").count():
            return seen
        time.sleep(0.3)
    raise AssertionError(f"{name} did not end in {seconds} s; seen: {seen}")
