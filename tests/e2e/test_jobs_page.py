"""The Jobs page in a real browser: Cancel stops a live training run and a live mining run within
seconds, and each is marked cancelled (and can be resumed)."""
import time

import psutil
import pytest
from playwright.sync_api import Error as PlaywrightError
from sqlalchemy import select

from nearmiss.auth.accounts import add_user
from nearmiss.jobs.mine import start_mining
from nearmiss.jobs.owners import owner_pid
from nearmiss.jobs.train import launch
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.mine.run import MineConfig
from nearmiss.store import Store
from nearmiss.store.tables import Run
from nearmiss.train.config import TrainConfig
from tests.conftest import sign_in_page

pytestmark = pytest.mark.e2e
STOPPED_WITHIN = 10  # seconds from the click to the run cancelled and its process gone


def _run(store: Store, run_id: int) -> Run:
    with store.session() as s:
        return s.scalars(select(Run).where(Run.id == run_id)).one()


def _wait_running(store: Store, run_id: int, seconds: float = 300) -> int:
    """The pid of the run's worker once it has claimed the run."""
    deadline = time.monotonic() + seconds
    while (run := _run(store, run_id)).status != "running":
        assert run.status == "pending" and time.monotonic() < deadline, (run.status, run.message)
        time.sleep(0.2)
    return owner_pid(run.owner or "")


def _cancel(page, store: Store, run_id: int, name: str) -> None:
    pid = _wait_running(store, run_id)
    button = page.locator(f".st-key-jobs_cancel_{run_id} button >> visible=true")
    clicked = time.monotonic()
    while _run(store, run_id).status != "cancelled":  # the panel reruns every 2 s: a button may go as it is clicked
        assert time.monotonic() - clicked < STOPPED_WITHIN, f"{name} was not cancelled"
        try:
            button.first.click(timeout=2000)
        except PlaywrightError:
            pass
    page.get_by_text(f"{name} · arc-easy · cancelled").wait_for(timeout=STOPPED_WITHIN * 1000)
    while psutil.pid_exists(pid) and psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
        assert time.monotonic() - clicked < STOPPED_WITHIN, f"{name}'s process {pid} still runs"
        time.sleep(0.1)
    page.locator(f".st-key-jobs_resume_{run_id} button").first.wait_for(timeout=10000)


def test_cancel_on_the_jobs_page_stops_a_training_run_and_a_mining_run(browser, app_server, sqlite_url, tmp_path):
    store = Store(sqlite_url)
    ingest(store, open_source("arc-easy", split="test", limit=12).items)
    ingest(store, open_source("arc-easy", split="validation", limit=60).items)
    add_user(store, "boss", "admin", "password-1")
    server = app_server(sqlite_url)
    page = sign_in_page(browser, server, "boss", "password-1")
    page.locator('[data-testid="stSidebarNav"] a', has_text="Jobs").click()
    page.get_by_text("No runs yet.").wait_for(timeout=30000)

    training = launch(store, TrainConfig(dataset="arc-easy", train_split="test", eval_split="validation",
                                         methods=["sft"], negatives=["distractor"], sizes=[0, 8], epochs=3,
                                         batch_size=2, dtype="float32", threads=1, out_dir=str(tmp_path / "runs")))
    mining = start_mining(store, MineConfig(dataset="arc-easy", split="validation"))
    _cancel(page, store, training, "Training run 1")
    _cancel(page, store, mining, "Mining run 1")
    store.dispose()
