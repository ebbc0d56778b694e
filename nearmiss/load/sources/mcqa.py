"""Multiple-choice rows to items, through a field mapping.

A mapping names the row's fields: ``question``, ``choices`` (a list field, or several
columns joined by ``|``), ``answer`` (an index, a letter or the answer text), and
optionally ``context`` and ``id``. Unmapped fields are guessed from common names.
"""
from __future__ import annotations

import json
import re
import string
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nearmiss.errors import ConfigError, LoadError, shown
from nearmiss.load.sources.rows import Row
from nearmiss.load.sources.unique import FirstSeen
from nearmiss.names import id_problem
from nearmiss.store.schema import ItemRecord

GUESSES: dict[str, tuple[str, ...]] = {
    "question": ("question", "query", "prompt", "question_stem", "goal", "sentence", "ctx", "instruction"),
    "choices": ("choices", "options", "endings", "candidates", "answers"),
    "answer": ("answer", "answerKey", "answer_key", "label", "gold", "correct", "target"),
    "context": ("context", "passage", "fact1", "support"),
    "id": ("id", "qid", "uid", "ind", "native_id"),
}
FIELDS = tuple(GUESSES)
REQUIRED = ("question", "choices", "answer")  # the rest (context, id) may stay unmapped
MAX_ID_CHARS = 500  # the store's native_id column
INDEX = re.compile(r"[0-9]{1,9}")  # ASCII digits only: str.isdigit() also accepts '²', which int() refuses


@dataclass
class FieldMap:
    """Which row field feeds which item field; choices may be a list of columns."""

    question: str | None = None
    choices: list[str] = field(default_factory=list)
    answer: str | None = None
    context: str | None = None
    id: str | None = None

    @classmethod
    def parse(cls, spec: str | None) -> FieldMap:
        """Parse ``question=q,choices=a|b|c,answer=label`` (empty or None: guess all)."""
        fm = cls()
        for part in filter(None, (p.strip() for p in (spec or "").split(","))):
            key, sep, value = part.partition("=")
            if not sep or key not in FIELDS or not value:
                raise ConfigError(f"--map: bad entry '{part}'; expected key=field with key in {', '.join(FIELDS)}")
            setattr(fm, key, value.split("|") if key == "choices" else value)
        return fm

    def resolved(self, row: Mapping[str, Any]) -> FieldMap:
        """This mapping with unset fields guessed from the row's keys."""
        out = FieldMap(self.question, list(self.choices), self.answer, self.context, self.id)
        for key, names in GUESSES.items():
            if getattr(out, key):
                continue
            hit = next((n for n in names if n in row), None)
            if hit:
                setattr(out, key, [hit] if key == "choices" else hit)
        return out

    def unmapped(self) -> list[str]:
        """The fields every multiple-choice row needs (``REQUIRED``) that this mapping leaves unset."""
        return [key for key in REQUIRED if not getattr(self, key)]

    def as_spec(self) -> str:
        parts = [f"{k}={'|'.join(v) if isinstance(v, list) else v}" for k in FIELDS if (v := getattr(self, k))]
        return ",".join(parts)


def _text(value: Any) -> str | None:
    """A scalar as text (None for missing, lists, objects and booleans: not text)."""
    if isinstance(value, str):
        return value.strip()
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def _choice_texts(value: Any) -> list[str | None] | None:
    if isinstance(value, str) and value.lstrip().startswith("["):
        try:
            value = json.loads(value)
        except (json.JSONDecodeError, RecursionError):
            return None
    if isinstance(value, Mapping) and "text" in value:  # ARC/OBQA/CSQA style {"text": [...], "label": [...]}
        value = value["text"]
    if isinstance(value, (list, tuple)):
        return [_text(v) for v in value]
    return None


def _choice_labels(value: Any, n: int) -> list[str]:
    if isinstance(value, Mapping) and isinstance(value.get("label"), (list, tuple)):
        return [str(v) for v in value["label"]]
    return list(string.ascii_uppercase[:n])


def resolve_answer(answer: Any, choices: list[str], labels: list[str]) -> int | None:
    """Gold index from an index, a letter/label or the answer text; None if not found.
    Never raises, whatever ``answer`` holds."""
    if isinstance(answer, bool):
        return None
    if isinstance(answer, int):
        return answer
    if isinstance(answer, float):
        return int(answer) if answer.is_integer() else None
    if not isinstance(answer, str):
        return None
    text = answer.strip()
    if text in labels:
        return labels.index(text)
    if INDEX.fullmatch(text):
        return int(text)
    if text.upper() in labels and len(text) == 1:
        return labels.index(text.upper())
    folded = [c.casefold() for c in choices]
    return folded.index(text.casefold()) if text.casefold() in folded else None


def row_to_item(path: Path | str, number: int, row: Mapping[str, Any], fm: FieldMap, dataset: str, split: str,
                *, allow_duplicates: bool = False) -> ItemRecord:
    """Validate one mapped row and build its item; raises LoadError naming the field.

    Published benchmarks contain a few items with repeated choices; ``allow_duplicates``
    keeps those (marked in ``meta``) instead of refusing the row.
    """

    def need(key: str) -> Any:
        name = fm.choices[0] if key == "choices" and fm.choices else getattr(fm, key)
        if not name or name not in row or row[name] is None:
            raise LoadError(path, number, name or key, f"missing (map a field to '{key}')")
        return row[name]

    question = _text(need("question"))
    if question is None:
        raise LoadError(path, number, fm.question, "question must be text")
    if not question:
        raise LoadError(path, number, fm.question, "question is empty")
    if len(fm.choices) > 1:
        missing = [c for c in fm.choices if c not in row]
        if missing:
            raise LoadError(path, number, missing[0], "missing choice column")
        choices, choice_field = [_text(row[c]) for c in fm.choices], "|".join(fm.choices)
        raw_choices: Any = None
    else:
        raw_choices = need("choices")
        parsed, choice_field = _choice_texts(raw_choices), fm.choices[0]
        if parsed is None:
            raise LoadError(path, number, choice_field, "choices must be a list (or map several fields to 'choices')")
        choices = parsed
    if len(choices) < 2:
        raise LoadError(path, number, choice_field, f"needs at least 2 choices, got {len(choices)}")
    texts = [c for c in choices if c is not None]
    if len(texts) < len(choices):
        raise LoadError(path, number, choice_field, "every choice must be text (got a list, an object or null)")
    if any(not c for c in texts):
        raise LoadError(path, number, choice_field, "a choice is empty")
    folded = [c.casefold() for c in texts]
    dupes = sorted({c for c in texts if folded.count(c.casefold()) > 1})
    if dupes and not allow_duplicates:
        raise LoadError(path, number, choice_field, f"duplicate choices: {shown(dupes[0])}")
    answer = need("answer")
    labels = _choice_labels(raw_choices, len(texts))
    gold = resolve_answer(answer, texts, labels)
    if gold is None:
        raise LoadError(path, number, fm.answer, f"answer {shown(answer)} is not an index, a letter or the text of a choice")
    if not 0 <= gold < len(texts):
        raise LoadError(path, number, fm.answer, f"answer index {shown(gold, 24)} out of range for {len(texts)} choices")
    context = _text(row[fm.context]) if fm.context and row.get(fm.context) not in (None, "") else None
    if fm.context and row.get(fm.context) not in (None, "") and context is None:
        raise LoadError(path, number, fm.context, "context must be text")
    native = _text(row[fm.id]) if fm.id and row.get(fm.id) not in (None, "") else f"row{number}"
    if native is None or len(native) > MAX_ID_CHARS:
        raise LoadError(path, number, fm.id, f"id must be text of at most {MAX_ID_CHARS} characters")
    if problem := id_problem(native):
        raise LoadError(path, number, fm.id, problem)
    return ItemRecord(
        dataset=dataset, split=split, native_id=native, kind="mcqa", question=question,
        context=context, choices=texts, gold=gold, answer=texts[gold],
        meta={"duplicate_choices": dupes} if dupes else {},
    )


def mcqa_items(rows: Iterator[Row], path: Path | str, dataset: str, split: str, fm: FieldMap) -> Iterator[ItemRecord]:
    """Items of a user's file; an id that repeats inside the file is refused, naming both lines."""
    resolved: FieldMap | None = None
    seen: FirstSeen | None = None
    try:
        for number, row in rows:
            resolved = resolved or fm.resolved(row)
            seen = seen or FirstSeen(path, resolved.id or "id")
            item = row_to_item(path, number, row, resolved, dataset, split)
            seen.add(item.native_id, number)
            yield item
    finally:
        if seen:
            seen.close()
