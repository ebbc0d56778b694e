"""Exports from a labeled store (SQLite and PostgreSQL): every format is written, read
back independently, counted against its manifest, split by item, and never carries an
answer finally labeled actually-correct or invalid as a negative."""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections import Counter
from itertools import count
from pathlib import Path

import pytest
from sqlalchemy import select

from nearmiss.errors import ConfigError
from nearmiss.export import UNLABELED, ExportConfig, ExportFilters, export, preview
from nearmiss.jobs.progress import Reporter
from nearmiss.label.final_labels import load_final_labels
from nearmiss.lm.prompts import NAT_INCORRECT
from nearmiss.store import Store
from nearmiss.store.engine import head_revision
from nearmiss.store.schema import NEGATIVE_LABELS, candidate_id, normalize_answer
from nearmiss.store.tables import Item
from tests.export_store import LABELED, build_labeled_store

CASES = [("dpo", "standard", False), ("dpo", "conversational", True), ("kto", "standard", True),
         ("kto", "conversational", False), ("sft", "conversational", True), ("sft", "standard", False),
         ("nat", "conversational", False), ("nat", "standard", True), ("likra", None, False),
         ("likra", None, True), ("hf", None, False), ("hf", None, True), ("hir", None, False), ("hir", None, True)]


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def labeled(request, tmp_path_factory):
    """(store, truth, question per item id): the labeled scenario, built once per backend."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('export') / 'x.db'}"
    else:
        import psycopg

        server = request.getfixturevalue("pg_server")
        name = f"export_{os.getpid()}_{time.monotonic_ns()}"
        with psycopg.connect(server.replace("postgresql+psycopg", "postgresql"), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = server.rsplit("/", 1)[0] + f"/{name}"
    store = Store(url)
    truth = build_labeled_store(store)
    with store.session() as s:
        questions = dict(s.execute(select(Item.id, Item.question)).all())
    yield store, truth, questions
    store.dispose()


def read_table(path: Path) -> list[dict]:
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


def read_export(out: Path, fmt: str) -> dict[str, list[dict]]:
    """Every table of an export, found on disk (not through the manifest): name -> rows."""
    if fmt == "hf":
        import datasets

        return {split: ds.to_list() for split, ds in datasets.load_from_disk(str(out)).items()}
    return {p.relative_to(out).as_posix(): read_table(p) for p in sorted(out.rglob("*"))
            if p.suffix in (".jsonl", ".parquet")}


def _text(value) -> str:
    return value.strip() if isinstance(value, str) else value[-1]["content"]


def negative_text(fmt: str, row: dict) -> str | None:
    """The wrong answer a row trains against, or None when the row carries the gold answer."""
    if fmt == "dpo":
        return _text(row["rejected"])
    if fmt == "kto":
        return None if row["label"] else _text(row["completion"])
    if fmt == "hf":
        return None if row["correct"] else _text(row["completion"])
    if fmt == "nat":
        user = row["messages"][0]["content"] if "messages" in row else row["prompt"]
        answer = row["messages"][-1]["content"] if "messages" in row else row["completion"]
        return _text(answer) if user.startswith(NAT_INCORRECT) else None
    if fmt == "likra":
        return None if row["final_label"] == "gold" else _text(row["completion"])
    if fmt == "hir":
        return _text(row["messages"]) if row["relabeled"] else None
    return None  # sft: gold answers only


def split_of(name: str) -> str:
    return Path(name).stem if "." in name else name


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def expected_pairs(truth) -> set[tuple[str, str]]:
    """(question, answer) pairs the default filters must export."""
    return {truth.pair[c] for c, label in truth.final.items()
            if label in NEGATIVE_LABELS and c not in truth.gold_like} - truth.never_negative


def test_store_holds_the_intended_final_labels(labeled):
    store, truth, _ = labeled
    with store.session() as s:
        got = load_final_labels(s)
    assert {cid: got[cid].label for cid in truth.final} == truth.final
    assert {cid: got[cid].annotators for cid in truth.votes} == truth.votes
    assert {cid for cid in truth.final if got[cid].adjudicated} == truth.adjudicated


@pytest.mark.parametrize("fmt,style,parquet", CASES, ids=[f"{f}-{s or 'default'}-{'pq' if p else 'jsonl'}"
                                                          for f, s, p in CASES])
def test_every_format_exports_matching_manifest_split_by_item_and_no_false_negatives(labeled, tmp_path, fmt, style,
                                                                                      parquet):
    store, truth, questions = labeled
    out = tmp_path / "exports" / fmt
    manifest = export(store, ExportConfig(format=fmt, out=out, style=style, parquet=parquet, val_fraction=0.25, seed=3))
    on_disk = json.loads((out / "manifest.json").read_text())
    assert on_disk == manifest and on_disk["schema_version"] == head_revision() and on_disk["format"] == fmt

    # every file is listed with its sha256, and nothing else lies in the folder
    files = {p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()} - {"manifest.json"}
    assert set(manifest["files"]) == files
    assert all(manifest["files"][f]["sha256"] == sha256(out / f) for f in files)
    assert [p.name for p in out.parent.iterdir()] == [fmt]  # no staging folder left beside it

    # the manifest's counts are the files' counts
    tables = read_export(out, fmt)
    assert set(tables) == set(manifest["tables"]) and tables
    for name, rows in tables.items():
        counted = manifest["tables"][name]
        assert counted["rows"] == len(rows) > 0
        assert counted["by_label"] == dict(sorted(Counter(r["final_label"] for r in rows).items()))
        assert counted["by_origin"] == dict(sorted(Counter(r["origin"] for r in rows).items()))

    # no item, nor question, on both sides of the split
    sides: dict[str, set[str]] = {}
    for name, rows in tables.items():
        sides.setdefault(split_of(name), set()).update(r["item_id"] for r in rows)
    assert set(sides) == {"train", "validation"}
    assert not sides["train"] & sides["validation"]
    assert not ({normalize_answer(questions[i]) for i in sides["train"]}
                & {normalize_answer(questions[i]) for i in sides["validation"]})

    # negatives: exactly the intended pairs, none actually-correct or invalid, labels as voted
    pairs = set()
    for rows in tables.values():
        for row in rows:
            wrong = negative_text(fmt, row)
            assert (wrong is None) == (row["final_label"] == "gold")
            if wrong is not None:
                pair = (normalize_answer(questions[row["item_id"]]), normalize_answer(wrong))
                assert pair not in truth.never_negative
                assert row["final_label"] == truth.final[row["candidate_id"]]
                pairs.add(pair)
    assert pairs == (set() if fmt == "sft" else expected_pairs(truth))
    assert manifest["selection"]["negatives"] == len(expected_pairs(truth))


def test_filters_select_what_they_say(labeled):
    store, truth, _ = labeled
    base = len(expected_pairs(truth))
    near = preview(store, ExportFilters(labels=["near-miss"]))
    assert set(near.counts()["by_label"]) == {"near_miss"}
    assert near.counts()["negatives"] == len({truth.pair[c] for c, lab in truth.final.items() if lab == "near_miss"
                                              and c not in truth.gold_like} - truth.never_negative)
    three = preview(store, ExportFilters(min_annotators=3)).negatives
    assert three and all(n.annotators >= 3 or n.candidate_id in truth.adjudicated for n in three)
    assert {n.candidate_id for n in three} >= truth.adjudicated & {c for c, lab in truth.final.items() if lab == "near_miss"}
    agree = preview(store, ExportFilters(min_agreement=0.9)).negatives
    assert agree and all(n.agreement >= 0.9 or n.candidate_id in truth.adjudicated for n in agree)
    assert len(agree) < base
    ranged = preview(store, ExportFilters(nearness_min=0.3, nearness_max=0.6)).negatives
    assert ranged and all(0.3 <= n.nearness <= 0.6 for n in ranged) and len(ranged) < base
    copy = preview(store, ExportFilters(datasets=["arc-copy"]))
    assert copy.counts()["items"] == 1 and copy.counts()["negatives"] == 1
    assert preview(store, ExportFilters(splits=["test"])).examples == []
    only_samples = preview(store, ExportFilters(origins=["lm_sample"]))
    assert only_samples.examples == [] and only_samples.removed["same text as the gold answer"] == len(truth.gold_like)


def test_unlabeled_distractors_join_without_overriding_labels(labeled):
    store, truth, _ = labeled
    sel = preview(store, ExportFilters(include_unlabeled_distractors=True))
    unlabeled = [n for n in sel.negatives if n.label == UNLABELED]
    retracted = {c for c, lab in truth.final.items() if lab is None and truth.votes[c] == 0}
    disputed = {c for c, lab in truth.final.items() if lab is None and truth.votes[c] > 0}
    never_voted = {candidate_id(it.id, d) for it in truth.items for d in it.distractors()} - set(truth.final)
    n_unlabeled_items = len(truth.items) - LABELED
    assert {n.origin for n in unlabeled} == {"distractor"}
    # the copies add none: their unvoted answers are voted on items 0 and 1 (actually_correct,
    # invalid: dropped; far_miss: the labeled one wins)
    assert {n.candidate_id for n in unlabeled} == never_voted | retracted
    ids = {n.candidate_id for n in sel.negatives}
    assert retracted <= ids and not disputed & ids
    assert not {c for c, lab in truth.final.items() if lab in ("actually_correct", "invalid")} & ids
    assert not {(normalize_answer(ex.question), normalize_answer(n.text))
                for ex in sel.examples for n in ex.negatives} & truth.never_negative
    assert sel.counts()["items"] == LABELED + n_unlabeled_items
    assert sel.counts()["negatives"] == len(expected_pairs(truth)) + len(unlabeled)


def test_split_is_by_item_and_follows_the_seed(labeled, tmp_path):
    store, _, _ = labeled
    runs = count()

    def sides(seed: int, frac: float = 0.25) -> dict[str, set[str]]:
        out = tmp_path / f"run{next(runs)}"
        export(store, ExportConfig(format="dpo", out=out, val_fraction=frac, seed=seed))
        return {p.stem: {json.loads(x)["item_id"] for x in p.read_text().splitlines()} for p in out.glob("*.jsonl")}

    assert sides(1) == sides(1)
    assert sides(1)["validation"] != sides(2)["validation"]
    assert set(sides(5, 0.0)) == {"train"}


def test_unknown_label_format_or_style_is_refused_before_anything_is_written(labeled, tmp_path):
    store, _, _ = labeled
    with pytest.raises(ConfigError, match="unknown label 'nearmiss'"):
        ExportFilters(labels=["nearmiss"])
    with pytest.raises(ConfigError, match="never exported as a negative"):
        ExportFilters(labels=["actually_correct"])
    with pytest.raises(ConfigError, match="unknown format 'csv'"):
        export(store, ExportConfig(format="csv", out=tmp_path / "a" / "out"))
    with pytest.raises(ConfigError, match="likra has no conversational style"):
        export(store, ExportConfig(format="likra", style="conversational", out=tmp_path / "a" / "out"))
    assert list(tmp_path.iterdir()) == []


def test_selecting_nothing_leaves_no_files_not_even_parent_folders(labeled, tmp_path):
    store, _, _ = labeled
    with pytest.raises(ConfigError, match="select nothing"):
        export(store, ExportConfig(format="kto", out=tmp_path / "a" / "b" / "out",
                                   filters=ExportFilters(datasets=["no-such-dataset"])))
    assert list(tmp_path.iterdir()) == []


def test_an_interrupted_export_keeps_the_previous_one_intact(labeled, tmp_path):
    store, _, _ = labeled
    out = tmp_path / "out"
    export(store, ExportConfig(format="likra", out=out))
    before = {p.relative_to(out): sha256(p) for p in out.rglob("*") if p.is_file()}

    class StopAtManifest(Reporter):
        def stage(self, text: str, *args, **kwargs) -> None:
            if "manifest" in text:  # the data files are written by now
                raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export(store, ExportConfig(format="dpo", out=out, overwrite=True), StopAtManifest(None, None))
    assert {p.relative_to(out): sha256(p) for p in out.rglob("*") if p.is_file()} == before
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_an_occupied_folder_needs_overwrite_and_is_then_fully_replaced(labeled, tmp_path):
    store, _, _ = labeled
    out = tmp_path / "out"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    with pytest.raises(ConfigError, match="--overwrite"):
        export(store, ExportConfig(format="sft", out=out))
    assert [p.name for p in out.iterdir()] == ["keep.txt"]
    export(store, ExportConfig(format="sft", out=out, overwrite=True))
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "train.jsonl", "validation.jsonl"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("fmt", ["dpo", "kto", "nat", "likra", "hf"])
def test_rows_written_in_chunks_equal_rows_written_at_once(labeled, tmp_path, monkeypatch, fmt):
    """Exports build, write and check rows a chunk of items at a time (bounded memory): the
    files must be the same as with one chunk holding every item."""
    import nearmiss.export.run as run

    store, _, _ = labeled
    whole = export(store, ExportConfig(format=fmt, out=tmp_path / "whole", val_fraction=0.25, seed=3,
                                       filters=ExportFilters(include_unlabeled_distractors=True)))
    monkeypatch.setattr(run, "EXAMPLES_PER_CHUNK", 2)
    chunked = export(store, ExportConfig(format=fmt, out=tmp_path / "chunked", val_fraction=0.25, seed=3,
                                         filters=ExportFilters(include_unlabeled_distractors=True)))
    assert read_export(tmp_path / "chunked", fmt) == read_export(tmp_path / "whole", fmt)
    assert chunked["tables"] == whole["tables"] and sum(t["rows"] for t in whole["tables"].values()) > 4


def test_abandoned_download_folders_are_swept_and_the_zip_is_built_on_disk(tmp_path, monkeypatch):
    import tempfile

    from nearmiss.export.files import STALE_AFTER_S, download_folder, zip_folder

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    old, fresh = download_folder(), download_folder()
    (old / "x.jsonl").write_text("{}\n")
    os.utime(old, (time.time() - STALE_AFTER_S - 60,) * 2)
    newest = download_folder()
    assert not old.exists() and fresh.exists() and newest.exists()
    archive = zip_folder(fresh)
    assert archive.parent == fresh.parent and archive.name == f"{fresh.name}.zip" and archive.stat().st_size > 0
