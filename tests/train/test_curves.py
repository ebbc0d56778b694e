"""Learning-curve runs through the store: Run + CurvePoints, shared and saved heads, failures
recorded, the CLI, the background launcher and the Train page."""
from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from nearmiss.app.text import plain
from nearmiss.errors import NotFoundError
from nearmiss.jobs.train import launch
from nearmiss.load.ingest import ingest
from nearmiss.load.sources import open_source
from nearmiss.store import Store
from nearmiss.store.tables import Run
from nearmiss.train.config import TrainConfig
from nearmiss.train.curves import run_curves
from nearmiss.train.runs import list_runs, load_points, run_summary
from tests.conftest import ROOT
from tests.labeling import signed_in

TINY = dict(dataset="arc-easy", train_split="test", eval_split="validation", eval_limit=3, methods=["sft", "likra"],
            negatives=["distractor"], sizes=[0, 1, 2], epochs=1, min_steps=1, batch_size=2, dtype="float32", threads=1,
            likra_w=1.0)


def _load(store: Store) -> Store:
    """ARC-Easy slices: 12 training items (test split), 6 held-out items (validation)."""
    ingest(store, open_source("arc-easy", split="test", limit=12).items)
    ingest(store, open_source("arc-easy", split="validation", limit=6).items)
    return store


def _run_tiny(store: Store, out: Path) -> tuple[int, list]:
    seen = []
    return run_curves(_load(store), TrainConfig(**TINY, out_dir=str(out)), on_point=seen.append), seen


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> tuple[str, int, list]:
    """A SQLite store holding one finished tiny run: (url, run id, the points as they came); the
    stages its job view showed meanwhile are in ``STAGES_SEEN``."""
    folder = tmp_path_factory.mktemp("curves")
    store = Store(f"sqlite:///{folder / 'store.db'}")
    running = threading.Event()
    watcher = threading.Thread(target=_watch_stages, args=(store, running))
    running.set()
    watcher.start()
    try:
        run_id, seen = _run_tiny(store, folder / "runs")
    finally:
        running.clear()
        watcher.join()
    store.dispose()
    return store.url, run_id, seen


STAGES_SEEN: list[tuple] = []


def _watch_stages(store: Store, running: threading.Event) -> None:
    """Keep each (stage, unit) the run's row shows while ``running`` is set, as a job view would."""
    while running.is_set():
        with store.session() as s:
            row = s.execute(select(Run.stage, Run.unit).where(Run.kind == "train")).first()
        if row and row.stage and (not STAGES_SEEN or STAGES_SEEN[-1] != tuple(row)):
            STAGES_SEEN.append(tuple(row))
        time.sleep(0.02)


def _check_run(store: Store, run_id: int, seen: list) -> None:
    run = run_summary(store, run_id)
    assert run["status"] == "done" and run["progress"] == 1.0 and run["finished_at"] is not None
    points = load_points(store, run_id)
    assert len(seen) == len(points) == 6  # heads of each size are freed before the next size's are added
    assert {(p["method"], p["size"]) for p in points} == {(m, z) for m in ("sft", "likra") for z in (0, 1, 2)}
    zero = {p["method"]: p for p in points if p["size"] == 0}
    assert zero["sft"]["acc"] == zero["likra"]["acc"]  # size 0 is the base model's zero-shot accuracy
    assert zero["likra"]["wrong_mean"] == 0.0  # untrained heads, w = 1: L+ - L- = 0
    assert zero["likra"]["correct"] == zero["sft"]["correct"] and len(zero["sft"]["correct"]) == 3
    assert zero["sft"]["wrong_mean"] < 0
    heads = {p.method: p.meta["heads"] for p in seen if p.size == 2}
    assert heads["sft"]["pos"]["path"] == heads["likra"]["pos"]["path"]  # SFT head = Likra's positive head
    for head in (heads["likra"]["pos"], heads["likra"]["neg"]):
        assert (Path(head["path"]) / "adapter_model.safetensors").exists() and head["steps"] >= 1
    summary = run["metrics"]["gains"]
    assert {(r["method"], r["negatives"]) for r in summary} == {("likra", "distractor"), ("sft", "distractor")}
    assert run["metrics"]["roof"]["flops"]["train"] > 0 and run["metrics"]["roof"]["flops"]["score"] > 0
    assert all(r["wrong_drop"] is not None for r in summary)
    assert list_runs(store)[0]["id"] == run_id


def test_curve_run_stores_points_and_saved_heads_sqlite(finished):
    url, run_id, seen = finished
    store = Store(url)
    _check_run(store, run_id, seen)
    store.dispose()


@pytest.mark.postgres
def test_curve_run_stores_points_and_saved_heads_postgresql(pg_url, tmp_path):
    store = Store(pg_url)
    _check_run(store, *_run_tiny(store, tmp_path / "runs"))
    store.dispose()


def test_the_run_reports_each_stage_and_which_head_trains(finished):
    stages = [stage for stage, _ in STAGES_SEEN]
    assert stages[0] == "loading the model (smollm2-135m)"  # quick stages (loading 18 items) may pass unseen
    assert "seed 0: scoring 3 eval items with the base model" in stages
    assert ("seed 0 · n=1 distractor sft: tokenising and training head pos (1 of 1)", "steps") in STAGES_SEEN
    assert ("seed 0 · n=1 distractor likra: tokenising and training head neg (2 of 2)", "steps") in STAGES_SEEN
    assert "seed 0 · n=2 distractor likra: scoring 3 eval items" in stages


def test_failed_run_is_marked_with_its_reason(store, tmp_path):
    _load(store)
    with pytest.raises(NotFoundError, match="near"):
        run_curves(store, TrainConfig(**{**TINY, "negatives": ["near"]}, out_dir=str(tmp_path)))
    (run,) = list_runs(store)
    assert run["status"] == "failed" and "label some candidates" in run["message"]


def test_cli_curve_prints_the_stored_run(cli, finished):
    url, run_id, _ = finished
    out = cli("curve", str(run_id), "--json", db=url)
    assert out.returncode == 0, out.stderr
    data = json.loads(out.stdout)
    assert data["status"] == "done" and len(data["points"]) == 6
    assert {r["method"] for r in data["gains"]} == {"sft", "likra"}
    text = cli("curve", str(run_id), db=url).stdout
    assert "likra/distractor" in text and "gain/ex" in text
    missing = cli("curve", "999", db=url)
    assert missing.returncode == 1 and missing.stderr.strip() == "Error: no training run 999"


def test_train_page_plots_the_run_for_admins_only(finished, monkeypatch):
    url, run_id, _ = finished
    monkeypatch.setenv("NEARMISS_DB", url)
    st.cache_resource.clear()
    at = AppTest.from_file(str(ROOT / "nearmiss/app/pages/train.py"), default_timeout=120)
    signed_in(at, Store(url), "boss", "admin").run()
    assert not at.exception and not at.error
    assert at.selectbox(key="train_run_select").value == run_id
    assert "Training run 1 · arc\\-easy · **done**" in [m.value for m in at.markdown]
    (chart,) = at.get("vega_lite_chart")
    band, line = json.loads(chart.proto.spec)["layer"]
    assert line["encoding"]["x"]["scale"]["type"] == "symlog" and line["encoding"]["y"]["field"] == "acc"
    assert band["mark"]["type"] == "area" and band["encoding"]["y2"]["field"] == "acc_hi"  # interval bands
    gains, comparisons = at.dataframe
    assert set(gains.value["method"]) == {"sft", "likra"} and "gain_lo" in gains.value
    assert list(comparisons.value["b"]) == ["sft"] * 3  # likra - sft at 1, at 2, and per example
    assert at.selectbox(key="train_train_split").options == ["test", "validation"]  # split pickers
    at.text_input(key="train_sizes").set_value("0,32,16")
    at.button(key="train_start").click().run()  # a bad config is refused before any run is created
    assert [e.value for e in at.error] == [plain("sizes: give increasing, distinct, non-negative numbers, got [0, 32, 16]")]
    assert [r["id"] for r in list_runs(Store(url))] == [run_id]
    st.cache_resource.clear()
    annotator = AppTest.from_file(str(ROOT / "nearmiss/app/pages/train.py"), default_timeout=60)
    signed_in(annotator, Store(url), "annie").run()
    assert [e.value for e in annotator.error] == ["This page is for admins only."]
    assert not annotator.get("vega_lite_chart")


@pytest.mark.slow
def test_background_run_and_cli_train(cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = _load(Store(f"sqlite:///{tmp_path / 'store.db'}"))
    run_id = launch(store, TrainConfig(**TINY, out_dir=str(tmp_path / "runs")))
    deadline = time.time() + 900
    while run_summary(store, run_id)["status"] in ("pending", "running") and time.time() < deadline:
        time.sleep(2)
    assert run_summary(store, run_id)["status"] == "done", (tmp_path / "runs" / f"run-{run_id}" / "log.txt").read_text()
    assert len(load_points(store, run_id)) == 6
    out = cli("train", "--methods", "sft", "--sizes", "0,2", "--eval-limit", "3", "--epochs", "1",
              "--set", "min_steps=1", "--set", "batch_size=2", "--set", "threads=1", "--out-dir", str(tmp_path / "r2"),
              "--json", db=store.url)
    assert out.returncode == 0, out.stderr
    assert [p["size"] for p in json.loads(out.stdout)["points"]] == [0, 2]
    store.dispose()
