"""Runs of every kind as jobs: claimed by their process, cancelled (the process stopped,
the status kept), listed with dead ones marked interrupted, through the library and the CLI."""
import json
import os
import subprocess
import sys
import time
from datetime import timedelta

import pytest
import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.jobs.launch import start_worker
from nearmiss.jobs.owners import owner_alive, owner_tag, reap_dead_runs
from nearmiss.jobs.resume import resume
from nearmiss.jobs.runs import cancel, claim, finish, list_runs, reopen
from nearmiss.mine.run import MineConfig
from nearmiss.mine.run import create_run as create_mining_run
from nearmiss.store.tables import Run, as_utc, utcnow
from nearmiss.train.config import TrainConfig
from nearmiss.train.runs import create_run as create_training_run
from tests.conftest import ROOT
from tests.jobs.test_owners import dead_owner  # noqa: F401  (fixture)
from tests.labeling import signed_in


def _run(store, run_id: int) -> Run:
    with store.session() as s:
        return s.scalars(select(Run).where(Run.id == run_id)).one()


def _wait_for(predicate, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.1)


def test_a_pending_run_cancelled_is_never_started(store, cli):
    run_id = create_training_run(store, TrainConfig())
    assert cancel(store, run_id) == f"run {run_id} cancelled"
    out = cli("train", "--run", str(run_id), db=store.url)  # the worker the app starts
    assert out.returncode == 1 and out.stderr.strip().splitlines()[-1] == f"Error: run {run_id} is cancelled; not started"
    with pytest.raises(ConfigError, match=f"run {run_id} is cancelled; not started"):
        claim(store, run_id, "loading")
    assert not finish(store, run_id, "failed", message="a late failure")  # a cancelled run stays cancelled
    assert (_run(store, run_id).status, _run(store, run_id).message) == ("cancelled", "cancelled")


def test_cancel_stops_a_running_runs_process_and_keeps_its_status(store, tmp_path):
    run_id = create_mining_run(store, MineConfig(dataset="quiz"))
    proc = start_worker(store, run_id, ["tests.jobs.claim_and_wait", str(run_id)], log=tmp_path / "worker.log")
    _wait_for(lambda: _run(store, run_id).status == "running", 60)
    owner = _run(store, run_id).owner
    assert owner_alive(owner), (tmp_path / "worker.log").read_text()
    assert "its process was stopped" in cancel(store, run_id)
    assert proc.wait(timeout=30) != 0
    assert _run(store, run_id).status == "cancelled"
    with pytest.raises(ConfigError, match="only pending or running runs can be cancelled"):
        cancel(store, run_id)
    with pytest.raises(NotFoundError, match="no run 999"):
        cancel(store, 999)


def test_runs_of_every_kind_are_listed_and_a_dead_training_run_is_interrupted(store, dead_owner, cli):  # noqa: F811
    mining = create_mining_run(store, MineConfig(dataset="quiz"))
    training = create_training_run(store, TrainConfig(dataset="quiz"))
    with store.session() as s:
        s.get(Run, training).status, s.get(Run, training).owner = "running", dead_owner
    listed = {r["id"]: r for r in list_runs(store)}
    assert (listed[mining]["kind"], listed[mining]["status"]) == ("mine", "pending")
    assert (listed[training]["kind"], listed[training]["status"]) == ("train", "interrupted")
    out = cli("runs", "list", "--json", "--kind", "train", db=store.url)
    assert out.returncode == 0, out.stderr
    assert [(r["id"], r["kind"], r["status"]) for r in json.loads(out.stdout)] == [(training, "train", "interrupted")]
    out = cli("runs", "list", "--kind", "mining", db=store.url)
    assert out.returncode == 1 and out.stderr.strip().splitlines() == [
        "Error: kind: unknown run kind 'mining'; expected one of mine, train, load, export"]
    out = cli("runs", "cancel", str(mining), db=store.url)
    assert out.returncode == 0 and out.stdout.strip() == f"run {mining} cancelled", out.stderr
    out = cli("runs", "cancel", str(mining), db=store.url)
    assert out.returncode == 1 and out.stderr.strip().splitlines() == [
        f"Error: run {mining} is cancelled; only pending or running runs can be cancelled"]
    with store.session() as s:
        s.get(Run, training).status = "done"
    with pytest.raises(ConfigError, match=f"run {training} is done; nothing to resume"):
        resume(store, training)
    out = cli("runs", "resume", "999", db=store.url)
    assert out.returncode == 1 and out.stderr.strip().splitlines() == ["Error: no run 999"]


def test_the_train_page_cancels_a_run(sqlite_store, sqlite_url, monkeypatch):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    run_id = create_training_run(sqlite_store, TrainConfig(dataset="quiz"))
    at = signed_in(AppTest.from_file(str(ROOT / "nearmiss/app/pages/train.py"), default_timeout=60), sqlite_store,
                   "boss", "admin").run()
    assert not at.exception and at.selectbox(key="train_run_select").value == run_id
    at.button(key=f"train_cancel_{run_id}").click().run()
    assert _run(sqlite_store, run_id).status == "cancelled"
    assert [t.value for t in at.toast] == [f"run {run_id} cancelled"]
    assert "Training run 1 · quiz · **cancelled**" in [m.value for m in at.run().markdown]
    assert at.selectbox(key="train_run_select").options[0].startswith("run 1 · cancelled ·")  # the picker too
    assert at.button(key=f"train_resume_{run_id}")  # a cancelled training run can be resumed
    st.cache_resource.clear()


def test_a_killed_worker_is_neither_a_zombie_nor_running(store, tmp_path):
    """kill -9 of a worker the app started: its launcher reaps it and marks the run interrupted
    at once, with the exit code (no list needed)."""
    run_id = create_mining_run(store, MineConfig(dataset="quiz"))
    proc = start_worker(store, run_id, ["tests.jobs.claim_and_wait", str(run_id)], log=tmp_path / "worker.log")
    _wait_for(lambda: _run(store, run_id).status == "running", 60)
    proc.kill()
    _wait_for(lambda: _run(store, run_id).status == "interrupted", 10)  # by start_worker's thread, not this test
    assert proc.returncode == -9 and "ended with exit code -9" in _run(store, run_id).message


def test_a_worker_that_dies_before_it_claims_its_run_is_interrupted(store):
    """The app records a worker as its run's owner when it starts it: one that exits before it
    claims the run (a crash at import) leaves no run pending forever."""
    run_id = create_training_run(store, TrainConfig(dataset="quiz"))
    start_worker(store, run_id, ["platform"])  # a module that prints and exits: never claims the run
    _wait_for(lambda: _run(store, run_id).status == "interrupted", 60)
    assert "ended with exit code 0 before the run finished" in _run(store, run_id).message
    with store.session() as s:  # the app restarted meanwhile: its list marks such a run all the same
        s.get(Run, run_id).status = "pending"
    assert [r["status"] for r in list_runs(store) if r["id"] == run_id] == ["interrupted"]


def test_only_a_stopped_run_is_reopened(store, dead_owner):  # noqa: F811
    live, dead = create_training_run(store, TrainConfig()), create_training_run(store, TrainConfig())
    with store.session() as s:
        s.get(Run, live).status, s.get(Run, live).owner = "running", owner_tag()
        s.get(Run, dead).status, s.get(Run, dead).owner = "running", dead_owner
    with pytest.raises(ConfigError, match=f"run {live} is running .*; cancel it first"):
        reopen(store, live)
    reopen(store, dead)  # its process died: interrupted, then pending again
    assert (_run(store, dead).status, _run(store, dead).finished_at) == ("pending", None)


def test_the_jobs_page_lists_runs_of_every_kind_for_admins_only(sqlite_store, sqlite_url, monkeypatch):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    stopped = create_mining_run(sqlite_store, MineConfig(dataset="quiz"))
    live = create_training_run(sqlite_store, TrainConfig(dataset="quiz"))
    with sqlite_store.session() as s:
        s.get(Run, stopped).status, s.get(Run, stopped).message = "interrupted", "interrupted: its process is gone"
        s.get(Run, live).status, s.get(Run, live).owner = "running", owner_tag()
        s.get(Run, live).stage = "seed 0: loading data"
    page = str(ROOT / "nearmiss/app/pages/jobs.py")
    at = signed_in(AppTest.from_file(page, default_timeout=60), sqlite_store, "boss", "admin").run()
    assert not at.exception
    assert [p.proto.text for p in at.get("progress")] == ["Training run 1 · quiz · **running** · seed 0\\: loading data"]
    assert "Mining run 1 · quiz · **interrupted**" in [m.value for m in at.markdown]
    assert at.button(key=f"jobs_cancel_{live}") and at.button(key=f"jobs_resume_{stopped}")
    assert not [b for b in at.button if b.key in (f"jobs_cancel_{stopped}", f"jobs_resume_{live}")]
    annotator = signed_in(AppTest.from_file(page, default_timeout=60), sqlite_store, "ann").run()
    assert [e.value for e in annotator.error] == ["This page is for admins only."] and not annotator.get("progress")
    st.cache_resource.clear()


def test_a_run_on_another_host_is_interrupted_when_its_heartbeat_stops_and_not_before(store):
    """A process on another host cannot be looked up by pid: its heartbeat tells. A real worker
    beats while it works on a step that reports nothing; once it is killed its run is marked
    interrupted as soon as its last beat is older than the stale limit (both shortened here)."""
    run_id = create_mining_run(store, MineConfig(dataset="quiz"))
    env = os.environ | {"NEARMISS_DB": store.url, "NEARMISS_HEARTBEAT_SECONDS": "0.5"}
    proc = subprocess.Popen([sys.executable, "-m", "tests.jobs.claim_and_wait", str(run_id)], env=env, cwd=ROOT)
    try:
        _wait_for(lambda: _run(store, run_id).status == "running", 60)
        with store.session() as s:  # as if the worker ran on another host
            run = s.get(Run, run_id)
            run.owner = "otherhost:" + run.owner.split(":", 1)[1]
            claimed = as_utc(run.beat_at)
        time.sleep(4)  # 8 heartbeat periods: a stale limit of 3 s would see a dead worker by now
        assert reap_dead_runs(store, stale=3) == 0 and _run(store, run_id).status == "running"
        assert as_utc(_run(store, run_id).beat_at) > claimed + timedelta(seconds=2)  # it kept beating
    finally:
        proc.kill()
        proc.wait()
    _wait_for(lambda: reap_dead_runs(store, stale=3) == 1, 10)
    run = _run(store, run_id)
    assert run.status == "interrupted" and run.message.startswith(f"interrupted: its process (pid {proc.pid} on otherhost) "
                                                                  "sent no heartbeat for ")


def test_the_default_stale_limit_spares_a_run_on_another_host_that_beat_a_few_seconds_ago(store):
    beats = {"silent": utcnow() - timedelta(minutes=2), "beating": utcnow() - timedelta(seconds=10), "never": None}
    ids = {}
    for name, beat_at in beats.items():
        ids[name] = create_training_run(store, TrainConfig(dataset="quiz"))
        with store.session() as s:
            run = s.get(Run, ids[name])
            run.status, run.owner, run.beat_at = "running", "otherhost:123:1.00", beat_at
    status = {r["id"]: r["status"] for r in list_runs(store)}
    assert {name: status[i] for name, i in ids.items()} == {"silent": "interrupted", "beating": "running",
                                                            "never": "running"}
