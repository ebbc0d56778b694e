"""The annotator's day in a real browser (Streamlit server + Debian Chromium): a first
wrong step marked on a trace does not block the next MCQA card; keys after using a sidebar
filter label the card on screen or are shown as not taken; the card shows no scores or origins
and a suggestion only where the ranker is confident; Enter accepts it, else says there is none;
the key legend is clickable; g opens the guidelines (images as links); a comment typed on the card shows on Review, a pasted
one over the limit is kept whole and refused naming the limit; a decision
reopened from History changes the final label and the old one is retracted, not deleted."""
import time
from datetime import timedelta

import pytest
from sqlalchemy import select, update

from nearmiss.app.components.keys import DESK_KEYS
from nearmiss.label.final_labels import load_final_labels
from nearmiss.label.guidelines import save_guideline
from nearmiss.label.labels import decide
from nearmiss.label.queue import QueueConfig, set_overlap
from nearmiss.store import Store
from nearmiss.store.tables import Candidate, Claim, Label, as_utc, utcnow
from tests.conftest import sign_in_page
from tests.labeling import add_candidates, users
from tests.traces import add_traces

pytestmark = pytest.mark.e2e
SAVED = ("stored", "repeat")  # "repeat": on a busy machine the press was re-sent and the first copy stored


def _open(browser, server, name: str, page_title: str = "Label", fake_clock: bool = False):
    page = sign_in_page(browser, server, name, name + "-password", fake_clock)
    page.locator("[data-testid='stSidebarNav']").get_by_text(page_title).click()
    return page


def _settled(page) -> None:
    page.wait_for_function("() => window.__nearmissKeys && !window.__nearmissKeys.pending", timeout=30000)


def _press(page, key: str) -> dict:
    page.keyboard.press(key)
    _settled(page)
    return page.evaluate("window.__nearmissKeys.log.at(-1)")


def _rows(url: str, *cols):
    store = Store(url)
    with store.session() as s:
        rows = s.execute(select(*cols).where(Label.kind == "decision").order_by(Label.id)).tuples().all()
    store.dispose()
    return rows


def _idle(page) -> None:
    """Wait until the page has no script run in progress."""
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=30000)


def test_after_a_first_wrong_step_on_a_trace_keys_1_to_4_work_on_mcqa_cards(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    add_traces(store, 1)
    mcqa = add_candidates(store, 2, per_item=2)
    (ann,) = users(store, "ann")
    with store.session() as s:  # the trace first ("most uncertain": nearness 0.5)
        s.execute(update(Candidate).where(Candidate.origin == "failed_trace").values(nearness=0.5))
    page = _open(browser, app_server(sqlite_url), "ann")
    page.locator(".nm-trace-failed").wait_for(timeout=30000)
    trace = page.locator(".nm-root").get_attribute("data-cid")
    page.locator(".nm-trace-failed .nm-msg[data-step='2'] .nm-msg-head").click()
    assert _press(page, "1")["status"] in SAVED
    for key in "1234":
        page.locator(".nm-candidate").wait_for(timeout=30000)
        assert page.locator(".nm-trace-failed").count() == 0
        entry = _press(page, key)
        assert entry["status"] in SAVED and entry["step"] is None, entry
    assert _rows(sqlite_url, Label.candidate_id, Label.label, Label.first_wrong_step)[0] == (trace, "near_miss", 2)
    assert [(c in mcqa, lab, step) for c, lab, step in _rows(sqlite_url, Label.candidate_id, Label.label,
                                                               Label.first_wrong_step)[1:]] == [
        (True, DESK_KEYS[k], None) for k in "1234"]


def test_a_card_left_on_screen_longer_than_its_lease_keeps_it(browser, app_server, sqlite_url):
    """The card's heartbeat goes through the page's guarded handler to the desk and renews the lease."""
    store = Store(sqlite_url)
    add_candidates(store, 2)
    (ann,) = users(store, "ann")
    page = _open(browser, app_server(sqlite_url), "ann", fake_clock=True)
    page.locator(".nm-candidate").wait_for(timeout=30000)
    shown = page.locator(".nm-root").get_attribute("data-cid")
    lease = Claim.candidate_id == shown, Claim.annotator_id == ann
    with store.session() as s:  # the lease ran out while the card stayed on screen
        assert s.execute(update(Claim).where(*lease).values(expires_at=utcnow() - timedelta(seconds=1))).rowcount == 1
    page.clock.fast_forward(1000 * (QueueConfig().lease_seconds + 1))  # the card's timers jump past a lease
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with store.session() as s:
            expires = as_utc(s.scalar(select(Claim.expires_at).where(*lease)))
        if expires > utcnow() + timedelta(seconds=QueueConfig().lease_seconds / 2):
            break
        time.sleep(0.2)
    assert expires > utcnow() + timedelta(seconds=QueueConfig().lease_seconds / 2), "the heartbeat did not renew"
    assert _press(page, "1")["status"] == "stored"  # still this annotator's card
    assert _rows(sqlite_url, Label.candidate_id, Label.late) == [(shown, False)]
    store.dispose()


def test_keys_after_a_sidebar_filter_are_never_silently_lost(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    add_candidates(store, 3, dataset="quiz")
    trivia = add_candidates(store, 3, dataset="trivia")
    (ann,) = users(store, "ann")
    page = _open(browser, app_server(sqlite_url), "ann")
    page.locator(".nm-candidate").wait_for(timeout=30000)
    datasets = page.locator(".st-key-label_datasets input")
    datasets.click()
    page.keyboard.type("trivia")
    page.keyboard.press("Enter")  # picks it; the keys go back to the card at once
    page.keyboard.press("1")
    page.keyboard.press("2")
    _settled(page)
    _idle(page)
    _settled(page)
    log = page.evaluate("window.__nearmissKeys.log")
    assert [e["key"] for e in log] == ["1", "2"] and not any("field" in e for e in log)  # none went into the filter
    assert datasets.input_value() == ""
    assert page.locator(".st-key-label_datasets").get_by_text("trivia").count() >= 1
    stored = [e for e in log if e.get("status") in SAVED]
    assert _rows(sqlite_url, Label.candidate_id, Label.label) == [(e["cid"], DESK_KEYS[e["key"]]) for e in stored]
    if len(stored) < 2:  # a key for a card the new filter took off screen: refused, and the card says so
        assert "refused by the server" in page.locator(".nm-counters").inner_text() or "not taken" in page.locator(
            ".nm-counters").inner_text(), log
    print(f"\nkeys right after the filter pick: {[(e['key'], e.get('status', e.get('field', 'not taken'))) for e in log]}")

    page.wait_for_function(f"""() => {trivia!r}.includes([...document.querySelectorAll("[data-testid='stBidiComponentIsolated']")].find(h => h.shadowRoot && h.shadowRoot.querySelector('.nm-root'))
                           .shadowRoot.querySelector('.nm-root').dataset.cid)""", timeout=30000)  # the filter applies
    focus = page.locator(".nm-focus")
    assert focus.get_attribute("data-focus") == "card"
    datasets.click()  # focus in a filter: the card says so
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stBidiComponentIsolated']\")]"
                           ".find(h => h.shadowRoot && h.shadowRoot.querySelector('.nm-root')).shadowRoot.querySelector('.nm-focus').dataset.focus === 'field'", timeout=10000)
    assert "Datasets" in focus.inner_text()
    before = len(_rows(sqlite_url, Label.id))
    page.keyboard.press("3")  # goes into the field, and the card says it was not taken
    page.locator(".nm-status").filter(has_text="not taken: 3 went into the field “Datasets”").wait_for(timeout=10000)
    assert len(_rows(sqlite_url, Label.id)) == before
    page.keyboard.press("Escape")  # Esc hands the keys back to the card
    page.wait_for_function("() => [...document.querySelectorAll(\"[data-testid='stBidiComponentIsolated']\")]"
                           ".find(h => h.shadowRoot && h.shadowRoot.querySelector('.nm-root')).shadowRoot.querySelector('.nm-focus').dataset.focus === 'card'", timeout=10000)
    cid = page.locator(".nm-root").get_attribute("data-cid")
    assert _press(page, "4")["status"] in SAVED
    assert _rows(sqlite_url, Label.candidate_id, Label.label)[-1] == (cid, "invalid")


def _p_near(store: Store, ps: dict[str, float]) -> None:
    """Give candidates the learned ranker's p_near (and the label it suggests)."""
    with store.session() as s:
        for cid, p in ps.items():
            s.execute(update(Candidate).where(Candidate.id == cid).values(
                p_near=p, suggested="near_miss" if p >= 0.5 else "far_miss"))


def test_the_annotators_card_is_plain_and_enter_accepts_only_a_confident_suggestion(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    unsure, sure, *rest = add_candidates(store, 2, per_item=2)
    _p_near(store, {unsure: 0.55, sure: 0.95, rest[0]: 0.0, rest[1]: 1.0})  # served in this order (uncertain first)
    users(store, "ann")
    page = _open(browser, app_server(sqlite_url), "ann")
    page.locator(".nm-candidate").wait_for(timeout=30000)
    assert page.locator(".nm-root").get_attribute("data-cid") == unsure
    text = page.locator("[data-testid='stMain']").inner_text()
    assert not [w for w in ("origin", "nearness", "sim_gold", "p_near", "Fixed blend", "Ranker v") if w in text], text
    assert page.locator(".nm-suggest").count() == 0
    entry = _press(page, "Enter")  # 0.55 is below the default 0.8: nothing is stored, the card says why
    assert entry["status"] == "refused" and _rows(sqlite_url, Label.id) == []
    page.locator(".nm-status").filter(has_text="not taken: no suggestion on this card").wait_for(timeout=10000)
    assert _press(page, "2")["status"] in SAVED
    page.locator(".nm-suggest").filter(has_text="suggested: near-miss").wait_for(timeout=30000)
    assert page.locator(".nm-root").get_attribute("data-cid") == sure
    assert _press(page, "Enter")["status"] in SAVED
    assert _rows(sqlite_url, Label.candidate_id, Label.label) == [(unsure, "far_miss"), (sure, "near_miss")]


def test_enter_accepts_the_suggestion_and_the_legend_is_clickable(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    _p_near(store, dict.fromkeys(add_candidates(store, 2, per_item=2), 0.9))
    users(store, "ann")
    save_guideline(store, users(store, "boss", role="admin")[0], "quiz",
                   "Near-miss means **tempting** but wrong.\n\n![pixel](http://127.0.0.1:9/pixel.png)")
    page = _open(browser, app_server(sqlite_url), "ann")
    page.locator(".nm-candidate").wait_for(timeout=30000)
    rules = page.locator(".st-key-label_guidelines details")
    assert rules.get_attribute("open") is None
    page.keyboard.press("g")  # g opens the guidelines (admin-written Markdown, rendered)
    rules.locator("strong").filter(has_text="tempting").wait_for(timeout=10000)
    assert rules.locator("img").count() == 0  # a remote image is a link, never fetched
    assert rules.locator("a[href='http://127.0.0.1:9/pixel.png']").inner_text() == "pixel"
    suggested = page.locator(".nm-suggest").inner_text()
    first = page.locator(".nm-root").get_attribute("data-cid")
    assert page.locator(".nm-letter").all_inner_texts()[:3] == ["A.", "B.", "C."]
    entry = _press(page, "Enter")
    assert entry["status"] in SAVED
    label = _rows(sqlite_url, Label.candidate_id, Label.label)[0]
    assert label[0] == first and suggested == f"suggested: {label[1].replace('_', '-')}"
    second = page.locator(".nm-root").get_attribute("data-cid")
    page.locator(".nm-key-item[data-key='3']").click()  # the mouse path
    _settled(page)
    assert _rows(sqlite_url, Label.candidate_id, Label.label)[1] == (second, "actually_correct")
    page.keyboard.press("4")  # after a click, the keys still reach the card
    _settled(page)
    assert len(_rows(sqlite_url, Label.id)) == 3


def test_a_comment_typed_on_the_card_shows_on_review(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    cid = add_candidates(store, 1, per_item=1)[0]
    ann, bob = users(store, "ann", "bob")
    set_overlap(store, users(store, "boss", role="admin")[0], "quiz", 2)
    decide(store, bob, cid, "far_miss", request_id="bob-1")
    server = app_server(sqlite_url)
    page = _open(browser, server, "ann")
    page.locator(".nm-candidate").wait_for(timeout=30000)
    page.keyboard.press("c")
    page.keyboard.type("12 looks like the gold, but 1 is wrong")  # keys typed into the comment stay there
    page.keyboard.press("Escape")
    page.keyboard.press("f")
    assert _press(page, "1")["status"] in SAVED
    assert _rows(sqlite_url, Label.annotator_id, Label.label, Label.note, Label.flagged)[-1] == (
        ann, "near_miss", "12 looks like the gold, but 1 is wrong", True)
    admin = _open(browser, server, "boss")  # the admin's own queue is empty: a key there leaves a status line
    admin.locator(".nm-empty").wait_for(timeout=30000)
    admin.keyboard.press("1")
    admin.locator(".nm-status").filter(has_text="not taken").wait_for(timeout=10000)
    admin.locator("[data-testid='stSidebarNav']").get_by_text("Review").click()
    card = admin.locator(".nm-root[data-mode='review']")
    card.locator(".nm-votes").filter(has_text="ann: near-miss (“12 looks like the gold, but 1 is wrong”)").wait_for(
        timeout=30000)
    assert card.locator(".nm-status").inner_text() == ""  # no receipt carried over from another page


def test_a_pasted_comment_over_the_limit_is_kept_whole_and_refused_naming_the_limit(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    add_candidates(store, 1, per_item=1)
    users(store, "ann")
    page = _open(browser, app_server(sqlite_url), "ann")
    page.locator(".nm-candidate").wait_for(timeout=30000)
    page.keyboard.press("c")
    page.keyboard.insert_text("x" * 3000)  # a paste: one input event, never cut silently
    assert len(page.locator("textarea.nm-comment").input_value()) == 3000
    page.keyboard.press("Escape")
    entry = _press(page, "1")
    assert entry["status"] == "refused" and "comment: 3000 characters, at most 2000" in entry["reason"]
    page.locator(".nm-status").filter(has_text="not taken: comment: 3000 characters, at most 2000").wait_for(
        timeout=10000)
    assert _rows(sqlite_url, Label.id) == []


def test_a_decision_reopened_from_history_changes_the_final_label(browser, app_server, sqlite_url):
    store = Store(sqlite_url)
    cid = add_candidates(store, 1, per_item=1)[0]
    (ann,) = users(store, "ann")
    decide(store, ann, cid, "near_miss", request_id="ann-1")
    page = _open(browser, app_server(sqlite_url), "ann", "History")
    page.locator(".st-key-history_label").wait_for(timeout=30000)
    page.locator(".st-key-history_label").get_by_text("far_miss").click()
    page.get_by_role("button", name="Save the change").click()
    page.get_by_text("Saved: far_miss").wait_for(timeout=30000)
    with store.session() as s:
        assert load_final_labels(s, [cid])[cid].label == "far_miss"
        rows = s.execute(select(Label.kind, Label.label, Label.retracts).order_by(Label.id)).tuples().all()
        old = s.scalar(select(Label.id).where(Label.request_id == "ann-1"))
    assert rows == [("decision", "near_miss", None), ("retraction", None, old), ("decision", "far_miss", None)]
