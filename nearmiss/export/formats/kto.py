"""TRL unpaired preference rows (KTOTrainer): ``prompt``/``completion``/``label``; the gold
answer once per item with ``label`` true, each negative with ``label`` false.
Conversational traces keep their whole conversations (each with its own prompt turns)."""
from __future__ import annotations

from nearmiss.export.config import ExportConfig
from nearmiss.export.formats.rows import (
    META,
    Check,
    answer_turns,
    completion_check,
    gold_meta,
    is_bool,
    negative_meta,
    prompt_check,
)
from nearmiss.export.select import Example

TABLE = "unpaired"


def _row(turns: tuple, label: bool) -> dict:
    return {"prompt": turns[0], "completion": turns[1], "label": label}


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    rows = []
    for ex in examples:
        rows.append({**_row(answer_turns(ex, None, style), True), **gold_meta(ex)})
        rows += [{**_row(answer_turns(ex, neg, style), False), **negative_meta(ex, neg)} for neg in ex.negatives]
    return {TABLE: rows}


def columns(table: str, style: str) -> dict[str, Check]:
    return {"prompt": prompt_check(style), "completion": completion_check(style), "label": is_bool, **META}
