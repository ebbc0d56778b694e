"""Labeling under load: simulated annotators on SQLite and on a throwaway PostgreSQL.

    .venv/bin/python bench/label.py                       # 8 annotators, 60 s per database
    .venv/bin/python bench/label.py --seconds 10 --annotators 4 --heartbeat 0   # without heartbeats

Each annotator is a thread working a LabelDesk, the code path of the Label page: it
presses a key for the candidate on screen and the clock runs from the press until the
next candidate is served (decision committed, next candidate claimed, its card read).
Between decisions it reads the card for 250-750 ms (about 2 decisions/s each, a very fast
human). One press in 20 is sent a second time, as a browser retry would. While its card
is on screen each annotator's lease is renewed by a heartbeat every ``--heartbeat``
seconds (default 2 s, 30x the Label page's rate, so heartbeats contend with key presses).
Measured in the
same run on the same store: the baseline, one annotator alone, and the same annotators
"flat out" (no reading time: the store's capacity, commits bounded by fsync).

lost = acknowledged decisions missing from the store; duplicates = resends stored again
+ (candidate, annotator) pairs with two standing decisions + candidates labeled beyond
their overlap. PostgreSQL runs as the postgres user in a temporary cluster (as the tests
do). The last line is: p95_ms=<sqlite> p95_ms_pg=<postgres> lost=<n> duplicates=<n>
"""
from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import func, select
from tqdm import tqdm

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from nearmiss.label.desk import LabelDesk, Press  # noqa: E402
from nearmiss.label.labels import VOTING_LABELS, is_active  # noqa: E402
from nearmiss.label.queue import QueueConfig, set_overlap  # noqa: E402
from nearmiss.store import Store  # noqa: E402
from nearmiss.store.tables import Label  # noqa: E402
from tests.labeling import add_candidates, users  # noqa: E402

OVERLAP = 2
RESEND_EVERY = 20
THINK = (0.25, 0.75)  # seconds an annotator reads a card before its key


@dataclass
class Run:
    """What one annotator thread saw."""

    latencies_ms: list[float] = field(default_factory=list)
    acknowledged: dict[str, tuple[str, str]] = field(default_factory=dict)  # request id -> (candidate, label)
    resends_stored: int = 0
    heartbeats_ms: list[float] = field(default_factory=list)
    leases_lost: int = 0
    errors: list[str] = field(default_factory=list)


def beat(desk: LabelDesk, every: float, done: threading.Event, run: Run) -> None:
    """Renew the lease of the card on screen every ``every`` seconds, as the card does."""
    while not done.wait(every):
        start, shown = time.perf_counter(), desk.shown
        try:  # a renewal that races the annotator's own next card (not committed yet) is no lost lease
            run.leases_lost += not desk.heartbeat() and desk.shown == shown and not (
                done.wait(0.05) or desk.heartbeat()) and desk.shown == shown
        except Exception as e:
            run.errors.append(f"heartbeat: {e!r}")
        run.heartbeats_ms.append((time.perf_counter() - start) * 1000)


def annotate(store: Store, annotator: int, until: float, think: tuple[float, float], seed: int, run: Run,
             heartbeat: float) -> None:
    rng = random.Random(seed)
    desk = LabelDesk(store, annotator, QueueConfig(order="uncertain"))
    desk.view()
    done = threading.Event()
    beats = threading.Thread(target=beat, args=(desk, heartbeat, done, run)) if heartbeat > 0 else None
    if beats:
        beats.start()
    try:
        while time.perf_counter() < until and desk.shown is not None:
            time.sleep(rng.uniform(*think))
            press = Press(desk.shown, rng.choice(VOTING_LABELS), uuid.uuid4().hex)
            start = time.perf_counter()
            receipt = desk.press(press)
            desk.view()
            run.latencies_ms.append((time.perf_counter() - start) * 1000)
            if receipt.status != "stored":
                run.errors.append(f"{press}: {receipt}")
                continue
            run.acknowledged[press.request_id] = (press.candidate_id, press.action)
            if rng.randrange(RESEND_EVERY) == 0 and desk.press(press).status == "stored":
                run.resends_stored += 1
    except Exception as e:  # counted, and the run goes on for the others
        run.errors.append(repr(e))
    finally:
        done.set()
        if beats:
            beats.join()


def audit(store: Store, runs: dict[int, Run]) -> tuple[int, int]:
    """(lost, duplicates) of all runs against what the store holds."""
    with store.session() as s:
        stored = {rid: (cid, who, lab) for rid, cid, who, lab in s.execute(
            select(Label.request_id, Label.candidate_id, Label.annotator_id, Label.label)
            .where(Label.kind == "decision"))}
        pairs = s.execute(select(func.count()).select_from(
            select(Label.candidate_id, Label.annotator_id).where(Label.kind == "decision", is_active())
            .group_by(Label.candidate_id, Label.annotator_id).having(func.count() > 1).subquery())).scalar()
        over = s.execute(select(func.count()).select_from(
            select(Label.candidate_id).where(Label.kind == "decision", Label.label != "skip", is_active())
            .group_by(Label.candidate_id).having(func.count() > OVERLAP).subquery())).scalar()
    lost = sum(stored.get(rid) != (cid, who, lab)
               for who, run in runs.items() for rid, (cid, lab) in run.acknowledged.items())
    return lost, pairs + over + sum(r.resends_stored for r in runs.values())


def session(store: Store, annotators: list[int], seconds: float, think: tuple[float, float],
            label: str, heartbeat: float) -> dict[int, Run]:
    runs = {a: Run() for a in annotators}
    until = time.perf_counter() + seconds
    threads = [threading.Thread(target=annotate, args=(store, a, until, think, a, runs[a], heartbeat))
               for a in annotators]
    for t in threads:
        t.start()
    with tqdm(total=int(seconds), desc=f"label {label}", unit="s", file=sys.stderr) as bar:
        while any(t.is_alive() for t in threads):
            time.sleep(1)
            bar.update(min(1, bar.total - bar.n))
    for t in threads:
        t.join()
    return runs


def measure(url: str, name: str, n: int, seconds: float, items: int, heartbeat: float) -> dict:
    store = Store(url)
    add_candidates(store, items, per_item=3)
    ids = users(store, *[f"a{k}" for k in range(2 * n + 1)])
    set_overlap(store, users(store, "boss", role="admin")[0], "quiz", OVERLAP)
    rows = {}
    for label, who, secs, think in [("1 annotator (baseline)", ids[:1], seconds / 4, THINK),
                                    (f"{n} annotators", ids[1:n + 1], seconds, THINK),
                                    (f"{n} annotators flat out", ids[n + 1:], seconds / 4, (0.0, 0.0))]:
        runs = session(store, who, secs, think, f"{name}, {label}", heartbeat)
        lat = sorted(x for r in runs.values() for x in r.latencies_ms)
        beats = sorted(x for r in runs.values() for x in r.heartbeats_ms)
        lost, dups = audit(store, runs)
        errors = [e for r in runs.values() for e in r.errors]
        rows[label] = {"db": name, "annotators": label, "decisions": len(lat), "per_s": len(lat) / secs,
                       "p50": statistics.median(lat), "p95": lat[int(0.95 * (len(lat) - 1))], "lost": lost,
                       "duplicates": dups, "errors": len(errors), "beats": len(beats),
                       "beat_p95": beats[int(0.95 * (len(beats) - 1))] if beats else float("nan"),
                       "leases_lost": sum(r.leases_lost for r in runs.values())}
        for e in errors[:3]:
            print(f"  {name} error: {e}", file=sys.stderr)
    store.dispose()
    return rows


@contextmanager
def throwaway_postgres() -> Iterator[str]:
    """A temporary PostgreSQL cluster (run as the postgres user when we are root)."""
    bindir = sorted(Path("/usr/lib/postgresql").glob("*/bin/initdb"), key=lambda p: int(p.parts[-3]))[-1].parent
    root = Path(tempfile.mkdtemp(prefix="nearmiss-bench-pg-"))
    as_pg = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
    if as_pg:
        shutil.chown(root, "postgres", "postgres")
    port = 56000 + os.getpid() % 1000
    subprocess.run([*as_pg, str(bindir / "initdb"), "-D", str(root / "data"), "-U", "postgres", "--auth=trust",
                    "-E", "UTF8", "--no-locale", "-N"], check=True, capture_output=True)
    subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w",
                    "-o", f"-p {port} -k {root} -c listen_addresses=127.0.0.1", "start"], check=True,
                   capture_output=True)
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:{port}/postgres"
    finally:
        subprocess.run([*as_pg, str(bindir / "pg_ctl"), "-D", str(root / "data"), "-m", "fast", "-w", "stop"],
                       capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--annotators", type=int, default=8)
    ap.add_argument("--seconds", type=float, default=60.0, help="per database, for the many-annotator run")
    ap.add_argument("--items", type=int, default=3000, help="items to load (3 candidates each)")
    ap.add_argument("--heartbeat", type=float, default=2.0, help="seconds between lease renewals (0: none)")
    args = ap.parse_args()
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        rows["sqlite"] = measure(f"sqlite:///{tmp}/bench.db", "sqlite", args.annotators, args.seconds, args.items,
                                 args.heartbeat)
    with throwaway_postgres() as url:
        rows["postgresql"] = measure(url, "postgresql", args.annotators, args.seconds, args.items, args.heartbeat)
    print(f"{'db':11} {'annotators':26} {'decisions':>9} {'per s':>7} {'p50 ms':>7} {'p95 ms':>7} "
          f"{'lost':>5} {'dups':>5} {'errors':>6} {'beats':>6} {'beat p95':>8} {'leases lost':>11}")
    for per_db in rows.values():
        for r in per_db.values():
            print(f"{r['db']:11} {r['annotators']:26} {r['decisions']:>9} {r['per_s']:>7.1f} {r['p50']:>7.1f} "
                  f"{r['p95']:>7.1f} {r['lost']:>5} {r['duplicates']:>5} {r['errors']:>6} {r['beats']:>6} "
                  f"{r['beat_p95']:>8.1f} {r['leases_lost']:>11}")
    many = f"{args.annotators} annotators"
    lost = sum(r["lost"] for d in rows.values() for r in d.values())
    dups = sum(r["duplicates"] for d in rows.values() for r in d.values())
    print(f"p95_ms={rows['sqlite'][many]['p95']:.1f} p95_ms_pg={rows['postgresql'][many]['p95']:.1f} "
          f"lost={lost} duplicates={dups}")


if __name__ == "__main__":
    main()
