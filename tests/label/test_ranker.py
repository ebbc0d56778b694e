"""The learned ranker on SQLite and PostgreSQL: it beats the fixed blend on labels that
follow a rule of the scores, refits deterministically, never touches a label, serves the
most uncertain candidate first, and keeps the fixed blend while labels are too few."""
import time

import numpy as np
import pytest
from sqlalchemy import select

from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.label.labels import decide
from nearmiss.label.queue import QueueConfig, next_candidate
from nearmiss.label.ranker import RankerConfig, fit, serving_note, show
from nearmiss.label.refit import Refitter, due
from nearmiss.store.tables import Candidate, Label
from tests.labeling import users
from tests.ranker_store import label_by_rule, scored_store

CFG = RankerConfig(model="logistic", min_labels=40, min_per_class=10, refit_every=10)


def _p_near(store) -> dict[str, tuple[float | None, str | None, int | None]]:
    with store.session() as s:
        return {r.id: (r.p_near, r.suggested, r.ranker_id)
                for r in s.execute(select(Candidate.id, Candidate.p_near, Candidate.suggested, Candidate.ranker_id))}


def _labels(store) -> list[tuple]:
    with store.session() as s:
        return [tuple(r) for r in s.execute(select(Label.id, Label.candidate_id, Label.annotator_id, Label.kind,
                                                   Label.label, Label.retracts).order_by(Label.id))]


def test_learned_ranker_beats_the_fixed_blend(store):
    ids = scored_store(store, 60)
    label_by_rule(store, ids[:120])
    result = fit(store, "rule", CFG)
    assert result.kind == "learned" and result.labels == 120
    q = result.quality
    assert q["learned_auc"]["value"] > 0.9 > q["blend_auc"]["value"] + 0.2
    assert q["auc_gain"]["lo"] > 0  # the interval of the paired gain excludes zero
    assert q["learned_auc"]["lo"] <= q["learned_auc"]["value"] <= q["learned_auc"]["hi"]
    assert next(iter(q["importance"])) == "lp_char"  # the rule's score matters most
    assert q["reliability"]["learned"] and all(0 <= p["observed"] <= 1 for p in q["reliability"]["learned"])
    written = _p_near(store)
    assert all(p is not None and rid == result.ranker_id for p, _, rid in written.values())
    assert all(sug == ("near_miss" if p >= 0.5 else "far_miss") for p, sug, _ in written.values())
    # the unlabeled candidates are ranked by the rule too
    with store.session() as s:
        scores = dict(s.execute(select(Candidate.id, Candidate.scores)).tuples().all())
    unlabeled = ids[120:]
    hits = sum((written[c][0] >= 0.5) == (scores[c]["lp_char"] > -1.2) for c in unlabeled)
    assert hits / len(unlabeled) > 0.85
    shown = show(store, "rule")
    assert shown["serving"]["version"] == result.ranker_id and shown["serving"]["labels"] == 120


def test_refit_is_deterministic_and_never_changes_a_label(sqlite_store):
    ids = scored_store(sqlite_store, 40)
    ann = label_by_rule(sqlite_store, ids[:80])
    decide(sqlite_store, ann, ids[100], "actually_correct", request_id="ac")  # excluded from training
    before = _labels(sqlite_store)
    cfg = RankerConfig(model="auto", min_labels=40, min_per_class=10, seed=3)
    first = fit(sqlite_store, "rule", cfg)
    losses = first.quality["log_loss"]  # auto: the model of lowest out-of-fold log loss serves
    assert set(losses) == {"logistic", "boosting", "item_softmax"}
    assert first.quality["model"] == min(losses, key=losses.get) and show(sqlite_store, "rule")["serving"]["model"] \
        == first.quality["model"]
    p_first = {c: p for c, (p, _, _) in _p_near(sqlite_store).items()}
    second = fit(sqlite_store, "rule", cfg)
    p_second = {c: p for c, (p, _, _) in _p_near(sqlite_store).items()}
    assert second.ranker_id == first.ranker_id + 1 and first.labels == 80
    assert p_first == p_second and first.quality == second.quality
    other = fit(sqlite_store, "rule", RankerConfig(model="auto", min_labels=40, min_per_class=10, seed=4))
    assert other.quality != first.quality  # the seed is really used
    assert _labels(sqlite_store) == before


def test_queue_serves_the_most_uncertain_candidate_first(store):
    ids = scored_store(store, 40)
    label_by_rule(store, ids[:90])
    fit(store, "rule", CFG)
    (bob,) = users(store, "bob")
    with store.session() as s:
        p = dict(s.execute(select(Candidate.id, Candidate.p_near).where(Candidate.id.in_(ids[90:]))).tuples().all())
    distance = sorted(abs(v - 0.5) for v in p.values())
    cfg = QueueConfig(order="uncertain")
    served = []
    for _ in range(5):
        cid = next_candidate(store, bob, cfg)
        served.append(cid)
        decide(store, bob, cid, "far_miss", request_id=f"bob-{cid}")
    assert [abs(p[c] - 0.5) for c in served] == distance[:5]  # equally uncertain ones in any order


def test_too_few_labels_keep_the_fixed_blend(store):
    ids = scored_store(store, 20)
    label_by_rule(store, ids[:15])
    result = fit(store, "rule", CFG)
    assert result.kind == "fixed" and result.needed == 25
    assert "needs 25 more" in result.message
    assert all(p is None and rid is None for p, _, rid in _p_near(store).values())
    assert show(store, "rule")["serving"]["kind"] == "fixed"
    assert "needs 25 more" in serving_note(store, ids[30])
    # the uncertain order still runs on the fixed blend's nearness
    (bob,) = users(store, "bob")
    with store.session() as s:
        near = dict(s.execute(select(Candidate.id, Candidate.nearness)
                              .where(Candidate.id.in_(ids[15:]))).tuples().all())
    assert next_candidate(store, bob, QueueConfig()) == min(near, key=lambda c: abs(near[c] - 0.5))


def test_background_refit_after_n_new_labels(sqlite_store):
    ids = scored_store(sqlite_store, 40)
    ann = label_by_rule(sqlite_store, ids[:60])
    first = fit(sqlite_store, "rule", CFG)
    assert due(sqlite_store, "rule") is None
    with sqlite_store.session() as s:
        scores = dict(s.execute(select(Candidate.id, Candidate.scores)).tuples().all())
    for cid in ids[60:70]:
        decide(sqlite_store, ann, cid, "near_miss" if scores[cid]["lp_char"] > -1.2 else "far_miss",
               request_id=f"more-{cid}")
    assert due(sqlite_store, "rule") == CFG  # refits with the config of the last fit
    refitter = Refitter(sqlite_store, poll_seconds=0.05)
    try:
        deadline = time.monotonic() + 60
        while show(sqlite_store, "rule")["serving"]["version"] == first.ranker_id and time.monotonic() < deadline:
            time.sleep(0.1)
    finally:
        refitter.stop()
    serving = show(sqlite_store, "rule")["serving"]
    assert serving["version"] > first.ranker_id and serving["labels"] == 70
    assert serving_note(sqlite_store, ids[100]).startswith(f"Ranker v{serving['version']} ")


def test_bad_config_and_unknown_dataset(sqlite_store):
    with pytest.raises(ConfigError, match="model: unknown model 'svm'"):
        RankerConfig(model="svm")
    with pytest.raises(ConfigError, match="min_per_class"):
        RankerConfig(min_per_class=2, folds=5)
    with pytest.raises(NotFoundError, match="no dataset named 'nope'"):
        fit(sqlite_store, "nope", CFG)


def test_auc_matches_scikit_learn():
    from sklearn.metrics import roc_auc_score

    from nearmiss.label.ranker_model import auc
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    score = np.round(rng.normal(y * 0.5, 1.0), 1)  # rounded: ties count half
    assert auc(y, score) == pytest.approx(roc_auc_score(y, score), abs=1e-12)


def test_export_filters_by_p_near(sqlite_store):
    from nearmiss.export import ExportFilters, preview

    ids = scored_store(sqlite_store, 30)
    label_by_rule(sqlite_store, ids[:60])
    unscored = preview(sqlite_store, ExportFilters(p_near_min=0.5))
    assert unscored.examples == [] and unscored.removed["p_near out of range"] == 60
    fit(sqlite_store, "rule", CFG)
    p = {c: v for c, (v, _, _) in _p_near(sqlite_store).items()}
    high = preview(sqlite_store, ExportFilters(p_near_min=0.5)).negatives
    assert high and all(p[n.candidate_id] >= 0.5 for n in high)
    low = preview(sqlite_store, ExportFilters(p_near_max=0.5))
    assert len(high) + len(low.negatives) == 60 and low.removed["p_near out of range"] == len(high)
    with pytest.raises(ConfigError, match="p_near_min 0.8 is above p_near_max 0.2"):
        ExportFilters(p_near_min=0.8, p_near_max=0.2)


def test_one_ranker_across_datasets(sqlite_store):
    from nearmiss.label.refit import _scopes

    a = scored_store(sqlite_store, 20, dataset="a", seed=1)
    b = scored_store(sqlite_store, 20, dataset="b", seed=2)
    label_by_rule(sqlite_store, a[:25] + b[:25])
    assert fit(sqlite_store, "a", CFG).kind == "fixed"  # 25 labels on dataset a alone
    assert sorted(_scopes(sqlite_store)) == ["a", "b"]
    result = fit(sqlite_store, None, RankerConfig(model="logistic", scope="all", min_labels=40, min_per_class=10))
    assert result.kind == "learned" and result.scope == "*" and result.labels == 50
    assert all(p is not None and rid == result.ranker_id for p, _, rid in _p_near(sqlite_store).values())
    assert _scopes(sqlite_store) == ["*"]  # background refits follow the newest ranker's scope
