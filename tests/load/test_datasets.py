"""Datasets in the library and on the Datasets page (AppTest): rename and delete (admins;
labels refused unless confirmed), field mappings remembered per column signature, every bad
row of an upload listed at once with nothing stored, the split picker per benchmark."""
import io
import json
from pathlib import Path

import pytest
import streamlit as st
from sqlalchemy import func, select
from streamlit.testing.v1 import AppTest

from nearmiss.errors import ConfigError, DatasetBusy, LoadErrors, PermissionDenied
from nearmiss.jobs.owners import dataset_lock
from nearmiss.label.guidelines import guideline, guideline_history, save_guideline
from nearmiss.label.labels import decide
from nearmiss.label.queue import set_overlap
from nearmiss.label.ranker import RankerConfig, fit, latest
from nearmiss.load.datasets import dataset_stats, delete_dataset, rename_dataset
from nearmiss.load.mappings import remember_mapping, remembered_mapping
from nearmiss.load.run import discard_staged, load_upload, stage_upload
from nearmiss.load.sources.mcqa import FieldMap
from nearmiss.mine.run import MineConfig, create_run
from nearmiss.store.tables import Candidate, Guideline, Item, Label, LabelSettings, Ranker
from tests.labeling import add_candidates, signed_in, users

ROOT = Path(__file__).resolve().parents[2]


def _count(store, table) -> int:
    with store.session() as s:
        return s.scalar(select(func.count()).select_from(table))


def test_rename_keeps_labels_and_refuses_a_taken_name(store):
    cands = add_candidates(store, 2, dataset="quiz")
    add_candidates(store, 1, dataset="other")
    (ann,), (boss,) = users(store, "ann"), users(store, "boss", role="admin")
    set_overlap(store, boss, "quiz", 2)
    decide(store, ann, cands[0], "near_miss", request_id="r1")
    with pytest.raises(PermissionDenied):
        rename_dataset(store, ann, "quiz", "quiz2")
    with pytest.raises(ConfigError, match="exists already"):
        rename_dataset(store, boss, "quiz", "other")
    rename_dataset(store, boss, "quiz", "quiz v2")
    assert [(s.name, s.items, s.labels) for s in dataset_stats(store)] == [("other", 1, 0), ("quiz v2", 2, 1)]
    with store.session() as s:
        assert s.get(LabelSettings, "quiz v2").overlap == 2


def test_guidelines_and_rankers_move_with_a_rename_and_go_with_a_delete(store):
    add_candidates(store, 2, dataset="quiz")
    (boss,) = users(store, "boss", role="admin")
    save_guideline(store, boss, "quiz", "Near: plausible but wrong.")
    set_overlap(store, boss, "quiz", 2)
    fit(store, "quiz")
    fit(store, None, RankerConfig(scope="all"))
    with store.session() as s:  # what an older store left under a name no dataset has now
        s.add(Guideline(dataset="quiz v2", version=1, text="stale", author_id=boss))
        s.add(Ranker(scope="quiz v2", kind="fixed", labels=0, label_mark=0))
    rename_dataset(store, boss, "quiz", "quiz v2")
    assert [(g.version, g.text) for g in guideline_history(store, "quiz v2")] == [(1, "Near: plausible but wrong.")]
    assert latest(store, "quiz v2")["labels"] == 0 and _scopes(store) == ["*", "quiz v2"]
    add_candidates(store, 1, dataset="quiz")  # a new dataset under the old name starts clean
    assert guideline(store, "quiz") is None and latest(store, "quiz") is None
    with store.session() as s:
        assert s.get(LabelSettings, "quiz") is None
    delete_dataset(store, boss, "quiz v2")
    assert guideline_history(store, "quiz v2") == [] and _scopes(store) == ["*"]
    with store.session() as s:
        assert s.get(LabelSettings, "quiz v2") is None


def _scopes(store) -> list[str]:
    with store.session() as s:
        return sorted(set(s.scalars(select(Ranker.scope))))


def test_names_and_guidelines_the_store_cannot_keep_are_refused(store):
    add_candidates(store, 1, dataset="quiz")
    (boss,) = users(store, "boss", role="admin")
    for bad, why in [("q\x00z", "invisible or control characters \\(found U\\+0000"),
                     ("*", "'\\*' is reserved"), ("qu\u0456z", "mixes scripts with look-alike letters")]:
        with pytest.raises(ConfigError, match=f"dataset name .*{why}"):
            rename_dataset(store, boss, "quiz", bad)
    with pytest.raises(ConfigError, match="guidelines: text holds an unpaired surrogate"):
        save_guideline(store, boss, "quiz", "rule \ud800")
    assert [s.name for s in dataset_stats(store)] == ["quiz"] and guideline(store, "quiz") is None


def test_delete_is_refused_while_labels_exist_unless_confirmed(store):
    cands = add_candidates(store, 2, dataset="quiz")
    add_candidates(store, 1, dataset="other")
    (ann,), (boss,) = users(store, "ann"), users(store, "boss", role="admin")
    decide(store, ann, cands[0], "near_miss", request_id="r1")
    with pytest.raises(PermissionDenied):
        delete_dataset(store, ann, "quiz", delete_labels=True)
    with pytest.raises(ConfigError, match="has 1 labels: export them first"):
        delete_dataset(store, boss, "quiz")
    assert _count(store, Label) == 1
    assert delete_dataset(store, boss, "quiz", delete_labels=True) == 2
    assert [s.name for s in dataset_stats(store)] == ["other"]
    assert (_count(store, Label), _count(store, Candidate)) == (0, 3)
    assert delete_dataset(store, boss, "other") == 1  # no labels: no confirmation needed


def test_mapping_is_remembered_per_column_signature(sqlite_store):
    assert remembered_mapping(sqlite_store, ["q", "a", "b", "key"]) is None
    fm = FieldMap(question="q", choices=["b", "a"], answer="key")
    remember_mapping(sqlite_store, ["q", "a", "b", "key"], fm)
    assert remembered_mapping(sqlite_store, ["key", "b", "a", "q"]) == fm  # order of columns does not matter
    assert remembered_mapping(sqlite_store, ["q", "a", "b"]) is None
    remember_mapping(sqlite_store, ["a", "b", "q", "key"], FieldMap(question="q", choices=["a", "b"], answer="key"))
    assert remembered_mapping(sqlite_store, ["q", "a", "b", "key"]).choices == ["a", "b"]  # the latest wins


def test_every_bad_row_is_listed_and_nothing_is_stored(sqlite_store, tmp_path):
    rows = [{"q": f"{n}?", "a": "x", "b": "y", "key": "A"} for n in range(80)]
    for n in (3, 9, 20):
        rows[n]["key"] = "Z"
    rows[40]["q"] = " "
    body = "\n".join(json.dumps(r) for r in rows).encode()
    path = stage_upload(io.BytesIO(body), "quiz.jsonl")
    fm = FieldMap(question="q", choices=["a", "b"], answer="key")
    with pytest.raises(LoadErrors) as err:
        load_upload(sqlite_store, path, "quiz.jsonl", mapping=fm)
    assert [(e.file, e.line, e.field) for e in err.value.errors] == [
        ("quiz.jsonl", 4, "key"), ("quiz.jsonl", 10, "key"), ("quiz.jsonl", 21, "key"), ("quiz.jsonl", 41, "q")]
    assert str(err.value).startswith("quiz.jsonl:4: field 'key': answer 'Z'")
    assert str(err.value).endswith("(and 3 more)")
    assert _count(sqlite_store, Item) == 0
    many = "\n".join(json.dumps({**r, "key": "Z"}) for r in rows).encode()
    with pytest.raises(LoadErrors) as err:
        load_upload(sqlite_store, stage_upload(io.BytesIO(many), "all.jsonl"), "all.jsonl", mapping=fm)
    assert (len(err.value.errors), err.value.more) == (50, 30)


def test_an_upload_over_the_limit_is_refused_while_staging():
    with pytest.raises(Exception, match="larger than the upload limit of 1 MB"):
        stage_upload(io.BytesIO(b"x" * (2**20 + 1)), "big.jsonl", max_mb=1)
    staged = stage_upload(io.BytesIO(b"y" * 2**20), "ok.jsonl", max_mb=1)
    assert staged.read_bytes() == b"y" * 2**20 and staged.parent.name.startswith("nearmiss-upload-")
    discard_staged(staged)
    assert not staged.parent.exists()


@pytest.fixture
def page(sqlite_url, sqlite_store, monkeypatch):
    """The Datasets page as admin ``boss`` over a store with datasets quiz (1 label) and other."""
    monkeypatch.setenv("NEARMISS_DB", sqlite_url)
    st.cache_resource.clear()
    cands = add_candidates(sqlite_store, 2, dataset="quiz")
    add_candidates(sqlite_store, 1, dataset="other")
    (ann,), _ = users(sqlite_store, "ann"), users(sqlite_store, "boss", role="admin")
    decide(sqlite_store, ann, cands[0], "near_miss", request_id="r1")
    at = AppTest.from_file(str(ROOT / "nearmiss/app/pages/datasets.py"), default_timeout=60)
    yield signed_in(at, sqlite_store, "boss").run()
    st.cache_resource.clear()


def test_switching_benchmark_resets_the_split_picker(page):
    page.selectbox(key="ds_bundled_name").set_value("arc-easy").run()
    page.selectbox(key="ds_bundled_split_arc-easy").set_value("test").run()
    page.selectbox(key="ds_bundled_name").set_value("openbookqa").run()
    assert page.selectbox(key="ds_bundled_split_openbookqa").value == "validation"
    assert not page.exception


def test_page_renames_and_deletes_only_after_confirmation(page, sqlite_store):
    page.selectbox(key="ds_manage_name").set_value("quiz").run()
    page.text_input(key="ds_rename_quiz").set_value("quiz <b>2</b>").run()
    assert page.button(key="ds_rename").disabled  # nothing renamed without the box ticked
    page.checkbox(key="ds_rename_sure_quiz").check().run()
    page.button(key="ds_rename").click().run()
    assert sorted(s.name for s in dataset_stats(sqlite_store)) == ["other", "quiz <b>2</b>"]
    page.selectbox(key="ds_manage_name").set_value("quiz <b>2</b>").run()
    assert page.button(key="ds_delete").disabled  # nothing deleted without the box ticked
    box = page.checkbox(key="ds_delete_sure_quiz <b>2</b>")
    assert "1 labels (export them first" in box.label
    box.check().run()
    page.button(key="ds_delete").click().run()
    assert [s.name for s in dataset_stats(sqlite_store)] == ["other"]
    assert not page.exception and not page.error


def test_a_dataset_being_mined_is_neither_renamed_nor_deleted(store):
    add_candidates(store, 2, dataset="quiz")
    (boss,) = users(store, "boss", role="admin")
    run_id = create_run(store, MineConfig(dataset="quiz"))
    with dataset_lock(store, "quiz", run_id):  # this process mines it
        with pytest.raises(DatasetBusy, match=f"being mined by run {run_id} .*cancel run {run_id}"):
            rename_dataset(store, boss, "quiz", "quiz2")
        with pytest.raises(DatasetBusy, match=f"being mined by run {run_id}"):
            delete_dataset(store, boss, "quiz")
    rename_dataset(store, boss, "quiz", "quiz2")  # the lock is given back
    assert delete_dataset(store, boss, "quiz2") == 2
