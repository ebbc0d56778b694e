"""`nearmiss export` as a real subprocess on a labeled SQLite store."""
import json

import pytest

from nearmiss.store import Store
from tests.export_store import build_labeled_store


@pytest.fixture(scope="module")
def labeled_db(tmp_path_factory):
    url = f"sqlite:///{tmp_path_factory.mktemp('export-cli') / 'x.db'}"
    store = Store(url)
    build_labeled_store(store)
    store.dispose()
    return url


def test_export_writes_files_manifest_and_a_summary(cli, labeled_db, tmp_path):
    out = tmp_path / "kto"
    run = cli("export", "--format", "kto", "--out", str(out), "--label", "near-miss", "--min-annotators", "2",
              "--include-unlabeled-distractors", "--parquet", "--style", "conversational", "--seed", "7",
              db=labeled_db)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["filters"]["labels"] == ["near_miss"] and manifest["filters"]["min_annotators"] == 2
    assert manifest["style"] == "conversational" and manifest["split"]["seed"] == 7
    assert set(manifest["selection"]["by_label"]) == {"near_miss", "unlabeled"}
    assert sorted(p.name for p in out.iterdir()) == ["manifest.json", "train.parquet", "validation.parquet"]
    sel = manifest["selection"]
    assert f"{sel['items']} items, {sel['negatives']} negatives" in run.stdout
    assert str(out / "train.parquet") in run.stdout


@pytest.mark.parametrize("args,message", [
    (("--format", "dpo", "--label", "nearmiss"), "unknown label 'nearmiss'"),
    (("--format", "sft", "--origin", "lm_sample"), "select nothing"),
    (("--format", "jsonl"), "unknown format 'jsonl'"),
], ids=["unknown-label", "selects-nothing", "unknown-format"])
def test_bad_requests_fail_with_one_line_and_leave_no_files(cli, labeled_db, tmp_path, args, message):
    out = tmp_path / "deep" / "out"
    run = cli("export", "--out", str(out), *args, db=labeled_db)
    assert run.returncode == 1
    errors = [line for line in run.stderr.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1 and message in errors[0] and "Traceback" not in run.stderr, run.stderr
    assert list(tmp_path.iterdir()) == []


def test_an_occupied_folder_is_kept_unless_overwrite(cli, labeled_db, tmp_path):
    (tmp_path / "notes.txt").write_text("keep me")
    run = cli("export", "--format", "sft", "--out", str(tmp_path), db=labeled_db)
    assert run.returncode == 1 and "--overwrite" in run.stderr
    assert [p.name for p in tmp_path.iterdir()] == ["notes.txt"]
