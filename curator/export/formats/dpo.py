"""TRL preference rows (DPOTrainer): ``prompt``/``chosen``/``rejected``, one per negative."""
from __future__ import annotations

from curator.export.config import ExportConfig
from curator.export.formats.rows import META, Check, completion, completion_check, negative_meta, prompt, prompt_check
from curator.export.select import Example

TABLE = "preference"


def tables(examples: list[Example], cfg: ExportConfig, style: str) -> dict[str, list[dict]]:
    return {TABLE: [{"prompt": prompt(ex.prompt, style), "chosen": completion(ex.gold, style),
                     "rejected": completion(neg.text, style), **negative_meta(ex, neg)}
                    for ex in examples for neg in ex.negatives]}


def columns(table: str, style: str) -> dict[str, Check]:
    return {"prompt": prompt_check(style), "chosen": completion_check(style), "rejected": completion_check(style), **META}
