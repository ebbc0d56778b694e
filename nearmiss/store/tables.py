"""SQLAlchemy 2 ORM tables of the store. Schema changes go through Alembic migrations."""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    false,
    func,
    true,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(t: datetime) -> datetime:
    """A stored time as aware UTC (SQLite hands back naive UTC datetimes, PostgreSQL aware ones)."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON, datetime: DateTime(timezone=True)}


class Item(Base):
    """A prompt with a known gold answer (MCQA question, open QA or agent task)."""

    __tablename__ = "items"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    dataset: Mapped[str] = mapped_column(String(200), index=True)
    split: Mapped[str] = mapped_column(String(100))
    native_id: Mapped[str] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(16))
    question: Mapped[str] = mapped_column(Text)
    context: Mapped[str | None] = mapped_column(Text)
    choices: Mapped[list[Any] | None] = mapped_column(JSON)
    gold: Mapped[int | None] = mapped_column(Integer)
    answer: Mapped[str | None] = mapped_column(Text)
    messages: Mapped[list[Any] | None] = mapped_column(JSON)
    outcome: Mapped[str | None] = mapped_column(String(16))
    reward: Mapped[float | None] = mapped_column(Float)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    candidates: Mapped[list[Candidate]] = relationship(back_populates="item")
    __table_args__ = (Index("ix_items_dataset_split", "dataset", "split"),)


class Candidate(Base):
    """A wrong (or suspected wrong) answer to an item, with its provenance and scores."""

    __tablename__ = "candidates"
    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(Text)
    origin: Mapped[str] = mapped_column(String(32), index=True)
    miner: Mapped[str] = mapped_column(String(64))
    model: Mapped[str | None] = mapped_column(String(200))
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    messages: Mapped[list[Any] | None] = mapped_column(JSON)
    scores: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    nearness: Mapped[float | None] = mapped_column(Float, index=True)
    suggested: Mapped[str | None] = mapped_column(String(16))
    possibly_correct: Mapped[bool] = mapped_column(Boolean, default=False)
    p_near: Mapped[float | None] = mapped_column(Float, index=True)  # the learned ranker's P(near_miss)
    ranker_id: Mapped[int | None] = mapped_column(Integer)  # the Ranker (version) that wrote p_near
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    item: Mapped[Item] = relationship(back_populates="candidates")


# The score the 'uncertain' queue orders by: the learned ranker's p_near, else the fixed blend's
# nearness. Indexed as this expression, so serving probes it from the threshold outwards.
QUEUE_SCORE = func.coalesce(Candidate.p_near, Candidate.nearness)
Index("ix_candidates_queue_score", QUEUE_SCORE)


class Annotator(Base):
    """A person who labels (role ``annotator``) or also loads, mines, exports, trains (``admin``)."""

    __tablename__ = "annotators"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(String(200))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    demo_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    # a one-time or demo password: no page works until its owner sets their own
    must_change_password: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LoginSession(Base):
    """A signed-in browser: the sha256 of its cookie token (never the token), until it
    expires or is revoked (sign-out, an admin, a disabled account)."""

    __tablename__ = "sessions"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime] = mapped_column()
    revoked_at: Mapped[datetime | None] = mapped_column()


class AccountEvent(Base):
    """One change to an account, append-only: who (an account's name, or the command line),
    when, what, on whom, and a detail (the new role, how many sessions were revoked)."""

    __tablename__ = "account_events"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(100), index=True)
    detail: Mapped[str] = mapped_column(String(200), default="")


class Label(Base):
    """One decision, append-only. ``kind`` is ``decision``, ``retraction`` (undo of
    ``retracts``) or ``adjudication`` (an admin's final word on a candidate)."""

    __tablename__ = "labels"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), index=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16), default="decision")
    label: Mapped[str | None] = mapped_column(String(24))
    retracts: Mapped[int | None] = mapped_column(ForeignKey("labels.id"), index=True)
    first_wrong_step: Mapped[int | None] = mapped_column(Integer)
    note: Mapped[str | None] = mapped_column(Text)  # the annotator's comment
    flagged: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # needs discussion
    late: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())  # lease had expired
    guideline_version: Mapped[int | None] = mapped_column(Integer)  # guidelines it was made under
    request_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (Index("ix_labels_candidate_annotator", "candidate_id", "annotator_id"),)


class Claim(Base):
    """A short lease on a candidate so two annotators never hold it at once."""

    __tablename__ = "claims"
    candidate_id: Mapped[str] = mapped_column(ForeignKey("candidates.id", ondelete="CASCADE"), primary_key=True)
    annotator_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"), index=True)
    expires_at: Mapped[datetime] = mapped_column()


class LabelSettings(Base):
    """Labeling settings of a dataset: how many annotators label each candidate (overlap)."""

    __tablename__ = "label_settings"
    dataset: Mapped[str] = mapped_column(String(200), primary_key=True)
    overlap: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class AppSetting(Base):
    """A group of settings admins change in the app (e.g. what annotators' cards show), as
    JSON, with who changed it last and when."""

    __tablename__ = "app_settings"
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_by: Mapped[int | None] = mapped_column(ForeignKey("annotators.id", ondelete="SET NULL"))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class Guideline(Base):
    """One version of a dataset's labeling guidelines (Markdown, written by admins)."""

    __tablename__ = "guidelines"
    dataset: Mapped[str] = mapped_column(String(200), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    text: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int] = mapped_column(ForeignKey("annotators.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Run(Base):
    """A mining, training or export run: config, status, progress and metrics."""

    __tablename__ = "runs"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16), index=True)
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    config_hash: Mapped[str | None] = mapped_column(String(32), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    progress: Mapped[float] = mapped_column(Float, default=0.0)
    message: Mapped[str | None] = mapped_column(Text)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column()
    owner: Mapped[str | None] = mapped_column(String(200))  # host:pid:process start of the process running it
    number: Mapped[int | None] = mapped_column(Integer)  # 1, 2, ... per kind, for display (the id is the key)
    stage: Mapped[str | None] = mapped_column(String(200))  # what the run does now (nearmiss.jobs.progress)
    done: Mapped[int | None] = mapped_column(Integer)  # the stage's counter: done of total units
    total: Mapped[int | None] = mapped_column(Integer)
    unit: Mapped[str | None] = mapped_column(String(16))
    stage_at: Mapped[datetime | None] = mapped_column()  # when the stage began (its rate counts from here)
    beat_at: Mapped[datetime | None] = mapped_column()  # the last progress report

    __table_args__ = (Index("ix_runs_kind_number", "kind", "number", unique=True),)


class MiningLock(Base):
    """The mining run writing a dataset now: at most one per dataset."""

    __tablename__ = "mining_locks"
    dataset: Mapped[str] = mapped_column(String(200), primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"))
    taken_at: Mapped[datetime] = mapped_column(default=utcnow)


class CurvePoint(Base):
    """One learning-curve point: accuracy of a method after ``size`` training examples."""

    __tablename__ = "curve_points"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("runs.id", ondelete="CASCADE"), index=True)
    method: Mapped[str] = mapped_column(String(32))
    negatives: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column(Integer)
    acc: Mapped[float] = mapped_column(Float)
    acc_norm: Mapped[float] = mapped_column(Float)
    meta: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class MinedItem(Base):
    """Marks an item as mined under a config hash, so reruns skip it."""

    __tablename__ = "mined_items"
    item_id: Mapped[str] = mapped_column(ForeignKey("items.id", ondelete="CASCADE"), primary_key=True)
    config_hash: Mapped[str] = mapped_column(String(32), primary_key=True)
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))


class Ranker(Base):
    """A fitted near-miss ranker; ``id`` is its version. ``scope`` is a dataset name or ``*``
    (fitted across datasets); ``label_mark`` the newest label row id it saw (refits count
    new labels from it); ``quality`` its cross-validated comparison with the fixed blend."""

    __tablename__ = "rankers"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(200), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    config: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    features: Mapped[list[Any]] = mapped_column(JSON, default=list)
    labels: Mapped[int] = mapped_column(Integer)
    label_mark: Mapped[int] = mapped_column(Integer)
    quality: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class Embedding(Base):
    """Embedding cache keyed by (model, sha256 of the text)."""

    __tablename__ = "embeddings"
    model: Mapped[str] = mapped_column(String(200), primary_key=True)
    text_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    vector: Mapped[bytes] = mapped_column(LargeBinary)



class ColumnMapping(Base):
    """The field mapping last used for files with these columns (keyed by a hash of the sorted names)."""

    __tablename__ = "column_mappings"
    signature: Mapped[str] = mapped_column(String(64), primary_key=True)
    mapping: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
