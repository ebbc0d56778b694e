"""Agent traces from the browser alone: a malformed traces file is refused with its line and
field, a good one loads, a failed trace is labeled with its first wrong step (by click and
by key), and the NAT and HIR exports downloaded from the Export page hold those rows."""
import io
import json
import re
import zipfile

import pytest
from playwright.sync_api import TimeoutError as PlaywrightTimeout
from sqlalchemy import select

from nearmiss.auth.accounts import add_user
from nearmiss.lm.prompts import NAT_CORRECT, NAT_INCORRECT
from nearmiss.store import Store
from nearmiss.store.tables import Label
from tests.conftest import ARTIFACTS, sign_in_page
from tests.traces import trace_rows, write_traces

pytestmark = pytest.mark.e2e


def _upload(page, path) -> None:
    page.get_by_role("tab", name="Upload a file").click()
    page.locator("[data-testid='stFileUploaderDropzoneInput']").set_input_files(str(path))
    # the dataset name field is made afresh for each file: once it holds this file's name, the
    # preview and the Load button belong to this file and not to the one uploaded before it
    # (a rerun may still show the old field beside the new one: wait until this file's is the only one)
    page.wait_for_function("""stem => {
        const names = [...document.querySelectorAll("[class*='st-key-ds_upload_name_'] input")];
        return names.length === 1 && names[0].value === stem;
    }""", arg=path.stem, timeout=20000)
    page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60000)
    page.locator(".st-key-ds_upload_load button").click()


def _press(page, key: str) -> dict:
    page.keyboard.press(key)
    page.wait_for_function("() => window.__nearmissKeys && !window.__nearmissKeys.pending", timeout=30000)
    return page.evaluate("window.__nearmissKeys.log.at(-1)")


def _export(page, fmt: str, tmp_path) -> list[dict]:
    """Export ``fmt`` from the Export page, download the zip, return every table row in it."""
    chooser = page.locator(".st-key-export_format")
    for _ in range(5):  # the page may rerun (live counts) while the list is open: retry until chosen
        page.locator("[data-testid='stStatusWidget']").wait_for(state="hidden", timeout=60000)
        chooser.click()
        try:
            page.get_by_role("option", name=re.compile(f"^{fmt}:")).click(timeout=5000)
        except PlaywrightTimeout:
            page.keyboard.press("Escape")
        if chooser.get_by_text(re.compile(f"^{fmt}:")).count():
            break
    page.locator(".st-key-export_run button").click()
    page.get_by_text(re.compile(f"^{fmt} \\(conversational\\)")).wait_for(timeout=60000)
    with page.expect_download() as dl:
        page.locator(".st-key-export_download_zip button").click()
    path = tmp_path / f"{fmt}.zip"
    dl.value.save_as(path)
    with zipfile.ZipFile(io.BytesIO(path.read_bytes())) as z:
        manifest = json.loads(z.read(next(n for n in z.namelist() if n.endswith("/manifest.json"))))
        assert manifest["format"] == fmt
        return [json.loads(line) for n in z.namelist() if n.endswith(".jsonl") for line in z.read(n).splitlines()]


def test_upload_label_with_first_wrong_step_and_export_nat_and_hir(browser, app_server, sqlite_url, tmp_path):
    add_user(Store(sqlite_url), "boss", "admin", "boss-password")
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "boss", "boss-password")
    page.locator("[data-testid='stSidebarNav']").get_by_text("Datasets").click()

    bad = tmp_path / "agent-bad.jsonl"
    rows = trace_rows(2)
    rows[2]["messages"][1] = {"text": "no role here"}
    bad.write_text("".join(json.dumps(r) + "\n" for r in rows))
    _upload(page, bad)
    page.locator("[data-testid='stCode']").filter(has_text="agent-bad.jsonl:3: field 'messages[1]'").wait_for(
        timeout=20000)
    _upload(page, write_traces(tmp_path / "agent.jsonl", 2))
    page.get_by_text("added 2 items").wait_for(timeout=20000)

    page.locator("[data-testid='stSidebarNav']").get_by_text("Label").click()
    page.locator(".nm-trace-failed").wait_for(timeout=30000)
    assert page.locator(".nm-badge").first.inner_text() == "agent"  # the dataset named after the good file
    assert page.locator(".nm-trace-reference .nm-msg").count() == 5  # the successful trace beside it
    assert page.locator(".nm-trace-failed details").count() >= 2  # tool call and tool output folded
    first = page.locator(".nm-root").get_attribute("data-cid")
    page.locator(".nm-trace-failed .nm-msg[data-step='2'] .nm-msg-head").click()
    assert page.locator(".nm-step-line").inner_text() == "First wrong step: #2"
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "label-trace.png"), full_page=True)
    assert _press(page, "1")["status"] == "stored"
    page.locator(f".nm-root:not([data-cid='{first}']) .nm-trace-failed").wait_for(timeout=30000)
    second = page.locator(".nm-root").get_attribute("data-cid")
    assert page.locator(".nm-step-line").inner_text() == "First wrong step: not marked"
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert page.locator(".nm-step-line").inner_text() == "First wrong step: #4"
    assert _press(page, "2")["status"] == "stored"
    page.get_by_text("Nothing left to label").wait_for(timeout=30000)
    with Store(sqlite_url).session() as s:
        stored = s.execute(select(Label.candidate_id, Label.label, Label.first_wrong_step).order_by(Label.id)).all()
    assert [tuple(r) for r in stored] == [(first, "near_miss", 2), (second, "far_miss", 4)]

    page.locator("[data-testid='stSidebarNav']").get_by_text("Export").click()
    page.get_by_text("Negatives").first.wait_for(timeout=30000)
    nat = _export(page, "nat", tmp_path)
    assert sorted((r["correct"], r["first_wrong_step"]) for r in nat) == [(False, 2), (False, 4), (True, None),
                                                                           (True, None)]
    for r in nat:
        assert r["messages"][1]["content"].startswith(NAT_CORRECT if r["correct"] else NAT_INCORRECT)
        assert [m["loss"] for m in r["messages"]] == [False, False, True, False, True]
    hir = _export(page, "hir", tmp_path)
    relabeled = [r for r in hir if r["relabeled"]]
    assert len(hir) == 4 and len(relabeled) == 2
    assert all(r["messages"][1]["content"].endswith(r["messages"][-1]["content"]) for r in relabeled)
    page.context.close()
