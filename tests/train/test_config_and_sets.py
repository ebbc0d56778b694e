"""Trainer without a model: config checks, negative sets from data and from labels, final
labels, gain per example, CLI errors."""
from __future__ import annotations

import random

import pytest

from nearmiss.auth.accounts import add_user
from nearmiss.errors import ConfigError, NotFoundError
from nearmiss.load.ingest import add_candidates, candidate_row, ingest
from nearmiss.load.sources import open_source
from nearmiss.store.schema import CandidateRecord, normalize_answer
from nearmiss.store.tables import Label
from nearmiss.train.config import TrainConfig
from nearmiss.train.data import load_splits
from nearmiss.train.negatives import build_sets
from nearmiss.train.runs import summarise
from nearmiss.train.stats import best_gain


def _no_lm(items):
    raise AssertionError("this set must not need the LM")


def negative_set(name, s, train, seed):
    """One set's pairs, as a run builds them for ``seed``."""
    return build_sets([name], s, train, TrainConfig(seeds=[seed]), _no_lm, "arc-easy", "test")[name]


@pytest.fixture
def arc_store(store):
    ingest(store, open_source("arc-easy", split="test", limit=60).items)
    ingest(store, open_source("arc-easy", split="validation", limit=20).items)
    return store


@pytest.mark.parametrize("bad, field", [({"methods": ["likra", "bogus"]}, "methods"),
                                        ({"negatives": ["nearish"]}, "negatives"),
                                        ({"sizes": [0, 32, 16]}, "sizes"), ({"sizes": [-1, 4]}, "sizes"),
                                        ({"dtype": "int8"}, "dtype"), ({"lr": 0}, "lr"),
                                        ({"train_split": "validation"}, "eval_limit"),
                                        ({"eval_batch_tokens": 0}, "eval_batch_tokens"),
                                        ({"eval_batch_tokens": "many"}, "eval_batch_tokens")])
def test_config_rejects_bad_values_naming_the_field(bad, field):
    with pytest.raises(ConfigError, match=field):
        TrainConfig(**bad)


def test_config_hash_ignores_output_folder_only():
    assert TrainConfig(out_dir="a").config_hash() == TrainConfig(out_dir="b").config_hash()
    assert TrainConfig(seeds=[1]).config_hash() != TrainConfig(seeds=[2]).config_hash()
    with pytest.raises(ConfigError, match="bogus"):
        TrainConfig.from_dict({"bogus": 1})


def test_a_stored_config_from_before_reads_as_today():
    old = {**TrainConfig().as_dict(), "seed": 3, "eval_batch_size": 4}
    del old["seeds"], old["eval_batch_tokens"]
    cfg = TrainConfig.from_dict(old)
    assert (cfg.seeds, cfg.eval_batch_tokens) == ([3], 512)
    assert TrainConfig.from_dict({**old, "eval_batch_size": None}).eval_batch_tokens is None


def test_splits_are_disjoint_and_seeded(arc_store):
    with arc_store.session() as s:
        first = load_splits(s, "arc-easy", "test", "validation", 10, seed=3)
        train, evals = first.train, first.eval
        again = load_splits(s, "arc-easy", "test", "validation", 10, seed=3)
        other = load_splits(s, "arc-easy", "test", "validation", 10, seed=4)
        same = load_splits(s, "arc-easy", "test", "test", 15, seed=3)
        same_split_train, same_split_eval = same.train, same.eval
    assert len(train) == 60 and len(evals) == 10
    assert [t.id for t in train] == [t.id for t in again.train] != [t.id for t in other.train]
    assert [e.id for e in evals] == [e.id for e in other.eval]  # eval items do not follow the seed
    assert not {t.id for t in same_split_train} & {e.id for e in same_split_eval}
    assert len(same_split_train) + len(same_split_eval) == 60
    assert all(e.choices[e.gold] and e.prompt.startswith("Question: ") for e in evals)
    with pytest.raises(NotFoundError, match="load that split first"), arc_store.session() as s:
        load_splits(s, "arc-easy", "train", "validation", 10, seed=0)


def test_data_negative_sets(arc_store):
    with arc_store.session() as s:
        train = load_splits(s, "arc-easy", "test", "validation", 10, seed=0).train
        distract = negative_set("distractor", s, train, seed=0)
        unrelated = negative_set("unrelated", s, train, seed=0)
        assert negative_set("distractor", s, train, seed=0) == distract
        assert negative_set("distractor", s, train, seed=1) != distract
    by_id = {t.id: t for t in train}
    assert [p.item_id for p in distract] == [t.id for t in train]  # first n pairs = first n items
    for p in distract:
        assert p.rejected in by_id[p.item_id].distractors and p.chosen == by_id[p.item_id].gold
    golds = {t.gold for t in train}
    for p in unrelated:
        own = {normalize_answer(x) for x in (by_id[p.item_id].gold, *by_id[p.item_id].distractors)}
        assert normalize_answer(p.rejected) not in own and p.rejected in golds


def _label(s, cid, annotator, label, kind="decision", retracts=None) -> int:
    row = Label(candidate_id=cid, annotator_id=annotator, kind=kind, label=label, retracts=retracts)
    s.add(row)
    s.flush()
    return row.id


def test_labeled_sets_follow_final_labels(arc_store):
    a, b, c = (add_user(arc_store, n, "annotator", "secret-pass").id for n in ("ann", "bob", "cat"))
    with arc_store.session() as s:
        train = load_splits(s, "arc-easy", "test", "validation", 10, seed=0).train
        items = train[:4]
        rows = [candidate_row(t.id, CandidateRecord(text=t.distractors[k], origin="distractor"))
                for t in items for k in range(2)]
        add_candidates(s, rows)
        ids = [r["id"] for r in rows]
        # item 0: two near-misses; item 1: majority far (2 vs 1); item 2: near, then retracted -> far
        for cid in ids[:2]:
            _label(s, cid, a, "near_miss")
        _label(s, ids[2], a, "far_miss"), _label(s, ids[2], b, "far_miss"), _label(s, ids[2], c, "near_miss")
        first = _label(s, ids[4], a, "near_miss")
        _label(s, ids[4], a, None, kind="retraction", retracts=first)
        _label(s, ids[4], a, "far_miss")
        # item 3: a tie (no final label) and an adjudicated one
        _label(s, ids[6], a, "near_miss"), _label(s, ids[6], b, "far_miss")
        _label(s, ids[7], a, "near_miss"), _label(s, ids[7], b, "near_miss")
        _label(s, ids[7], c, "actually_correct", kind="adjudication")
    with arc_store.session() as s:
        near = negative_set("near", s, train, seed=0)
        far = negative_set("far", s, train, seed=0)
    assert sorted(p.rejected for p in near) == sorted(items[0].distractors[:2])
    assert near[0].item_id == items[0].id and len(near) == 2
    assert {(p.item_id, p.rejected) for p in far} == {(items[1].id, items[1].distractors[0]),
                                                      (items[2].id, items[2].distractors[0])}


def test_empty_labeled_set_is_an_error(arc_store):
    with arc_store.session() as s:
        train = load_splits(s, "arc-easy", "test", "validation", 10, seed=0).train
        with pytest.raises(NotFoundError, match="near.*label some"):
            negative_set("near", s, train, seed=0)


def test_gain_per_example_is_the_best_low_data_gain_over_zero_shot():
    sizes, accs = [0, 16, 32, 64, 128], [0.50, 0.52, 0.60, 0.61, 0.95]
    gain = lambda z, a, most: best_gain(dict(zip(z, a)), most)  # noqa: E731
    assert gain(sizes, accs, 64) == pytest.approx(0.10 / 32)  # 128 is not low-data
    assert gain(sizes, accs, 128) == pytest.approx(0.45 / 128)
    assert gain([0, 4, 8, 16], [0.58, 0.25, 0.35, 0.55], 64) == pytest.approx(-0.03 / 16)  # dip: no credit
    assert gain([0, 16], [0.5, 0.4], 8) is None
    assert gain([16, 32], [0.5, 0.6], 64) is None
    rng = random.Random(0)
    points = [{"method": "sft", "negatives": "distractor", "size": z, "acc": a, "acc_norm": a, "seed": 0,
               "gold_mean": -rng.random(), "wrong_mean": -10.0 - z, "correct": None, "correct_norm": None,
               "w": None, "acc_norm_def": "lm-eval", "n_eval": None} for z, a in zip(sizes, accs)]
    (row,) = summarise(points, 64)["gains"]
    assert row["wrong_drop"] == pytest.approx(128) and row["acc_last"] == 0.95
    assert row["gain_lo"] is None  # no per-item outcomes stored: no interval


def test_cli_train_rejects_unknown_method_in_one_line(cli, sqlite_url):
    r = cli("train", "--methods", "likra,bogus", db=sqlite_url)
    assert r.returncode == 1
    assert r.stderr.strip().splitlines() == [
        "Error: methods: unknown method 'bogus'; expected one of likra, likra_neg, sft, nat, dpo"]
