"""Home in a real browser: per dataset the team's progress and my share, and Start labeling
opens the Label page with its queue on that dataset."""
import pytest

from nearmiss.label.labels import decide
from nearmiss.store import Store
from tests.conftest import sign_in_page
from tests.labeling import add_candidates, users

pytestmark = pytest.mark.e2e


@pytest.mark.slow  # ~35 s; Home is no must-show item
def test_home_shows_team_progress_and_starts_labeling_a_dataset(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    quiz = add_candidates(store, 2, per_item=2)
    add_candidates(store, 1, per_item=2, dataset="trivia")
    _, bob = users(store, "ann", "bob")
    decide(store, bob, quiz[0], "near_miss", request_id="b0")
    decide(store, bob, quiz[1], "far_miss", request_id="b1")
    store.dispose()
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "ann", "ann-password")
    page.get_by_text("2 of 4 candidates labeled (50%)").wait_for(timeout=30000)
    page.get_by_text("0 of 2 candidates labeled (0%)").wait_for(timeout=10000)
    assert page.get_by_text("my votes: 0 (0%)").count() == 1  # quiz: bob's two votes, none of mine
    page.locator(".st-key-home_start_1 button").click()  # trivia
    page.get_by_role("heading", name="Label").wait_for(timeout=30000)
    page.locator(".nm-badge").first.wait_for(timeout=30000)
    assert page.locator(".nm-badge").first.inner_text() == "trivia"
    assert page.locator(".st-key-label_datasets").get_by_text("trivia").count() == 1
    page.context.close()
