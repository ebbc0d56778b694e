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


def _nat_trajectory(task: str, answer: str, reward: int) -> dict:
    """A row of NAT's own files: the id names the task, ``info.reward`` 1 or 0 is the outcome."""
    conversation = [{"role": "user", "content": f"Task {task}: what is 6 * 7?", "loss": False},
                    {"role": "assistant", "content": f"Thought: compute.\nAction: finish[{answer}]", "loss": True},
                    {"role": "user", "content": "Observation: Episode finished", "loss": reward == 0}]
    return {"id": task, "conversations": conversation,
            "info": {"reward": reward, "acc": reward, "gt": "42", "pred": answer}}


@pytest.mark.parametrize("fmt", ["nat", "hir"])
def test_a_fresh_nat_file_exports_its_failed_trajectories_without_labels(cli, sqlite_url, tmp_path, fmt):
    rows = [_nat_trajectory("t1", "42", 1), _nat_trajectory("t1", "41", 0), _nat_trajectory("t1", "40", 0),
            _nat_trajectory("t2", "42", 1), _nat_trajectory("t2", "24", 0),
            {**_nat_trajectory("t2", "43", 0), "info": {"gt": "42", "pred": "43"}}]  # no outcome: not judged
    source = tmp_path / "calc_negative.json"
    source.write_text(json.dumps(rows), encoding="utf-8")
    assert cli("load", str(source), db=sqlite_url).returncode == 0
    out = tmp_path / fmt
    run = cli("export", "--format", fmt, "--out", str(out), "--val-fraction", "0", db=sqlite_url)
    assert run.returncode == 0, run.stderr
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["selection"]["by_label"] == {"failed": 3}
    assert manifest["selection"]["by_label_source"] == {"outcome": 3}
    assert manifest["store"] == sqlite_url.rsplit("/", 1)[1]  # the store's name, not its path
    written = [json.loads(line) for line in (out / "train.jsonl").read_text().splitlines()]
    failed = [r for r in written if r.get("final_label") == "failed"]
    assert sorted(r["candidate_id"] is not None for r in failed) == [True] * 3
    by_answer = {(r["id"], r["info"]["pred"]): r for r in failed} if fmt == "nat" else {}
    if fmt == "nat":
        assert sorted(by_answer) == [("t1", "40"), ("t1", "41"), ("t2", "24")]
        for r in failed:  # each with NAT's loss flags as loaded (the marker turn prepended to the task turn)
            assert [m["loss"] for m in r["messages"]] == [False, True, True] and r["correct"] is False
    else:
        assert sorted(r["messages"][-2]["content"].rsplit("[", 1)[1] for r in failed) == ["24]", "40]", "41]"]
