"""The store on SQLite and on a real PostgreSQL: schema, settings, idempotent ingest."""
from sqlalchemy import inspect, select, text

from nearmiss.auth.accounts import add_user, authenticate
from nearmiss.load.ingest import ingest
from nearmiss.store import Store
from nearmiss.store.schema import CandidateRecord, ItemRecord
from nearmiss.store.tables import Candidate, Item


def _item(n: int, *, answer: str | None = "yes", cands: tuple[str, ...] = ()) -> ItemRecord:
    return ItemRecord(dataset="t", split="s", native_id=f"q{n}", kind="qa", question=f"question {n}?", answer=answer,
                      candidates=[CandidateRecord(text=c, origin="given") for c in cands])


def test_migrations_create_every_table(store):
    names = set(inspect(store.engine).get_table_names())
    assert {"items", "candidates", "labels", "annotators", "runs", "claims", "alembic_version"} <= names
    with store.engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() is not None


def test_reopening_a_migrated_store_keeps_data(db_url):
    first = Store(db_url)
    ingest(first, [_item(1)])
    first.dispose()
    again = Store(db_url)
    with again.session() as s:
        assert s.scalar(select(Item.question)) == "question 1?"
    again.dispose()


def test_sqlite_runs_in_wal_with_busy_timeout(sqlite_store):
    with sqlite_store.engine.connect() as c:
        assert c.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert c.execute(text("PRAGMA busy_timeout")).scalar() >= 5000


def test_ingest_is_idempotent_and_dedupes_candidates(store):
    first = ingest(store, [_item(1, cands=("no", "No.")), _item(2, cands=("maybe",))])
    assert (first.items_added, first.candidates_added) == (2, 2)  # "no" and "No." are one answer
    again = ingest(store, [_item(1, cands=("no",)), _item(2, cands=("maybe",))])
    assert (again.items_added, again.candidates_added) == (0, 0)


def test_ingest_rolls_back_everything_on_error(store):
    def records():
        yield from (_item(n) for n in range(5000))
        raise ValueError("bad row")

    try:
        ingest(store, records(), batch_size=1000)
    except ValueError:
        pass
    with store.session() as s:
        assert s.scalar(select(Item).limit(1)) is None


def test_failed_trace_first_then_success_fills_gold(store):
    ingest(store, [_item(1, answer=None, cands=("wrong",))])
    result = ingest(store, [_item(1, answer="right")])
    assert result.items_updated == 1
    with store.session() as s:
        item = s.scalar(select(Item))
        assert item.answer == "right"
        assert s.scalar(select(Candidate.text)) == "wrong"


def test_passwords_are_hashed_and_checked(store):
    add_user(store, "ann", "annotator", "s3cret-pass")
    with store.engine.connect() as c:
        stored = c.execute(text("select password_hash from annotators")).scalar()
    assert stored.startswith("$argon2") and "s3cret-pass" not in stored
    assert authenticate(store, "ann", "s3cret-pass").role == "annotator"
    assert authenticate(store, "ann", "wrong") is None
