"""TRL unpaired preference rows (KTOTrainer): ``prompt``/``completion``/``label``; the gold
answer once per item with ``label`` true, each negative with ``label`` false."""
from __future__ import annotations

from curator.export.config import ExportConfig
from curator.export.formats.rows import (
    META, Check, completion, completion_check, gold_meta, is_bool, negative_meta, prompt, prompt_check)
from curator.export.select import Example

TABLE = "unpaired"


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    rows = []
    for ex in examples:
        p = prompt(ex.prompt, style)
        rows.append({"prompt": p, "completion": completion(ex.gold, style), "label": True, **gold_meta(ex)})
        rows += [{"prompt": p, "completion": completion(neg.text, style), "label": False, **negative_meta(ex, neg)}
                 for neg in ex.negatives]
    return {TABLE: rows}


def columns(table: str, style: str) -> dict[str, Check]:
    return {"prompt": prompt_check(style), "completion": completion_check(style), "label": is_bool, **META}
