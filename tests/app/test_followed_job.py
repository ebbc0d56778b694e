"""A load or export a page starts in a thread of the server (AppTest runs the page in this
process, as the server does): its job card shows while it runs, its Cancel stops it without a
signal (one would end this process), and the page gets its outcome once it ended."""
import threading

import streamlit as st
from streamlit.testing.v1 import AppTest

from nearmiss.jobs.runs import list_runs
from tests.labeling import signed_in

GATE = threading.Event()  # the job below works until this is set (or its run is cancelled)


def job_page() -> None:
    import streamlit as st

    from nearmiss.app.widgets import followed_job, start_job
    from nearmiss.errors import RunStopped
    from tests.app.test_followed_job import GATE

    def work(report) -> str:
        report.stage("waiting for the gate", total=10)
        while not GATE.wait(0.05):
            report.count(1)  # a cancelled run's next report raises RunStopped
        return "let through"

    if st.button("Start", key="start"):
        start_job("job", "load", {"dataset": "quiz"}, work, str)
    ended = followed_job("page", "job")
    if ended:
        try:
            st.write(f"ended: {ended.result()}")
        except RunStopped as e:
            st.write(f"stopped: {e}")


def _started(store) -> tuple[AppTest, int]:
    at = signed_in(AppTest.from_function(job_page, default_timeout=60), store, "boss", "admin").run()
    at.button(key="start").click().run()
    run_id, _ = at.session_state["job"]
    assert [p.proto.text.split(" · ")[:2] for p in at.get("progress")] == [["Load run 1", "quiz"]]  # a fresh store
    return at, run_id


def test_the_card_shows_while_the_job_runs_then_the_page_gets_its_result(sqlite_store, sqlite_url, monkeypatch):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    GATE.clear()
    at, run_id = _started(sqlite_store)
    GATE.set()
    at.session_state["job"][1].result(timeout=30)
    at.run()
    assert [m.value for m in at.markdown if m.value.startswith("ended")] == ["ended: let through"]
    assert not at.get("progress") and list_runs(sqlite_store, "load")[0]["status"] == "done"
    st.cache_resource.clear()


def test_cancel_on_the_card_stops_the_job_in_this_process_without_a_signal(sqlite_store, sqlite_url, monkeypatch):
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    GATE.clear()
    at, run_id = _started(sqlite_store)
    at.button(key=f"page_cancel_{run_id}").click().run()
    at.session_state["job"][1].exception(timeout=30)
    at.run()
    assert [m.value for m in at.markdown if m.value.startswith("stopped")] == [f"stopped: run {run_id} is cancelled; "
                                                                               "stopped"]
    assert list_runs(sqlite_store, "load")[0]["status"] == "cancelled"
    st.cache_resource.clear()
