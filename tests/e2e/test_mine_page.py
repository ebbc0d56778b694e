"""The Mine page in a real browser: start a background run, watch it finish, see the plot."""
from __future__ import annotations

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
    page.locator(".st-key-mine_limit input").fill("4")
    page.locator(".st-key-mine_limit input").press("Tab")
    page.get_by_role("button", name="Start mining").click()
    page.get_by_text("started in the background").wait_for(timeout=30000)
    page.get_by_text("done", exact=True).wait_for(timeout=400000)  # the run's status, polled every 2 s
    page.locator('[data-testid="stVegaLiteChart"]').wait_for(timeout=30000)  # nearness histogram per origin
    page.locator('[data-testid="stDataFrame"]').wait_for(timeout=30000)  # top candidates

    with store.session() as s:
        run = s.scalar(select(Run))
        origins = set(s.scalars(select(Candidate.origin)))
        scores = s.scalar(select(Candidate.scores).limit(1))
    assert run.status == "done" and run.metrics["items_mined"] == 4
    assert origins == {"distractor", "neighbour"} and {"sim_gold", "lp_token", "margin_char"} <= set(scores)
    store.dispose()
