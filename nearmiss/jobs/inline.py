"""Runs worked on in this process (loads and exports): in the foreground (the CLI) or in a
thread (the app's server, whose pages hand the run its staged upload or export folder and show
its result or error when it ends).

The run is claimed as the process's (``runs.claim``, with its heartbeat), its work gets the run's
``Reporter``, and it ends ``done`` with a one-line summary of the result, ``failed`` with the error,
or stays ``cancelled`` when it was cancelled meanwhile (the work raised ``RunStopped``).
"""
from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any, TypeVar

from nearmiss.jobs.progress import Reporter
from nearmiss.jobs.runs import claim, create, finish
from nearmiss.store import Store

T = TypeVar("T")
Work = Callable[[Reporter], T]


def work_on(store: Store, run_id: int, work: Work[T], summary: Callable[[T], str]) -> T:
    """Do ``work`` as the pending run ``run_id`` in this thread (see the module docstring)."""
    claim(store, run_id, "starting")
    try:
        result = work(Reporter(store, run_id))
    except BaseException as e:
        status = "interrupted" if isinstance(e, KeyboardInterrupt) else "failed"
        finish(store, run_id, status, message=f"{status}: {e}"[:2000])  # a cancelled run stays cancelled
        raise
    finish(store, run_id, "done", progress=1.0, message=summary(result)[:2000])
    return result


def run_here(store: Store, kind: str, config: dict[str, Any], work: Work[T], summary: Callable[[T], str],
             on_start: Callable[[int], None] | None = None) -> T:
    """A new run of ``kind`` (``config`` as its record) doing ``work`` in the foreground; ``on_start``
    is told its id first (to say how to cancel it)."""
    run_id = create(store, kind, config=config)
    if on_start:
        on_start(run_id)
    return work_on(store, run_id, work, summary)


def start_here(store: Store, kind: str, config: dict[str, Any], work: Work[T],
               summary: Callable[[T], str]) -> tuple[int, Future[T]]:
    """A new run of ``kind`` doing ``work`` in a daemon thread of this process: its id, and the
    future of its result (its error, ``RunStopped`` when it was cancelled)."""
    run_id = create(store, kind, config=config)
    future: Future[T] = Future()

    def target() -> None:
        try:
            future.set_result(work_on(store, run_id, work, summary))
        except BaseException as e:  # handed to whoever looks at the future (a page shows it)
            future.set_exception(e)

    threading.Thread(target=target, name=f"{kind}-run-{run_id}", daemon=True).start()
    return run_id, future
