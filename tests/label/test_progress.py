"""Progress: done and remaining follow the queue's filters; the hourly rate is given only
once there are enough decisions over enough time to mean something."""
from datetime import timedelta

from nearmiss.label.labels import decide
from nearmiss.label.progress import PACE_MIN_DECISIONS, pace, progress
from nearmiss.label.queue import QueueConfig
from nearmiss.store.tables import utcnow
from tests.labeling import add_candidates, users


def test_done_and_remaining_follow_the_filters(sqlite_store):
    quiz = add_candidates(sqlite_store, 2, per_item=2)
    trivia = add_candidates(sqlite_store, 1, per_item=2, dataset="trivia", origin="lm_sample")
    (ann,) = users(sqlite_store, "ann")
    for n, cid in enumerate(quiz[:3] + trivia[:1]):
        decide(sqlite_store, ann, cid, "near_miss", request_id=f"r{n}")
    everything = progress(sqlite_store, ann, QueueConfig())
    assert (everything.done, everything.remaining) == (4, 2)
    only_trivia = progress(sqlite_store, ann, QueueConfig(datasets=("trivia",)))
    assert (only_trivia.done, only_trivia.remaining, only_trivia.labels) == (1, 1, {"near_miss": 1})
    by_origin = progress(sqlite_store, ann, QueueConfig(origins=("distractor",)))
    assert (by_origin.done, by_origin.remaining) == (3, 1)
    assert everything.per_hour is None  # 4 decisions within seconds: no rate yet


def test_pace_needs_enough_decisions_over_enough_time():
    now = utcnow()
    burst = [now - timedelta(seconds=s) for s in range(0, 60, 6)]  # 10 decisions in one minute
    assert len(burst) == PACE_MIN_DECISIONS and pace(burst, now) is None
    steady = [now - timedelta(minutes=m) for m in range(0, 20, 2)]  # 10 over 18 minutes
    assert pace(steady, now) == 10 * 60 / 18
    assert pace(steady[:-1], now) is None  # 9 decisions
    assert pace([now - timedelta(hours=2)] * 20, now) is None  # none in the last hour


def test_team_progress_per_dataset_counts_standing_votes_and_my_share(store):
    from nearmiss.label.labels import undo
    from nearmiss.label.progress import DatasetProgress, team_progress

    quiz = add_candidates(store, 2, per_item=2)
    trivia = add_candidates(store, 1, per_item=2, dataset="trivia")
    ann, bob = users(store, "ann", "bob")
    for n, (who, cid, label) in enumerate([(ann, quiz[0], "near_miss"), (bob, quiz[0], "far_miss"),
                                           (bob, quiz[1], "near_miss"), (ann, quiz[2], "skip"),
                                           (ann, trivia[0], "invalid"), (ann, trivia[1], "near_miss")]):
        decide(store, who, cid, label, request_id=f"r{n}")
    undo(store, ann, request_id="u")  # ann's trivia[1] no longer stands
    rows = team_progress(store, ann)
    assert rows == [DatasetProgress("quiz", 4, 2, 3, 1), DatasetProgress("trivia", 2, 1, 1, 1)]
    assert (rows[0].done, rows[0].my_share, rows[1].my_share) == (0.5, 1 / 3, 1.0)
    assert team_progress(store, bob)[1].my_share == 0.0
