"""What a run is doing, as its job view shows it: a stage ("embedding", "training head X
(2 of 3)"), the stage's counter (``done`` of ``total`` units), and from those the rate and the
time left.

A ``Reporter`` writes a run's stage and counter to its row: a new stage at once, a counter at
most every ``every`` seconds (and when it reaches its total), so a process reports as often as
it likes. ``job_state`` reads them back with the rate (units per second since the stage began)
and the ETA (the stage's units left at that rate). A report to a run that is no longer active
(cancelled, or marked interrupted) raises ``RunStopped``: that is how a run's process learns it was
cancelled, on any host, and stops within a report or two.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update

from nearmiss.errors import RunStopped
from nearmiss.store import Store
from nearmiss.store.tables import Run, as_utc, utcnow
from nearmiss.store.writes import rows_changed

ACTIVE = ("pending", "running")  # a run's statuses while its process works on it
REPORT_EVERY = 1.0  # seconds between two counter writes of one run: a step costs one small UPDATE at most


class Reporter:
    """Writes one run's stage, counter and overall progress (a fraction) to the store (nothing
    for no run: ``run_id`` None, as when a library caller mines without a run to watch)."""

    def __init__(self, store: Store | None, run_id: int | None, every: float = REPORT_EVERY):
        self.store, self.run_id, self.every = store, run_id, every
        self.total: int | None = None  # the stage's
        self.last = 0.0

    def stage(self, text: str, total: int | None = None, unit: str = "items", progress: float | None = None) -> None:
        """Begin a stage (its counter at 0 of ``total``, when it counts); written at once."""
        self.total = total
        self._write(stage=text[:200], done=0 if total is not None else None, total=total, unit=unit, stage_at=utcnow(),
                    **({"progress": progress} if progress is not None else {}))

    def count(self, done: int, total: int | None = None, progress: float | None = None) -> None:
        """The stage's counter (and its total, when it was not known at the stage's start); written
        when the last write is ``every`` seconds old or the counter reached its total."""
        self.total = total if total is not None else self.total
        if time.monotonic() - self.last < self.every and (self.total is None or done < self.total):
            return
        values: dict = {"done": done} | ({"total": total} if total is not None else {})
        self._write(**values, **({"progress": progress} if progress is not None else {}))

    def progress(self, fraction: float, message: str | None = None) -> None:
        """The run's overall progress (and message), written at once."""
        self._write(progress=fraction, **({"message": message} if message is not None else {}))

    def _write(self, **values) -> None:
        self.last = time.monotonic()
        if self.store is None or self.run_id is None:
            return
        with self.store.session() as s:
            if not rows_changed(s, update(Run).where(Run.id == self.run_id, Run.status.in_(ACTIVE))
                                .values(beat_at=utcnow(), **values)):
                status = s.scalar(select(Run.status).where(Run.id == self.run_id))
                raise RunStopped(f"run {self.run_id} is {status or 'gone'}; stopped")


@dataclass(frozen=True)
class JobState:
    """A run's stage and counter as a job view shows them."""

    stage: str | None
    done: int | None
    total: int | None
    unit: str
    rate: float | None  # units per second since the stage began
    eta: float | None  # seconds left in the stage at that rate
    updated: datetime | None  # the last report

    def describe(self) -> str:
        """One line: ``stage · 5 of 20 items · 1.2 items/s · about 13 s left``."""
        parts = [self.stage] if self.stage else []
        if self.done is not None and self.total:
            parts.append(f"{self.done} of {self.total} {self.unit}")
        elif self.done:
            parts.append(f"{self.done} {self.unit}")
        if self.rate:
            parts.append(f"{self.rate:.3g} {self.unit}/s")
        if self.eta is not None:
            parts.append(f"about {duration(self.eta)} left")
        return " · ".join(parts)


def duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``2 h 10 min``."""
    s = round(seconds)
    if s < 60:
        return f"{s} s"
    if s < 3600:
        return f"{s // 60} min {s % 60} s"
    return f"{s // 3600} h {s % 3600 // 60} min"


def job_state(run: Run) -> JobState:
    """The stage, counter, rate and ETA of ``run`` (from its row)."""
    rate = eta = None
    if run.done and run.stage_at and run.beat_at:
        seconds = (as_utc(run.beat_at) - as_utc(run.stage_at)).total_seconds()
        if seconds > 0:
            rate = run.done / seconds
            if run.total and run.total >= run.done:
                eta = (run.total - run.done) / rate
    return JobState(run.stage, run.done, run.total, run.unit or "items", rate, eta, run.beat_at)
