"""Progress records of runs (stage, counter, rate, ETA) and runs numbered per kind, through the
library, the CLI, the mining backend and the schema migration."""
import json
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import select, text

from nearmiss.jobs.progress import Reporter, duration, job_state
from nearmiss.jobs.runs import list_runs
from nearmiss.mine.backends.local import LocalBackend
from nearmiss.mine.run import MineConfig, Resources, _universe
from nearmiss.mine.run import create_run as create_mining_run
from nearmiss.store import Store
from nearmiss.store.engine import _alembic_config
from nearmiss.store.tables import Run
from nearmiss.train.config import TrainConfig
from nearmiss.train.runs import create_run as create_training_run
from tests.labeling import add_candidates


def _row(store, run_id: int) -> tuple:
    with store.session() as s:
        r = s.get(Run, run_id)
        return r.stage, r.done, r.total, r.unit, r.progress


def test_a_stage_is_written_at_once_and_its_counter_at_most_every_few_seconds(store):
    run_id = create_mining_run(store, MineConfig(dataset="quiz"))
    report = Reporter(store, run_id, every=60)
    report.stage("embedding", total=20, progress=0.25)
    assert _row(store, run_id) == ("embedding", 0, 20, "items", 0.25)
    report.count(5)  # a second after the last write: kept for later
    assert _row(store, run_id)[1] == 0
    report.count(20, progress=0.5)  # the stage's end is always written
    assert _row(store, run_id) == ("embedding", 20, 20, "items", 0.5)
    report.stage("training head a (1 of 2)", unit="steps")  # a new stage resets the counter
    assert _row(store, run_id) == ("training head a (1 of 2)", None, None, "steps", 0.5)
    every_time = Reporter(store, run_id, every=0)
    every_time.count(3, 8)  # the total known once the head's steps are
    assert _row(store, run_id)[1:4] == (3, 8, "steps")
    every_time.progress(0.75, "2 of 4 points")
    with store.session() as s:
        run = s.get(Run, run_id)
        assert (run.progress, run.message, run.beat_at is not None) == (0.75, "2 of 4 points", True)


def test_rate_and_time_left_come_from_the_stage_start_and_the_last_report():
    start = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)
    run = Run(stage="scoring with the lm scorer", done=5, total=20, unit="items", stage_at=start,
              beat_at=start + timedelta(seconds=10))
    state = job_state(run)
    assert (state.rate, state.eta) == (0.5, 30.0)
    assert state.describe() == "scoring with the lm scorer · 5 of 20 items · 0.5 items/s · about 30 s left"
    run.done, run.total = 0, 20  # nothing counted yet: no rate, no guess
    assert job_state(run).describe() == "scoring with the lm scorer · 0 of 20 items"
    run.done, run.total, run.unit = 40, None, "steps"  # a counter without a total
    assert job_state(run).describe() == "scoring with the lm scorer · 40 steps · 4 steps/s"
    assert [duration(s) for s in (42.4, 185, 7800)] == ["42 s", "3 min 5 s", "2 h 10 min"]


def test_runs_are_numbered_per_kind_and_listed_with_id_and_number(store, cli):
    first_mine = create_mining_run(store, MineConfig(dataset="quiz"))
    first_train = create_training_run(store, TrainConfig(dataset="quiz"))
    second_mine = create_mining_run(store, MineConfig(dataset="quiz"))
    with ThreadPoolExecutor(4) as pool:  # created at the same moment: each still gets its own number
        more = list(pool.map(lambda _: create_training_run(store, TrainConfig(dataset="quiz")), range(6)))
    listed = {r["id"]: (r["number"], r["name"]) for r in list_runs(store)}
    assert listed[first_mine] == (1, "mining run 1") and listed[second_mine] == (2, "mining run 2")
    assert listed[first_train] == (1, "training run 1")
    assert sorted(listed[i][0] for i in more) == [2, 3, 4, 5, 6, 7]
    out = cli("runs", "list", "--json", "--kind", "mine", db=store.url)
    assert out.returncode == 0, out.stderr
    assert [(r["id"], r["number"], r["kind"]) for r in json.loads(out.stdout)] == [(second_mine, 2, "mine"),
                                                                                    (first_mine, 1, "mine")]
    out = cli("runs", "list", "--kind", "train", "--limit", "1", db=store.url)
    assert out.stdout.split()[:4] == [str(max(more)), "training", "run", str(listed[max(more)][0])]


def test_the_migration_numbers_existing_runs_per_kind(sqlite_url):
    store = Store(sqlite_url)
    cfg = _alembic_config()
    with store.engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0011")
        for kind in ("mine", "train", "mine"):
            conn.execute(text("insert into runs (kind, config, status, progress, metrics, started_at) "
                              "values (:kind, '{}', 'done', 1.0, '{}', '2026-12-01')"), {"kind": kind})
        command.upgrade(cfg, "head")
    with store.session() as s:
        assert list(s.execute(select(Run.kind, Run.number).order_by(Run.id))) == [("mine", 1), ("train", 1),
                                                                                  ("mine", 2)]
    assert create_mining_run(store, MineConfig(dataset="quiz")) and list_runs(store, "mine")[0]["number"] == 3
    store.dispose()


class Recording(Reporter):
    """A Reporter that also keeps each write it makes."""

    def __init__(self, store: Store, run_id: int):
        super().__init__(store, run_id, every=0)
        self.writes: list[dict] = []

    def _write(self, **values) -> None:
        self.writes.append(values)
        super()._write(**values)


def test_mining_reports_each_pool_and_scorer_on_parts_of_a_batch(sqlite_store):
    add_candidates(sqlite_store, 12, dataset="quiz")
    cfg = MineConfig(dataset="quiz", pools=("distractors",), scorers=("embedding",), batch_size=8)
    run_id = create_mining_run(sqlite_store, cfg)
    report = Recording(sqlite_store, run_id)
    universe = _universe(sqlite_store, cfg)
    batches = list(LocalBackend().run(Resources(sqlite_store, cfg, universe, report=report), universe))
    assert [len(b.proposals) for b in batches] == [8, 4]
    stages = [w["stage"] for w in report.writes if "stage" in w]
    assert stages == ["loading pools and scorers",
                      "batch 1 of 2: proposing from the distractors pool",
                      "batch 1 of 2: scoring with the embedding scorer (all-MiniLM-L6-v2)",
                      "batch 2 of 2: proposing from the distractors pool",
                      "batch 2 of 2: scoring with the embedding scorer (all-MiniLM-L6-v2)"]
    counts = [(w["done"], w["progress"]) for w in report.writes if "done" in w and "stage" not in w]
    assert [c for c, _ in counts] == [2, 4, 6, 8] * 2 + [1, 2, 3, 4] * 2  # a quarter of a batch at a time
    fractions = [p for _, p in counts]
    assert fractions == sorted(fractions) and fractions[0] == 2 / 24 and fractions[-1] == 1.0  # 12 items x 2 steps
