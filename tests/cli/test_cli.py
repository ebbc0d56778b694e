"""The `nearmiss` command line, run as a real subprocess against real stores."""
import json

import pytest
from sqlalchemy import select

from nearmiss.cli import _register, app
from nearmiss.load.datasets import dataset_stats
from nearmiss.store import Store
from nearmiss.store.tables import Annotator, Item
from tests.load.test_sources import BAD_INPUTS


def datasets_json(cli, db):
    out = cli("datasets", "--json", db=db)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.fixture(scope="module")
def loaded_db(tmp_path_factory):
    """A SQLite store holding ARC-Easy validation, loaded once through the CLI."""
    import subprocess
    import sys

    db = f"sqlite:///{tmp_path_factory.mktemp('cli') / 'x.db'}"
    out = subprocess.run([sys.executable, "-m", "nearmiss.cli", "--db", db, "load", "arc-easy", "--split", "validation"],
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    return db


def test_load_arc_easy_stores_570_items_and_reloading_adds_none(cli, loaded_db):
    report = datasets_json(cli, loaded_db)["datasets"]
    assert report == [{"name": "arc-easy", "split": "validation", "items": 570, "candidates": 0, "labels": 0}]
    again = cli("load", "arc-easy", "--split", "validation", db=loaded_db)
    assert again.returncode == 0 and "added 0 items" in again.stdout
    assert datasets_json(cli, loaded_db)["datasets"] == report
    store = Store(loaded_db)
    with store.session() as s:
        golds = s.scalars(select(Item.gold)).all()
    assert len(golds) == 570 and all(g is not None for g in golds)


@pytest.mark.parametrize("case", sorted(BAD_INPUTS))
def test_bad_input_one_line_nonzero_and_store_unchanged(cli, loaded_db, tmp_path, case):
    name, content, line, field, reason = BAD_INPUTS[case]
    f = tmp_path / name
    f.write_bytes(content if isinstance(content, bytes) else content.encode())
    before = dataset_stats(Store(loaded_db))
    out = cli("load", str(f), db=loaded_db)
    assert out.returncode == 1
    errors = [ln for ln in out.stderr.splitlines() if ln.startswith("Error:")]
    assert len(errors) == 1 and "Traceback" not in out.stderr, out.stderr
    assert str(f) in errors[0] and reason in errors[0]
    if line:
        assert f"{f}:{line}:" in errors[0]
    if field:
        assert f"field '{field}'" in errors[0]
    assert dataset_stats(Store(loaded_db)) == before


def test_bad_row_deep_in_a_file_rolls_back_the_whole_load(cli, tmp_path, db_url):
    f = tmp_path / "deep.jsonl"
    good = [json.dumps({"id": n, "question": f"q{n}?", "choices": ["a", "b"], "answer": 0}) for n in range(9000)]
    f.write_text("\n".join(good) + '\n{"id": "x", "question": "q?", "choices": ["a", "b"], "answer": 7}\n')
    out = cli("load", str(f), db=db_url)
    assert out.returncode == 1 and f"{f}:9001: field 'answer'" in out.stderr
    assert datasets_json(cli, db_url) == {"datasets": []}


def test_user_add_reads_password_from_stdin_and_hashes_it(cli, sqlite_url):
    out = cli("user", "add", "rita", "--role", "admin", db=sqlite_url, stdin="pw1234-long\npw1234-long\n")
    assert out.returncode == 0, out.stderr
    with Store(sqlite_url).session() as s:
        user = s.scalar(select(Annotator))
    assert (user.name, user.role) == ("rita", "admin") and user.password_hash.startswith("$argon2")
    bad = cli("user", "add", "x", "--role", "boss", db=sqlite_url, stdin="pw1234-long\npw1234-long\n")
    assert bad.returncode == 1 and "unknown role" in bad.stderr


def test_every_command_has_help_text():
    import typer.main

    _register()
    group = typer.main.get_command(app)
    stack = [group]
    while stack:
        cmd = stack.pop()
        for name, sub in getattr(cmd, "commands", {}).items():
            assert (sub.help or "").strip(), f"command '{name}' has no help"
            stack.append(sub)


@pytest.mark.parametrize("args", [["train", "--db", "x"], ["mine", "--pools"], ["export", "--no-such-flag"]])
def test_usage_errors_are_shown_without_a_traceback(cli, sqlite_url, args):
    r = cli(*args, db=sqlite_url)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr and "Error" in r.stderr


@pytest.mark.slow
def test_demo_shows_progress(cli, sqlite_url):
    done = cli("demo", db=sqlite_url)
    assert done.returncode == 0, done.stderr
    for bar in ("demo: load arc-easy validation", "demo: load champ test", "mine arc-easy"):
        assert bar in done.stderr
