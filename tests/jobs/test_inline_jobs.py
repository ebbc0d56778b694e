"""Loads and exports as runs worked on in this process (kinds load and export): progress with a
total, done at the end, and cancelled mid-way from another thread: a load leaves the store as it
was, an export leaves no file; listed on the Jobs page and by the CLI."""
import io
import json
import threading

import streamlit as st
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from nearmiss.errors import RunStopped
from nearmiss.export import ExportConfig, export, export_record, export_summary
from nearmiss.jobs.inline import run_here, start_here
from nearmiss.jobs.owners import owner_tag
from nearmiss.jobs.progress import Reporter
from nearmiss.jobs.runs import cancel, create, list_runs
from nearmiss.label.labels import decide
from nearmiss.load.ingest import LoadResult, ingest
from nearmiss.load.run import load_upload, stage_upload
from nearmiss.store.schema import CandidateRecord, ItemRecord, candidate_id, item_id
from nearmiss.store.tables import Candidate, Item, Label, Run
from tests.conftest import ROOT
from tests.export_store import build_labeled_store
from tests.labeling import signed_in, users


class Hold:
    """Where a watched run's work waits mid-way (the first count of a stage named ``stage``) until
    another thread lets it go on."""

    def __init__(self, stage: str):
        self.stage, self.reached, self.go = stage, threading.Event(), threading.Event()

    def cancel_there(self, store, run_id: int) -> None:
        """From this (another) thread: wait until the work is held, cancel its run, let it go on."""
        assert self.reached.wait(60)
        cancel(store, run_id)
        self.go.set()


class Watching(Reporter):
    """A run's own reporter writing every report and noting the run's row after each count (and
    waiting at its ``hold``)."""

    def __init__(self, report: Reporter, hold: Hold | None = None):
        super().__init__(report.store, report.run_id, every=0)
        self.seen: list[tuple] = []
        self.hold, self.now = hold, ""

    def stage(self, text, *args, **kwargs) -> None:
        self.now = text
        super().stage(text, *args, **kwargs)

    def count(self, done, total=None, progress=None) -> None:
        super().count(done, total, progress)
        with self.store.session() as s:
            run = s.get(Run, self.run_id)
            self.seen.append((run.stage, run.done, run.total, run.status))
        if self.hold and self.now.startswith(self.hold.stage) and not self.hold.reached.is_set():
            self.hold.reached.set()
            assert self.hold.go.wait(60)


def watched(work, watches: list, hold: Hold | None = None):
    """``work`` given a ``Watching`` of the run's reporter, noted in ``watches``."""
    def run(report: Reporter):
        watches.append(Watching(report, hold))
        return work(watches[-1])
    return run


def _status(store, run_id: int) -> tuple:
    with store.session() as s:
        run = s.get(Run, run_id)
        return run.status, run.message


def _contents(store) -> tuple:
    with store.session() as s:
        items = s.execute(select(Item.id, Item.answer, Item.messages).order_by(Item.id)).all()
        return items, s.scalars(select(Candidate.id).order_by(Candidate.id)).all()


def _rows(n: int) -> bytes:
    return b"".join(json.dumps({"id": i, "question": f"q{i}?", "choices": ["a", "b", "c"], "answer": i % 3}).encode()
                    + b"\n" for i in range(n))


def test_a_load_reports_stage_and_count_of_a_total_and_ends_done(store):
    path = stage_upload(io.BytesIO(_rows(50)), "quiz.jsonl")
    watches: list[Watching] = []
    work = watched(lambda report: load_upload(store, path, "quiz.jsonl", dataset="quiz", report=report, total=50),
                   watches)
    result = run_here(store, "load", {"source": "quiz.jsonl", "dataset": "quiz"}, work, LoadResult.summary)
    assert result.items_added == 50
    assert ("reading and checking the rows", 50, 50, "running") in watches[0].seen
    assert watches[0].seen[-1] == ("storing the rows", 50, 50, "running")
    [row] = list_runs(store, "load")
    assert (row["name"], row["status"], row["dataset"], row["message"]) == (
        "load run 1", "done", "quiz", result.summary())


def _record(n: int, answer: str | None = "yes") -> ItemRecord:
    return ItemRecord(dataset="t", split="s", native_id=f"q{n}", kind="qa", question=f"question {n}?", answer=answer,
                      candidates=[CandidateRecord(text=f"wrong {n}", origin="given")])


def test_a_load_cancelled_while_storing_leaves_the_store_as_it_was(store):
    ingest(store, [_record(1, answer=None), _record(2)])  # stored before: one the load completes, one it repeats
    before = _contents(store)
    records = [_record(1), _record(2), *(_record(n) for n in range(3, 40))]
    watches: list[Watching] = []
    hold = Hold("storing")
    work = watched(lambda report: ingest(store, records, batch_size=5, report=report, total=len(records)), watches,
                   hold)
    run_id, future = start_here(store, "load", {"dataset": "t"}, work, LoadResult.summary)
    hold.cancel_there(store, run_id)
    assert isinstance(future.exception(timeout=60), RunStopped)
    assert watches[0].seen[-1] == ("storing the rows", 5, 39, "running")  # the second batch written, then undone
    assert _contents(store) == before
    assert _status(store, run_id) == ("cancelled", "cancelled")


def test_a_cancelled_load_keeps_the_items_annotators_labeled_while_it_ran(store):
    """Batches are committed one by one, so annotators can label the first batch's candidates before
    an admin cancels the load: undoing it never deletes a label (nor its item and candidates)."""
    [annie] = users(store, "annie")
    records = [_record(n) for n in range(1, 40)]
    hold = Hold("storing")
    work = watched(lambda report: ingest(store, records, batch_size=5, report=report, total=len(records)), [], hold)
    run_id, future = start_here(store, "load", {"dataset": "t"}, work, LoadResult.summary)
    assert hold.reached.wait(60)  # the first batch (q1-q5) is stored
    labeled = candidate_id(item_id("t", "s", "q3"), "wrong 3")
    decide(store, annie, labeled, "near_miss", request_id="during-the-load")
    hold.cancel_there(store, run_id)
    assert isinstance(future.exception(timeout=60), RunStopped)
    items, candidates = _contents(store)
    assert [i.id for i in items] == [item_id("t", "s", "q3")] and candidates == [labeled]
    with store.session() as s:
        assert s.scalar(select(Label.label).where(Label.candidate_id == labeled)) == "near_miss"


def test_an_export_reports_its_items_and_ends_done(tmp_path, sqlite_store):
    build_labeled_store(sqlite_store)
    cfg = ExportConfig(format="dpo", out=tmp_path / "out")
    watches: list[Watching] = []
    work = watched(lambda report: export(sqlite_store, cfg, report), watches)
    manifest = run_here(sqlite_store, "export", export_record(cfg), work, export_summary)
    train = manifest["split"]["items"]["train"]
    assert ("writing the train files", train, train, "running") in watches[0].seen
    assert ("reading the train files back", train, train, "running") in watches[0].seen
    [row] = list_runs(sqlite_store, "export")
    assert (row["name"], row["status"], row["message"]) == ("export run 1", "done", export_summary(manifest))
    assert (tmp_path / "out" / "manifest.json").is_file()


def test_an_export_cancelled_while_writing_leaves_no_file(tmp_path, sqlite_store):
    build_labeled_store(sqlite_store)
    cfg = ExportConfig(format="dpo", out=tmp_path / "exports" / "deep" / "out")
    hold = Hold("writing the train files")
    work = watched(lambda report: export(sqlite_store, cfg, report), [], hold)
    run_id, future = start_here(sqlite_store, "export", export_record(cfg), work, export_summary)
    hold.cancel_there(sqlite_store, run_id)
    assert isinstance(future.exception(timeout=60), RunStopped)
    assert not (tmp_path / "exports").exists()  # neither the folder nor a partial one beside it
    assert _status(sqlite_store, run_id) == ("cancelled", "cancelled")


def test_the_jobs_page_and_the_cli_list_load_runs_with_cancel(sqlite_store, sqlite_url, monkeypatch, cli):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    path = stage_upload(io.BytesIO(_rows(4)), "quiz.jsonl")
    run_here(sqlite_store, "load", {"dataset": "quiz"},
             lambda report: load_upload(sqlite_store, path, "quiz.jsonl", report=report), LoadResult.summary)
    live = create(sqlite_store, "load", config={"dataset": "big"})
    with sqlite_store.session() as s:
        run = s.get(Run, live)
        run.status, run.owner, run.stage, run.unit = "running", owner_tag(), "storing the rows", "rows"
        run.done, run.total = 2000, 8000
    page = str(ROOT / "nearmiss/app/pages/jobs.py")
    at = signed_in(AppTest.from_file(page, default_timeout=60), sqlite_store, "boss", "admin").run()
    assert not at.exception
    assert [p.proto.text for p in at.get("progress")] == [
        "Load run 2 · big · **running** · storing the rows · 2000 of 8000 rows"]
    assert "Load run 1 · quiz · **done**" in [m.value for m in at.markdown]
    at.button(key=f"jobs_cancel_{live}").click().run()  # never a signal: the server's own process works on loads
    assert _status(sqlite_store, live) == ("cancelled", "cancelled") and not at.exception
    out = cli("runs", "list", "--json", "--kind", "load", db=sqlite_url)
    assert [(r["number"], r["status"]) for r in json.loads(out.stdout)] == [(2, "cancelled"), (1, "done")]
    st.cache_resource.clear()
