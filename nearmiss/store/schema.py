"""Domain records that flow between loaders, miners, the store and exporters.

An *item* is one prompt with a known gold answer: a multiple-choice question (``mcqa``),
an open question with a reference answer (``qa``) or an agent task (``trace``). A
*candidate* is a wrong, or suspected wrong, answer to an item.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Literal

from nearmiss.registry import Registry

ItemKind = Literal["mcqa", "qa", "trace"]
Origin = Literal["distractor", "given", "neighbour", "lm_sample", "failed_trace", "manual"]
Outcome = Literal["success", "failure", "unknown"]
LabelValue = Literal["near_miss", "far_miss", "actually_correct", "invalid", "skip"]

ITEM_KINDS: tuple[str, ...] = ("mcqa", "qa", "trace")
ORIGINS = Registry.of_names("origin", ("distractor", "given", "neighbour", "lm_sample", "failed_trace", "manual"))
LABELS = Registry.of_names("label", ("near_miss", "far_miss", "actually_correct", "invalid", "skip"))
NEGATIVE_LABELS = Registry.of_names("label", ("near_miss", "far_miss"))
ROLES = Registry.of_names("role", ("annotator", "admin"))


def stable_id(*parts: object) -> str:
    """A short deterministic id from the given parts (their text, unit-separated, hashed)."""
    blob = "\x1f".join(str(p) for p in parts)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:24]


def text_problem(text: str) -> str | None:
    """Why the store cannot keep ``text`` as given (None: it can): a NUL character (PostgreSQL
    refuses it in text) or an unpaired surrogate (not valid Unicode, cannot be encoded)."""
    if "\x00" in text:
        return "text holds a NUL character (\\u0000)"
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return "text holds an unpaired surrogate (\\ud800-\\udfff escape); not valid Unicode"
    return None


def normalize_answer(text: str) -> str:
    """Case- and space-insensitive form used to deduplicate answers."""
    return " ".join(text.casefold().split()).rstrip(".")


@dataclass
class CandidateRecord:
    """A wrong answer proposed for an item, before it is stored."""

    text: str
    origin: str
    miner: str = "loader"
    model: str | None = None
    messages: list[dict[str, Any]] | None = None
    scores: dict[str, float] = field(default_factory=dict)
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass
class ItemRecord:
    """One prompt with its gold answer, as a loader yields it."""

    dataset: str
    split: str
    native_id: str
    kind: str
    question: str
    answer: str | None = None
    choices: list[str] | None = None
    gold: int | None = None
    context: str | None = None
    messages: list[dict[str, Any]] | None = None
    outcome: str | None = None
    reward: float | None = None
    meta: dict[str, Any] = field(default_factory=dict)
    candidates: list[CandidateRecord] = field(default_factory=list)
    tally: str | None = None  # what the source row was, for the load summary (traces: its outcome, or "empty")

    @cached_property
    def id(self) -> str:
        return item_id(self.dataset, self.split, self.native_id)

    def distractors(self) -> list[str]:
        """The item's own wrong choices (MCQA only)."""
        if not self.choices:
            return []
        return [c for i, c in enumerate(self.choices) if i != self.gold]


def item_id(dataset: str, split: str, native_id: str) -> str:
    return stable_id("item", dataset, split, native_id)


def candidate_id(item_id_: str, text: str, messages: list[dict[str, Any]] | None = None) -> str:
    """One candidate per (item, normalised answer text), whatever pool found it first; a trace
    candidate per (item, answer, conversation), so failed traces that end in the same answer
    stay apart (NAT trains on each)."""
    if messages:
        return stable_id("candidate", item_id_, normalize_answer(text), json.dumps(messages, sort_keys=True))
    return stable_id("candidate", item_id_, normalize_answer(text))
