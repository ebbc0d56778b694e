"""Export page in a real browser: the admin exports with the default filters and the
downloaded zip holds the files its manifest lists."""
import hashlib
import io
import json
import zipfile

import pytest

from nearmiss.store import Store
from tests.conftest import ARTIFACTS, sign_in_page
from tests.export_store import build_labeled_store

pytestmark = pytest.mark.e2e


def test_browser_download_holds_the_export(sqlite_url, app_server, browser, tmp_path):
    store = Store(sqlite_url)
    build_labeled_store(store)
    store.dispose()
    server = app_server(sqlite_url)
    pg = sign_in_page(browser, server, "admin", "admin-password")
    pg.get_by_role("link", name="Export").click()
    pg.get_by_text("Negatives").first.wait_for(timeout=30000)
    pg.locator(".st-key-export_run button").click()
    zip_button = pg.locator(".st-key-export_download_zip button")
    zip_button.wait_for(timeout=60000)
    with pg.expect_download() as dl:
        zip_button.click()
    data = tmp_path / "export.zip"
    dl.value.save_as(data)
    ARTIFACTS.mkdir(exist_ok=True)
    pg.screenshot(path=str(ARTIFACTS / "export-page.png"), full_page=True)
    with zipfile.ZipFile(io.BytesIO(data.read_bytes())) as z:
        names = z.namelist()
        manifest = json.loads(z.read(next(n for n in names if n.endswith("/manifest.json"))))
        digests = {n.split("/", 1)[1]: hashlib.sha256(z.read(n)).hexdigest() for n in names}
    assert manifest["format"] == "dpo"
    digests.pop("manifest.json")
    assert digests == {f: meta["sha256"] for f, meta in manifest["files"].items()}
    assert set(digests) == {"train.jsonl", "validation.jsonl"}
    pg.context.close()
