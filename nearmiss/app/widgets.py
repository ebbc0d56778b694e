"""Small widgets the pages share: the job view of runs of every kind (Mine, Train, Jobs pages),
and of a load or export this session started in a thread of the server (Datasets, Export pages)."""
from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

import streamlit as st

from nearmiss.app.boundary import fragment
from nearmiss.app.shared import guarded, store
from nearmiss.app.text import plain
from nearmiss.errors import NearmissError
from nearmiss.jobs.inline import Work, start_here
from nearmiss.jobs.owners import ACTIVE
from nearmiss.jobs.resume import resumable, resume
from nearmiss.jobs.runs import cancel, job, list_runs

REFRESH = 2  # seconds between two looks at the runs


def _act(action, run_id: int) -> None:
    try:
        st.toast(plain(guarded(action, "admin")(store(), run_id)))
    except NearmissError as e:
        st.error(plain(e))


def job_card(run: dict, page: str) -> None:
    """One run (a ``jobs.runs.run_row``): its name, dataset and status; while it lives, a bar of its
    overall progress with what it does now (stage, i of n, rate, ETA) and Cancel; its last message;
    Resume when it stopped and its kind can resume."""
    title = f"{run['name'].capitalize()} · {plain(run['dataset'] or '-')} · **{run['status']}**"
    if run["status"] in ACTIVE:
        doing = plain(run["doing"] or "waiting for its worker")
        st.progress(min(max(run["progress"], 0.0), 1.0), text=f"{title} · {doing}")
    else:
        st.markdown(title)
    if run["message"]:
        st.caption(plain(run["message"]))
    if run["status"] in ACTIVE and st.button("Cancel run", key=f"{page}_cancel_{run['id']}",
                                             help="Stop its process; what it stored so far stays."):
        _act(cancel, run["id"])
    if resumable(run["kind"], run["status"]) and st.button(
            "Resume run", key=f"{page}_resume_{run['id']}", help="Start it again on what it has not stored yet."):
        _act(resume, run["id"])
        st.rerun(scope="app")


def jobs_panel(page: str, kind: str | None = None, limit: int = 10) -> None:
    """The newest runs (of ``kind``, else every kind) as ``job_card``s, looked at again every few
    seconds; when a run that was live ends, the whole page reruns (its results may show there)."""

    @fragment(run_every=REFRESH)
    def panel() -> None:
        runs = list_runs(store(), kind, limit)
        live = {r["id"] for r in runs if r["status"] in ACTIVE}
        seen = f"{page}_live_runs"
        ended = st.session_state.get(seen, set()) - live
        st.session_state[seen] = live
        if ended:
            st.rerun(scope="app")
        if not runs:
            st.caption("No runs yet.")
        for run in runs:
            job_card(run, page)

    panel()


def start_job(key: str, kind: str, config: dict[str, Any], work: Work[Any], summary: Callable[[Any], str]) -> None:
    """Start a run of ``kind`` doing ``work`` in a thread of the server (``jobs.inline.start_here``),
    followed by this session under ``key`` (``followed_job``)."""
    st.session_state[key] = start_here(store(), kind, config, work, summary)


def followed_job(page: str, key: str) -> Future | None:
    """The run this session started under ``key``: while it lives, its job card, looked at again every
    few seconds (the page reruns when it ends); once it ended, its future (no longer followed), for
    the page to show its result or error. None when there is none."""
    started = st.session_state.get(key)
    if started is None:
        return None
    run_id, future = started
    if future.done():
        del st.session_state[key]
        return future

    @fragment(run_every=REFRESH)
    def card() -> None:
        if future.done():
            st.rerun(scope="app")
        job_card(job(store(), run_id), page)

    card()
    return None
